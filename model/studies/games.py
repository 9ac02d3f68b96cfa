"""Sharing a cost among members: Shapley shares, the least core and the core check (DESIGN.md "Coalition study").

A cost game is v: coalition (a frozenset of members) -> USD m, with
v(∅) = 0. Everything here reads only those numbers, so it is tested on
games written down by hand.

- Shapley: φ_i = Σ_{S∌i} |S|!(n−|S|−1)!/n! · (v(S ∪ {i}) − v(S)), or, from a
  sample of orderings, the mean of i's marginal cost over them with its
  standard error.
- Least core: min ε (ε free) with Σ_{i∈S} x_i ≤ v(S) + ε for every
  S ∉ {∅, N} and Σ_i x_i = v(N); among its optimal x, the one closest to φ
  in Σ|x_i − φ_i|. Two LPs, solved by HiGHS through scipy.
- Core check: the Shapley shares are in the core when no coalition pays more
  under them than on its own, Σ_{i∈S} φ_i ≤ v(S); otherwise the coalition
  with the largest excess Σ_{i∈S} φ_i − v(S) would rather leave.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Game = dict[frozenset, float]
REL_TOL = 1e-7  # of the largest |v(S)|: core-check tolerance and the slack on ε* in the second least-core LP


@dataclass
class Shares:
    """How the cost of the whole coalition is shared."""

    shapley: dict[str, float]
    standard_error: dict[str, float] | None = None  # sampled Shapley shares only
    epsilon: float | None = None  # least core; None when sampled (skipped)
    least_core: dict[str, float] | None = None
    in_core: bool | None = None  # the Shapley shares; None when sampled (skipped)
    blocking: frozenset | None = None  # the coalition that would rather leave, when not in the core
    blocking_excess: float | None = None  # Σ_{i∈S} φ_i − v(S) of that coalition, USD m


def tolerance(v: Game) -> float:
    return REL_TOL * max(1.0, max(abs(x) for x in v.values()))


def shapley(members: list[str], v: Game) -> dict[str, float]:
    """Exact Shapley cost shares over every coalition."""
    n = len(members)
    weight = [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    phi = dict.fromkeys(members, 0.0)
    for i in members:
        others = [j for j in members if j != i]
        for mask in range(1 << len(others)):
            s = frozenset(o for b, o in enumerate(others) if mask >> b & 1)
            phi[i] += weight[len(s)] * (v[s | {i}] - v[s])
    return phi


def sampled_shapley(members: list[str], v: Game, orders: list[tuple[str, ...]]
                    ) -> tuple[dict[str, float], dict[str, float]]:
    """Shapley shares as the mean marginal cost over sampled orderings, and the standard error of each."""
    marg = {i: [] for i in members}
    for order in orders:
        before: frozenset = frozenset()
        for i in order:
            marg[i].append(v[before | {i}] - v[before])
            before = before | {i}
    phi = {i: float(np.mean(marg[i])) for i in members}
    se = {i: float(np.std(marg[i], ddof=1) / math.sqrt(len(marg[i]))) if len(marg[i]) > 1 else math.nan
          for i in members}
    return phi, se


def least_core(members: list[str], v: Game, near: dict[str, float]) -> tuple[float, dict[str, float]]:
    """(ε, x): the least core's ε and, among its allocations, the one closest to `near` in Σ|x_i − near_i|."""
    from scipy.optimize import linprog

    n = len(members)
    grand = frozenset(members)
    proper = [s for s in v if s and s != grand]
    tol = tolerance(v)
    # variables x_1..x_n, ε: Σ_{i∈S} x_i − ε ≤ v(S); Σ x_i = v(N)
    a_ub = np.array([[1.0 if m in s else 0.0 for m in members] + [-1.0] for s in proper])
    b_ub = np.array([v[s] for s in proper])
    a_eq = np.array([[1.0] * n + [0.0]])
    free = [(None, None)] * (n + 1)
    first = linprog(np.r_[np.zeros(n), 1.0], A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=[v[grand]], bounds=free,
                    method="highs")
    if first.status != 0:
        raise ArithmeticError(f"the least-core LP failed: {first.message}")
    eps = float(first.x[n])
    # variables x, ε, d_1..d_n: the same rows, ε ≤ ε* + tol, d_i ≥ |x_i − near_i|; minimise Σ d_i
    eye = np.eye(n)
    rows = [np.c_[a_ub, np.zeros((len(proper), n))],
            np.r_[np.zeros(n), 1.0, np.zeros(n)][None, :],
            np.c_[eye, np.zeros((n, 1)), -eye],
            np.c_[-eye, np.zeros((n, 1)), -eye]]
    target = np.array([near[m] for m in members])
    second = linprog(np.r_[np.zeros(n + 1), np.ones(n)], A_ub=np.vstack(rows),
                     b_ub=np.r_[b_ub, eps + tol, target, -target], A_eq=np.c_[a_eq, np.zeros((1, n))],
                     b_eq=[v[grand]], bounds=free + [(0, None)] * n, method="highs")
    x = second.x[:n] if second.status == 0 else first.x[:n]
    alloc = {m: float(x[i]) for i, m in enumerate(members)}
    # the ε this allocation achieves (within the LP tolerances of ε*), so that every row holds with the ε reported
    return max(eps, core_violation(members, v, alloc)[1]), alloc


def core_violation(members: list[str], v: Game, x: dict[str, float]) -> tuple[frozenset | None, float]:
    """The coalition that pays most above its own cost under `x`, and by how much (None, ≤ 0 when none does)."""
    grand = frozenset(members)
    worst, excess = None, -math.inf
    for s, cost in v.items():
        if not s or s == grand:
            continue
        e = sum(x[i] for i in s) - cost
        if e > excess:
            worst, excess = s, e
    return worst, excess


def exact_shares(members: list[str], v: Game) -> Shares:
    """Shapley shares, the least core and the core check from every coalition's value."""
    phi = shapley(members, v)
    eps, x = least_core(members, v, phi)
    worst, excess = core_violation(members, v, phi)
    in_core = worst is None or excess <= tolerance(v)
    return Shares(phi, None, eps, x, in_core, None if in_core else worst, None if in_core else excess)


def sampled_shares(members: list[str], v: Game, orders: list[tuple[str, ...]]) -> Shares:
    """Shapley shares from sampled orderings, with standard errors; the least core and core check are skipped."""
    phi, se = sampled_shapley(members, v, orders)
    return Shares(phi, se)
