"""Near-optimal alternatives (DESIGN.md "Near-optimal alternatives"): plans nearly as cheap as the best that
differ most from it and from each other.

After the optimum z*, the built model gets, once, the cost row

    objective ≤ z* + slack·|z*|                (the objective with its risk term)

and a new objective, max w. Then for each plan k found (plan 0 is the optimum) it gets

    w ≤ d_k = Σ_s π_s Σ_p (x_{p,s}·(1 − 2·x^k_{p,s}) + x^k_{p,s})       (the distance to plan k)
    Σ_{(p,s): x^k=1} (1 − x_{p,s}) + Σ_{(p,s): x^k=0} x_{p,s} ≥ 1        (no-good cut: plan k cannot repeat)

with x_{p,s} = Σ_τ fid[p,τ,ν^D(s,τ)] for every candidate p and every scenario s with π_s > 0 (committed
projects are left out), and the next plan is the one the re-solve finds. The rows go into the Pyomo model
and, one plan at a time, straight into the HiGHS model already built (HighsRun.add_rows): compiling the
whole model again for every plan is not needed (benchmarks/bench_alternatives.py measures both).
Each plan's Solution is extracted from its loaded values like any solve's, so it carries the same KPIs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyomo.environ as pyo

from model import solution as sol
from model.formulation import build_model
from model.formulation.ledger import affine
from model.solution import Solution
from model.solve.extract import extract
from model.solve.highs import HighsRun, Outcome, TriviallyInfeasible
from model.solve.solver import OPTION_KEYS, solver_options

if TYPE_CHECKING:
    from model.case.load import Case

SLACK, COUNT = 0.05, 5  # DESIGN's defaults: within 5% of the optimum, five plans
_TINY = 1e-9  # scenarios with less probability carry no weight in the distance

Funded = dict[tuple[str, str], int]  # (candidate, scenario) -> x_{p,s}


@dataclass
class Plan:
    """One plan: the optimum (number 0) or an alternative."""

    number: int
    solution: Solution
    funded: Funded  # x_{p,s} over the candidates and the scenarios with π_s > 0
    w: float | None = None  # the distance the solver reported (None for the optimum)
    distances: list[float] = field(default_factory=list)  # d to every earlier plan, from their x
    seconds: float = 0.0  # hand-over of the new rows and the solve


@dataclass
class Alternatives:
    """What the search found: the optimum, the alternatives in the order found, and why it stopped early."""

    slack: float
    requested: int
    candidates: list[str]  # the candidates the distance counts, in case order
    weight: dict[str, float]  # π_s
    plans: list[Plan] = field(default_factory=list)
    optimum: Solution | None = None  # the first solve, also when it found no plan
    limit: float | None = None  # z* + slack·|z*|
    missing: str = ""  # why plan len(plans) could not be found; "" when all were found
    missing_status: str = ""  # the solver outcome of that search
    timings: dict[str, float] = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    @property
    def z(self) -> float | None:
        return self.optimum.objective if self.optimum is not None else None

    @property
    def found(self) -> int:
        """Alternatives found (the optimum not counted)."""
        return max(0, len(self.plans) - 1)


def distance(a: Funded, b: Funded, weight: dict[str, float]) -> float:
    """Σ_s π_s Σ_p |x_{p,s} − y_{p,s}|: the expected number of candidates funded in one plan and not the other."""
    return sum(weight[s] * abs(a.get((p, s), 0) - b.get((p, s), 0)) for p, s in set(a) | set(b))


def find_alternatives(case: Case, slack: float = SLACK, count: int = COUNT, options: dict | None = None,
                      progress: Callable[[str], None] | None = None) -> Alternatives:
    """Solve `case`, then find up to `count` plans within `slack` of the optimum, each as far as possible from
    the optimum and every plan before it. Never raises for a solver outcome: a plan that cannot be found ends
    the search with the reason in `missing`."""
    search = Search(case, slack, count, options, progress)
    if search.solve_optimum():
        while len(search.result.plans) <= count and search.next_plan() is not None:
            pass
    return search.result


class Search:
    """One case's model, built and handed to HiGHS once, then grown by two rows per plan found."""

    def __init__(self, case: Case, slack: float = SLACK, count: int = COUNT, options: dict | None = None,
                 progress: Callable[[str], None] | None = None):
        self.say = progress or (lambda _msg: None)
        self.opts = solver_options(case, options)
        self.say("building the model")
        t0 = time.perf_counter()
        self.model = build_model(case)
        d = self.model.data
        self.result = Alternatives(slack, count, [p for p in d.costed if d.projects[p]["status"] == "candidate"],
                                   dict(d.weight), options={k: self.opts.get(k) for k in OPTION_KEYS})
        self.result.timings["build_s"] = time.perf_counter() - t0
        self.run: HighsRun | None = None
        self.pairs = _pairs(self.model, self.result.candidates)

    def solve_optimum(self) -> bool:
        """Plan 0; then the cost row and max w. False when the case has no plan (result.optimum says why)."""
        result, model = self.result, self.model
        self.say("handing the model to HiGHS")
        t0 = time.perf_counter()
        try:
            self.run = HighsRun(model, self.opts)
        except TriviallyInfeasible as exc:
            result.optimum = Solution(sol.INFEASIBLE, f"no plan satisfies every rule of the case: {exc}")
            return False
        run = self.run
        result.timings["handover_s"] = time.perf_counter() - t0
        self.say(f"solving for the optimum ({run.sizes['variables']} variables, {run.sizes['constraints']} constraints)")
        out = run.run()
        result.timings["solve_s"] = out.seconds
        if out.status not in sol.HAS_PLAN:
            result.optimum = Solution(out.status, out.message, bound=out.bound, sizes=run.sizes)
            return False
        run.load()
        optimum = extract(model, out, {})
        optimum.kpis["mip_gap"] = out.gap
        optimum.sizes = run.sizes
        result.optimum = optimum
        result.plans.append(Plan(0, optimum, funded_now(self.pairs), seconds=out.seconds))
        result.limit = out.objective + result.slack * abs(out.objective)
        self.say(f"optimum {out.objective:,.2f} USD m; alternatives may cost up to {result.limit:,.2f} USD m")
        t0 = time.perf_counter()
        _add_search(model, run, result.limit)
        result.timings["cost_row_s"] = time.perf_counter() - t0
        return True

    def next_plan(self) -> Plan | None:
        """The farthest plan within the slack from every plan so far; None (and result.missing) when there is none."""
        result, model, run = self.result, self.model, self.run
        k, count = len(result.plans), result.requested
        if not self.pairs:
            result.missing = "the case has no candidate project that can be funded, so every plan funds the same projects"
            result.missing_status = sol.INFEASIBLE
            return None
        t0 = time.perf_counter()
        run.add_rows(_rows_for(model, self.pairs, result.plans[-1].funded, model.data.weight))
        handover = time.perf_counter() - t0
        out = run.run()
        result.timings[f"plan_{k}_rows_s"] = handover
        result.timings[f"plan_{k}_solve_s"] = out.seconds
        if out.status not in sol.HAS_PLAN:
            result.missing, result.missing_status = _why_not(out, k, result), out.status
            self.say(f"plan {k} of {count}: not found: {result.missing}")
            return None
        run.load()
        plan = _plan(model, k, out, self.pairs, result, handover)
        result.plans.append(plan)
        cost = plan.solution.objective
        self.say(f"plan {k} of {count}: cost {cost:,.2f} USD m ({_excess_words(cost, result.z)}), "
                 f"{plan.w:.3g} candidates from the nearest earlier plan" + _not_farthest(out))
        return plan


