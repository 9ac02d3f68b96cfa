"""Solve a case: build the model, solve it with HiGHS in memory, read duals, EVPI and VSS, extract a Solution.

`solve_case` never raises for a solver outcome: every termination becomes
one of model.solution's outcomes with a message in plain words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from model import solution as sol
from model.formulation import build_model
from model.solution import Solution
from model.solve.extract import extract
from model.solve.highs import MAX_OBJECTIVE_GAP, HighsRun, Outcome, TriviallyInfeasible

if TYPE_CHECKING:
    import pyomo.environ as pyo

    from model.case.load import Case

OPTION_KEYS = ("mip_rel_gap", "time_limit_s", "threads", "random_seed")
MIN_SOLVE_S = 0.05  # less time than this left in the run: a KPI solve is skipped rather than started


class RunClock:
    """The run's time limit, shared by the main solve and every EVPI/VSS solve: each gets what is left."""

    def __init__(self, opts: dict):
        self.opts = opts
        limit = opts.get("time_limit_s")
        # a limit HiGHS would refuse (not a positive number) is passed on as given, for HiGHS to refuse
        ok = isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0
        self.deadline = time.perf_counter() + float(limit) if ok else None
        self.skipped: list[str] = []

    def options(self) -> dict | None:
        """The solver options with the time left as the limit; None when the run's time is up."""
        if self.deadline is None:
            return self.opts
        left = self.deadline - time.perf_counter()
        return None if left < MIN_SOLVE_S else {**self.opts, "time_limit_s": left}


def solver_options(case: Case, options: dict | None = None) -> dict[str, Any]:
    """Settings' solver options overridden by `options` (unknown keys are kept for the caller)."""
    opts = {k: case.settings.get(k) for k in OPTION_KEYS}
    opts.update(options or {})
    opts.setdefault("evpi_vss", True)
    return opts


def solve_case(case: Case, options: dict | None = None, progress: Callable[[str], None] | None = None) -> Solution:
    """Solve `case` and return its Solution; options override Settings (mip_rel_gap, time_limit_s, threads,
    random_seed; evpi_vss=False skips EVPI and VSS)."""
    say = progress or (lambda _msg: None)
    opts = solver_options(case, options)
    say("building the model")
    t0 = time.perf_counter()
    model = build_model(case)
    build_s = time.perf_counter() - t0
    return solve_model(case, model, opts, say, {"build_s": build_s}, own_model=True)


def solve_model(case: Case, model: pyo.ConcreteModel, opts: dict, say: Callable[[str], None] = lambda _m: None,
                timings: dict | None = None, own_model: bool = False) -> Solution:
    """Solve a built model of `case` (see solve_case); every solver outcome becomes a Solution.

    `time_limit_s` is the run's, from the hand-over to HiGHS on: the main solve, the marginal values and every
    EVPI/VSS solve share it, each getting what is left; KPI solves for which nothing is left are skipped.

    `own_model`: the model is this run's alone (solve_case's). Once HiGHS holds it, and when no EVPI/VSS solve
    will compile it again, its Pyomo objective is dropped before the solve: the objective holds a term per costed
    variable, as much memory as HiGHS's whole copy of the model, and nothing reads it again (the costs in the
    Solution come from the ledger).
    """
    timings = dict(timings or {})
    clock = RunClock(opts)
    say("handing the model to HiGHS")
    t0 = time.perf_counter()
    try:
        run = HighsRun(model, opts)
    except TriviallyInfeasible as exc:
        return Solution(sol.INFEASIBLE, f"no plan satisfies every rule of the case: {exc}", timings=timings,
                        options=_used(opts))
    except ValueError as exc:  # HiGHS refused an option value (e.g. a negative time limit)
        return Solution(sol.FAILED, f"the solver could not start: {exc}", timings=timings, options=_used(opts))
    timings["handover_s"] = time.perf_counter() - t0
    if own_model and not _kpi_solves(model, opts):
        _drop_objective(model)
    say(f"solving ({run.sizes['variables']} variables, {run.sizes['constraints']} constraints)")
    out = run.run()
    timings["solve_s"] = out.seconds
    if out.status not in sol.HAS_PLAN:
        return Solution(out.status, out.message, bound=out.bound, timings=timings, options=_used(opts), sizes=run.sizes)
    run.load()  # the MIP plan; the dual LP below does not touch the Pyomo values
    say("reading marginal values")
    t0 = time.perf_counter()
    duals = _duals(run, clock)
    timings["duals_s"] = time.perf_counter() - t0
    result = extract(model, out, duals)
    disagree = _ledger_disagrees(result)
    if disagree:
        return Solution(sol.UNRELIABLE, disagree, bound=out.bound, timings=timings, options=_used(opts), sizes=run.sizes)
    result.timings, result.options, result.sizes = timings, _used(opts), run.sizes
    result.kpis["mip_gap"] = out.gap
    if len(model.data.scenarios) > 1 and not opts.get("evpi_vss", True):
        result.kpis["kpi_note"] = "EVPI, VSS and the value of adapting were not computed (--no-kpis)"
    elif _kpi_solves(model, opts):
        say("computing EVPI, VSS and the value of adapting")
        t0 = time.perf_counter()
        result.kpis.update(evpi_vss(case, opts, model, run, out, say, clock))
        timings["evpi_vss_s"] = time.perf_counter() - t0
    return result


