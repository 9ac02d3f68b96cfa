"""The coalition study: what each member gains from acting together, and fair shares of the cost.

DESIGN.md "Coalition study". For a set S of members, `coalition_case` builds
S's case in memory: the members outside S leave (their regions become
partners and take their demand, funds, budgets, policies, shortfall costs,
stockpiles and member-targeted disruption rows with them; their existing and
committed projects keep producing as non-member producers, committed ones
sunk). v(S) = the optimum of S's case − K(S), K(S) the present value of the
capital and fixed opex of existing and committed projects outside S's
regions (model.solve.fixed_costs); v(∅) = 0.

`coalition_study` solves every S (or, above MAX_EXACT members or with a sample
size, the coalitions a seeded sample of member orderings needs) in the
sweep's worker pool, one HiGHS thread each unless Settings say otherwise, so
the answers do not depend on the number of workers. The cost-sharing maths
(Shapley shares, the least core, the core check) is in model.studies.games.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.case.load import Case
from model.problems import CaseError, RunError
from model.solution import no_plan_reason
from model.studies import games
from model.sweep.engine import ERROR_STATUS, default_jobs, run_pool

MAX_EXACT = 12  # above this many members, a sample of orderings instead of every coalition
DEFAULT_ORDERINGS = 200  # orderings drawn when sampling and no --sample is given
PARTNER = "partner"
SOLVE_OPTIONS = {"evpi_vss": False}  # v(S) needs the optimum only, not the EVPI/VSS solves


# ---------------------------------------------------------------- S's case


def members_of(case: Case) -> list[str]:
    """The member regions, in the order of the Regions sheet."""
    reg = case.tables["Regions"]
    return [r for r, m in zip(reg["region"], reg["member"]) if m]


def coalition_case(case: Case, keep: Iterable[str]) -> Case:
    """S's case: `case` with every member not in `keep` gone (DESIGN.md "Coalition study"); `case` is untouched."""
    members = members_of(case)
    kept = set(keep)
    unknown = kept - set(members)
    if unknown:
        raise RunError(f"not members of {case.name}: {', '.join(sorted(unknown))}")
    leavers = {n for n in members if n not in kept}
    t = dict(case.tables)
    if not leavers:
        return case
    reg = t["Regions"].copy()
    gone = reg["region"].isin(leavers)
    reg.loc[gone, "bloc"] = PARTNER
    reg.loc[gone, "member"] = False
    t["Regions"] = reg
    for sheet in ("Demand", "Policies", "ShortfallCosts"):
        if sheet in t:  # ShortfallCosts came with the v2 schema
            t[sheet] = _drop(t[sheet], t[sheet]["region"].isin(leavers))
    funds = t["Funds"]
    dropped_funds = set(funds.loc[funds["owner"].isin(leavers), "fund"])
    t["Funds"] = _drop(funds, funds["fund"].isin(dropped_funds))
    t["Budgets"] = _drop(t["Budgets"], t["Budgets"]["fund"].isin(dropped_funds))
    t["Stockpiles"] = _kept_stockpiles(t["Stockpiles"], leavers, dropped_funds, int(case.settings["start_year"]))
    dis = t["Disruptions"]
    t["Disruptions"] = _drop(dis, pd.Series([_names_member(r, leavers) for r in dis.to_dict("records")],
                                            index=dis.index, dtype=bool))
    proj = t["Projects"].copy()
    sunk = proj["region"].isin(leavers) & (proj["status"] == "committed")
    proj.loc[sunk, "capex_musd"] = 0.0  # a leaver's committed project is sunk: no capex, no aid
    t["Projects"] = proj
    settings = dict(case.settings)
    label = coalition_label(sorted(kept, key=members.index))
    settings["case_name"] = f"{case.name}_{label}"
    settings["description"] = f"coalition {label} of {case.name}: {', '.join(sorted(leavers, key=members.index))} left"
    return dataclasses.replace(case, settings=settings, tables=t)


def _drop(df, mask):
    return df.loc[~mask.astype(bool)].copy()


def _kept_stockpiles(df, leavers: set[str], dropped_funds: set[str], start: int):
    """Stockpiles located in a leaver leave with it; a kept one whose fund left keeps its holding and may not buy."""
    out = _drop(df, df["location"].isin(leavers))
    orphan = out["fund"].isin(dropped_funds)
    if orphan.any():
        out.loc[orphan, "fund"] = None
        out.loc[orphan, "buy_until_year"] = start - 1
        if "max_purchase_tpy" in out:
            out.loc[orphan, "max_purchase_tpy"] = 0.0
    return out