def _pairs(model, candidates: list[str]) -> dict[tuple[str, str], list]:
    """(p, s) -> the fid variables on scenario s's path, for the candidates and the scenarios with π_s > 0."""
    d = model.data
    return {(p, s): [model.fid[p, tau, d.tree.decision(s, tau)] for tau in d.window[p]]
            for p in candidates if d.window[p] for s in d.scenarios if d.weight[s] > _TINY}


def funded_now(pairs: dict[tuple[str, str], list]) -> Funded:
    """x_{p,s} from the variables' loaded values."""
    return {key: round(sum(v.value or 0.0 for v in vs)) for key, vs in pairs.items()}


def _add_search(model, run: HighsRun, limit: float) -> None:
    """The cost row and the objective max w, in the Pyomo model and in HiGHS."""
    model.w = pyo.Var(domain=pyo.NonNegativeReals)
    model.near_optimal = pyo.Constraint(expr=model.cost.expr <= limit)
    model.distance = pyo.ConstraintList()
    model.no_good = pyo.ConstraintList()
    model.cost.deactivate()
    model.farthest = pyo.Objective(expr=model.w, sense=pyo.maximize)
    run.add_rows([model.near_optimal])
    run.set_objective(model.farthest)


def _rows_for(model, pairs: dict, x: Funded, weight: dict[str, float]) -> list:
    """w ≤ d_k and the no-good cut of plan k (values x), added to the Pyomo model; returns the two rows."""
    far = [(weight[s] * (1 - 2 * x[p, s]), v) for (p, s), vs in pairs.items() for v in vs]
    const = sum(weight[s] * x[p, s] for p, s in pairs)
    row = model.distance.add(model.w <= affine(far, const))
    cut = [(1 - 2 * x[key], v) for key, vs in pairs.items() for v in vs]
    ones = sum(x.values())
    return [row, model.no_good.add(affine(cut, ones) >= 1)]


def _plan(model, k: int, out: Outcome, pairs: dict, result: Alternatives, seconds: float) -> Plan:
    """Plan k from the loaded values: its cost is the case's objective, not the search's w."""
    cost = float(pyo.value(model.cost.expr))
    message = ("the farthest plan within the slack" if out.status == sol.OPTIMAL else
               "stopped at the time limit with a plan within the slack that may not be the farthest")
    solution = extract(model, Outcome(out.status, message, objective=cost, seconds=out.seconds), {})
    x = funded_now(pairs)
    w = float(model.w.value or 0.0)
    return Plan(k, solution, x, w, [distance(x, p.funded, result.weight) for p in result.plans], seconds + out.seconds)


def _why_not(out: Outcome, k: int, result: Alternatives) -> str:
    """Why plan k could not be found, in a planner's words."""
    before = f"{k - 1} alternative{'s' if k - 1 != 1 else ''} found before it" if k > 1 else "only the optimum was found"
    if out.status == sol.INFEASIBLE:
        return (f"no other plan costs at most {result.limit:,.2f} USD m (the optimum + {100 * result.slack:.3g}%); "
                f"{before}: allow a larger --slack to see more")
    if out.status == sol.TIME_LIMIT_NO_PLAN:
        limit = result.options.get("time_limit_s")
        shown = f" ({limit:g} s)" if isinstance(limit, (int, float)) else ""
        return f"the time limit{shown} ran out before plan {k} was found; {before}: allow more time with --time-limit"
    return f"the solver stopped without plan {k} ({out.message}); {before}"


def _excess_words(cost: float, z: float | None) -> str:
    if z is None:
        return ""
    share = (cost - z) / abs(z) if z else 0.0
    return f"{cost - z:+,.2f} USD m, {share:+.2%} on the optimum"


def _not_farthest(out: Outcome) -> str:
    return "" if out.status == sol.OPTIMAL else " (time limit: perhaps not the farthest)"