def _drop_objective(model: pyo.ConcreteModel) -> None:
    """Remove the model's objective, its expression freed at once (the component itself sits in a reference cycle
    that only the collector breaks, some time later)."""
    model.cost.expr = 0
    model.del_component(model.cost)


def _kpi_solves(model: pyo.ConcreteModel, opts: dict) -> bool:
    """Whether EVPI, VSS and the value of adapting are computed for this model (several scenarios, not --no-kpis)."""
    return len(model.data.scenarios) > 1 and bool(opts.get("evpi_vss", True))


def _ledger_disagrees(result: Solution) -> str:
    """Words when the cost ledger's expected cost + risk term is not the objective HiGHS reports, else ''."""
    k = result.kpis
    parts = [k.get("expected_cost_musd"), k.get("cvar_term_musd") or 0.0]
    if result.objective is None or not all(isinstance(v, (int, float)) for v in parts):
        return ""
    ledger = float(sum(parts))
    if abs(ledger - result.objective) <= MAX_OBJECTIVE_GAP * max(1.0, abs(result.objective)):
        return ""
    return (f"the solver reports a cost of {result.objective:,.6g} USD m, but its plan's expected cost and risk term add "
            f"up to {ledger:,.6g} USD m; the case's numbers may span too many orders of magnitude for the solver")


def _used(opts: dict) -> dict:
    return {k: opts.get(k) for k in OPTION_KEYS}


def _duals(run: HighsRun, clock: RunClock) -> dict[int, float]:
    """Fix the integers at their values, relax integrality, re-solve the LP, return row duals by constraint."""
    left = clock.options()
    if left is None:
        return {}
    run.set_time_limit(left.get("time_limit_s"))
    run.relax_with_integers_fixed()
    lp = run.run()
    return run.row_duals() if lp.status == sol.OPTIMAL else {}


def _solve(model, clock: RunClock, name: str) -> tuple[HighsRun | None, Outcome]:
    opts = clock.options()
    if opts is None:
        clock.skipped.append(name)
        return None, Outcome(sol.TIME_LIMIT_NO_PLAN, "not solved: the run's time limit had run out")
    try:
        run = HighsRun(model, opts)
    except TriviallyInfeasible as exc:
        return None, Outcome(sol.INFEASIBLE, str(exc))
    return run, run.run()


def _interval(lo_obj: Outcome | None, hi_obj: Outcome | None) -> tuple[float | None, float | None]:
    """[bound(A) − obj(B), obj(A) − bound(B)] for the KPI A − B of two minimisations."""
    if lo_obj is None or hi_obj is None or lo_obj.objective is None or hi_obj.objective is None:
        return None, None
    a_lo = lo_obj.bound if lo_obj.bound is not None else lo_obj.objective
    b_lo = hi_obj.bound if hi_obj.bound is not None else hi_obj.objective
    return a_lo - hi_obj.objective, lo_obj.objective - b_lo