def _names_member(row: dict[str, Any], leavers: set[str]) -> bool:
    """A Disruptions row that names a leaver as a member: a demand_shock on it, an origin_block into it."""
    target = str(row["target"])
    if row["kind"] == "demand_shock":
        return target in leavers
    if row["kind"] == "origin_block":
        return target.partition(">")[2].strip() in leavers
    return False


def coalition_label(members: Iterable[str]) -> str:
    """S as text: its members joined by '+' ('∅' for none)."""
    return "+".join(members) or "∅"


# ---------------------------------------------------------------- which coalitions


def every_coalition(members: list[str]) -> list[tuple[str, ...]]:
    """Every non-empty S, by size, then in member order."""
    return [c for k in range(1, len(members) + 1) for c in itertools.combinations(members, k)]


def draw_orderings(members: list[str], count: int, seed: int) -> list[tuple[str, ...]]:
    """`count` member orderings drawn uniformly with numpy.random.default_rng(seed)."""
    rng = np.random.default_rng(seed)
    return [tuple(members[i] for i in rng.permutation(len(members))) for _ in range(count)]


def needed_coalitions(members: list[str], orders: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The coalitions a sample needs: every prefix of every ordering, the singletons and N; by size, member order."""
    pos = {n: i for i, n in enumerate(members)}
    need = {frozenset([n]) for n in members} | {frozenset(members)}
    for order in orders:
        need.update(frozenset(order[:k]) for k in range(1, len(order)))
    return sorted((tuple(sorted(s, key=pos.__getitem__)) for s in need), key=lambda c: (len(c), [pos[n] for n in c]))


# ---------------------------------------------------------------- one v(S), in a worker


@dataclass
class CoalitionTask:
    """What a worker needs for one v(S): the whole case, the members of S and the solver options."""

    members: tuple[str, ...]
    case: Case
    options: dict[str, Any]


def solve_coalition(task: CoalitionTask) -> dict[str, Any]:
    """Build S's case, solve it and subtract K(S); return S's row. Never raises for a failed solve."""
    from model.solve.fixed_costs import fixed_project_costs
    from model.solve.solver import solve_case

    t0 = time.perf_counter()
    try:
        case = coalition_case(task.case, task.members)
        solution = solve_case(case, task.options)
        if not solution.has_plan:
            return coalition_row(task.members, solution.status, no_plan_reason(solution, task.options),
                                 time_s=time.perf_counter() - t0)
        inside = set(task.members)
        outside = [r for r in case.tables["Regions"]["region"] if r not in inside]
        k = fixed_project_costs(case, outside)
    except (CaseError, RunError) as exc:
        return coalition_row(task.members, ERROR_STATUS, str(exc).replace("\n", "; "), time_s=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - one coalition's failure must not stop the study; its row says why
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
        return coalition_row(task.members, ERROR_STATUS, f"internal error {type(exc).__name__}: {exc}{at}",
                             time_s=time.perf_counter() - t0)
    bound = None if solution.bound is None else solution.bound - k
    return coalition_row(task.members, solution.status, solution.message or "", objective_musd=solution.objective,
                         outside_fixed_costs_musd=k, v_musd=solution.objective - k, bound_musd=bound, gap=solution.gap,
                         time_s=time.perf_counter() - t0)


def coalition_row(members: tuple[str, ...], status: str, reason: str, **values: Any) -> dict[str, Any]:
    """One Coalitions row; the values a failed solve has not are None."""
    row = {"members": tuple(members), "status": status, "reason": reason, "v_musd": None, "objective_musd": None,
           "outside_fixed_costs_musd": None, "bound_musd": None, "gap": None, "time_s": None}
    row.update(values)
    return row


# ---------------------------------------------------------------- the study


@dataclass
class CoalitionOutcome:
    """Everything the coalition workbook and the console show."""

    case: Case
    members: list[str]
    rows: list[dict[str, Any]]  # one per solved S, by size then member order
    shares: games.Shares | None  # None when a v(S) it needs has no value
    orderings: int | None = None  # sample size; None when every coalition was solved
    seed: int | None = None
    jobs: int = 1
    seconds: float = 0.0
    estimate_s: float | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def values(self) -> dict[frozenset, float]:
        """v(S) for every S with a value, and v(∅) = 0."""
        out = {frozenset(): 0.0}
        out.update({frozenset(r["members"]): r["v_musd"] for r in self.rows if r["v_musd"] is not None})
        return out

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["v_musd"] is None]

    def row(self, members: Iterable[str]) -> dict[str, Any] | None:
        want = frozenset(members)
        return next((r for r in self.rows if frozenset(r["members"]) == want), None)


Progress = Callable[[dict[str, Any], int, int], None]  # (row just finished, finished so far, planned)


def plan_study(case: Case, sample: int | None, seed: int | None = None) -> tuple[list[str], list[tuple[str, ...]], list | None]:
    """(members, coalitions to solve, orderings or None); RunError for a case with fewer than two members."""
    members = members_of(case)
    if len(members) < 2:
        who = f"one member ({members[0]})" if members else "no members"
        raise RunError(f"{case.name} has {who}: a coalition study needs at least two members (Regions sheet, "
                       "column member = Y) to have a cost to share")
    if sample is None and len(members) > MAX_EXACT:
        sample = DEFAULT_ORDERINGS
    if sample is None:
        return members, every_coalition(members), None
    if sample < 1:
        raise RunError(f"--sample {sample}: give the number of member orderings to draw, at least 1")
    orders = draw_orderings(members, sample, int(case.settings.get("random_seed") or 0) if seed is None else seed)
    return members, needed_coalitions(members, orders), orders


def coalition_study(case: Case, *, jobs: int | None = None, sample: int | None = None, seed: int | None = None,
                  options: dict[str, Any] | None = None, progress: Progress | None = None,
                  say: Callable[[str], None] | None = None) -> CoalitionOutcome:
    """Solve the coalitions of `case` and share its cost (DESIGN.md "Coalition study").

    The whole coalition is solved first: its time gives the estimate `say` reports before the other solves
    start, and a case without a plan stops the study there (RunError). `sample` draws that many member
    orderings instead of solving every coalition, seeded by `seed` (default: Settings random_seed).
    """
    t0 = time.perf_counter()
    seed = int(case.settings.get("random_seed") or 0) if seed is None else seed
    say = say or (lambda _m: None)
    members, coalitions, orders = plan_study(case, sample, seed)
    opts = {"threads": case.settings.get("threads") or 1, **SOLVE_OPTIONS, **(options or {})}
    grand = tuple(members)
    rest = [c for c in coalitions if c != grand]
    jobs = max(1, min(jobs or default_jobs(), len(rest) or 1))
    rows: list[dict[str, Any]] = []

    def done(row: dict[str, Any]) -> None:
        rows.append(row)
        if progress:
            progress(row, len(rows), len(coalitions))

    def died(task: CoalitionTask) -> dict[str, Any]:
        return coalition_row(task.members, ERROR_STATUS, "a worker process died while solving it (out of memory?)")

    run_pool([CoalitionTask(grand, case, opts)], 1, solve_coalition, done, died)
    if rows[0]["v_musd"] is None:
        raise RunError(f"the whole coalition ({coalition_label(grand)}) has no value, so there is nothing to share: "
                       f"{rows[0]['status']}: {rows[0]['reason']}. No coalition workbook was written.")
    estimate = (rows[0]["time_s"] or 0.0) * len(rest) / jobs
    say(f"{len(coalitions)} solves for {len(members)} members"
        + (f" ({len(orders)} sampled orderings, seed {seed})" if orders else "")
        + f"; the whole coalition took {rows[0]['time_s']:.1f} s, so the rest should take about "
        + f"{_duration(estimate)} with {jobs} worker(s)"
        + ("" if orders or estimate < 3600 else "; --sample K bounds it (K orderings)"))
    run_pool([CoalitionTask(c, case, opts) for c in rest], jobs, solve_coalition, done, died)
    order = {c: i for i, c in enumerate(coalitions)}
    rows.sort(key=lambda r: order[r["members"]])
    outcome = CoalitionOutcome(case, members, rows, None, None if orders is None else len(orders), seed, jobs,
                               estimate_s=estimate, options=opts)
    v = outcome.values
    if all(frozenset(c) in v for c in coalitions):
        outcome.shares = games.sampled_shares(members, v, orders) if orders else games.exact_shares(members, v)
    outcome.seconds = time.perf_counter() - t0
    return outcome


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