def evpi_vss(case: Case, opts: dict, model: pyo.ConcreteModel, run: HighsRun, out: Outcome,
             say: Callable[[str], None] = lambda _m: None, clock: RunClock | None = None) -> dict[str, float | None]:
    """EVPI = RP − WS, VSS = EEV − RP and the value of adapting RP(now) − RP, all on expected cost without the
    risk term (DESIGN.md), each with the interval its solves' bounds allow.

    WS solves each scenario alone; the mean-value problem's fid, aid and carry in the years before the first
    branching (every year under `now`) are then fixed in the stochastic problem to give EEV, everything else
    re-optimised. A value is None when one of its solves found no plan, or was skipped because the run's time
    limit (`clock`) had run out.
    """
    clock = clock or RunClock(opts)
    d = model.data
    rp_model, rp_out = model, out
    if model.risk_weight > 0:
        rp_model = build_model(case, risk=False)
        _, rp_out = _solve(rp_model, clock, "RP")
    outs = {"RP": rp_out}
    rp = rp_out.objective if rp_out.status in sol.HAS_PLAN else None
    ws, ws_bound = 0.0, 0.0
    for i, s in enumerate(d.scenarios, start=1):
        say(f"EVPI: scenario {s} alone ({i} of {len(d.scenarios)})")
        _, o = _solve(build_model(case, [s], risk=False), clock, f"WS {s}")
        outs[f"WS {s}"] = o
        if ws is None or o.status not in sol.HAS_PLAN:
            ws = ws_bound = None
        else:
            ws += d.weight[s] * o.objective
            ws_bound += d.weight[s] * (o.bound if o.bound is not None else o.objective)
    result: dict[str, float | str | None] = {"rp_musd": rp, "ws_musd": ws}
    result["evpi_musd"] = None if rp is None or ws is None else rp - ws
    if rp is not None and ws is not None:
        rp_lo = rp_out.bound if rp_out.bound is not None else rp
        result["evpi_low_musd"], result["evpi_high_musd"] = rp_lo - ws, rp - ws_bound
    roots = d.tree.years if d.tree.mode == "now" else d.tree.root_years()
    eev_out = None
    if not roots:
        result["eev_musd"] = result["vss_musd"] = None
        result["vss_note"] = "n/a: the first year already branches, so nothing is decided before anything is known"
    else:
        say("VSS: the mean-value problem")
        mv_model = build_model(case, risk=False, mean_value=True)
        mv_run, mv_out = _solve(mv_model, clock, "mean value")
        outs["mean value"] = mv_out
        if mv_run is not None and mv_out.status in sol.HAS_PLAN:
            say("VSS: the stochastic problem with the mean-value plan fixed")
            eev_out = _eev(rp_model, mv_run, mv_model, set(roots), clock)
            outs["EEV"] = eev_out
        eev = eev_out.objective if eev_out is not None and eev_out.status in sol.HAS_PLAN else None
        result["eev_musd"] = eev
        result["vss_musd"] = None if eev is None or rp is None else eev - rp
        if eev is not None and rp is not None:
            result["vss_low_musd"], result["vss_high_musd"] = _interval(eev_out, rp_out)
    if d.tree.mode != "now":
        say("value of adapting: every decision fixed before anything is known")
        _, now_out = _solve(build_model(case, risk=False, mode="now"), clock, "RP (decisions now)")
        outs["RP (decisions now)"] = now_out
        now = now_out.objective if now_out.status in sol.HAS_PLAN else None
        result["rp_now_musd"] = now
        result["value_of_adapting_musd"] = None if now is None or rp is None else now - rp
        if now is not None and rp is not None:
            result["value_of_adapting_low_musd"], result["value_of_adapting_high_musd"] = _interval(now_out, rp_out)
    gaps = [o.gap for o in outs.values() if o is not None and o.gap is not None]
    result["evpi_vss_gap"] = max(gaps) if gaps else None
    short = [f"{name} ({_gap_words(o)})" for name, o in outs.items()
             if o is not None and o.status != sol.OPTIMAL and name not in clock.skipped]
    notes = []
    if short:
        notes.append("solves that did not reach their gap: " + ", ".join(short) + "; the values they feed are not "
                     "proven (the lowest and highest the solves' bounds allow are given)")
    if clock.skipped:
        notes.append("not solved, the run's time limit had run out: " + ", ".join(clock.skipped) + "; the values "
                     "they feed are blank")
    if notes:
        result["kpi_note"] = "; ".join(notes)
    return result


def _gap_words(o: Outcome) -> str:
    if o.status not in sol.HAS_PLAN:
        return f"{o.status}, no plan"
    return f"gap {o.gap:.2%}" if o.gap is not None else "gap unknown"


def _eev(rp_model, mv_run: HighsRun, mv_model, roots: set[int], clock: RunClock) -> Outcome:
    """The stochastic problem with fid, aid and carry of the years in `roots` fixed at the mean-value plan's values."""
    x = mv_run.values()

    def plan(var_set, year_at):
        return {key[:year_at + 1]: x[mv_run.col_index[id(v)]] for key, v in var_set.items() if id(v) in mv_run.col_index}

    mv = {"fid": plan(mv_model.fid, 1), "aid": plan(mv_model.aid, 2), "carry": plan(mv_model.carry, 1)}
    opts = clock.options()
    if opts is None:
        clock.skipped.append("EEV")
        return Outcome(sol.TIME_LIMIT_NO_PLAN, "not solved: the run's time limit had run out")
    try:
        run = HighsRun(rp_model, opts)
    except TriviallyInfeasible as exc:
        return Outcome(sol.INFEASIBLE, str(exc))
    fixed = {}
    for name, year_at in (("fid", 1), ("aid", 2), ("carry", 1)):
        for key, v in getattr(rp_model, name).items():
            i = run.col_index.get(id(v))
            if i is None or key[year_at] not in roots:
                continue
            val = mv[name].get(key[:year_at + 1], 0.0)
            fixed[i] = float(np.round(val)) if run.integer[i] else max(0.0, float(val))
    run.fix_columns(fixed)
    return run.run()
