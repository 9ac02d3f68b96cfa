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
from model.formulation import build_model, first_stage_vars
from model.solution import Solution
from model.solve.extract import extract
from model.solve.highs import HighsRun, Outcome, TriviallyInfeasible

if TYPE_CHECKING:
    import pyomo.environ as pyo

    from model.case.load import Case

OPTION_KEYS = ("mip_rel_gap", "time_limit_s", "threads", "random_seed")


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
    return solve_model(case, model, opts, say, {"build_s": build_s})


def solve_model(case: Case, model: pyo.ConcreteModel, opts: dict, say: Callable[[str], None] = lambda _m: None,
                timings: dict | None = None) -> Solution:
    """Solve a built model of `case` (see solve_case); every solver outcome becomes a Solution."""
    timings = dict(timings or {})
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
    say(f"solving ({run.sizes['variables']} variables, {run.sizes['constraints']} constraints)")
    out = run.run()
    timings["solve_s"] = out.seconds
    if out.status not in sol.HAS_PLAN:
        return Solution(out.status, out.message, bound=out.bound, timings=timings, options=_used(opts), sizes=run.sizes)
    run.load()  # the MIP plan; the dual LP below does not touch the Pyomo values
    say("reading marginal values")
    t0 = time.perf_counter()
    duals = _duals(run)
    timings["duals_s"] = time.perf_counter() - t0
    result = extract(model, out, duals)
    result.timings, result.options, result.sizes = timings, _used(opts), run.sizes
    result.kpis["mip_gap"] = out.gap
    if len(model.data.scenarios) > 1 and opts.get("evpi_vss", True):
        say("computing EVPI and VSS")
        t0 = time.perf_counter()
        result.kpis.update(evpi_vss(case, opts, model, run, out, say))
        timings["evpi_vss_s"] = time.perf_counter() - t0
    return result


def _used(opts: dict) -> dict:
    return {k: opts.get(k) for k in OPTION_KEYS}


def _duals(run: HighsRun) -> dict[int, float]:
    """Fix the integers at their values, relax integrality, re-solve the LP, return row duals by constraint."""
    run.relax_with_integers_fixed()
    lp = run.run()
    return run.row_duals() if lp.status == sol.OPTIMAL else {}


def _solve(model, opts: dict) -> tuple[HighsRun | None, Outcome]:
    try:
        run = HighsRun(model, opts)
    except TriviallyInfeasible as exc:
        return None, Outcome(sol.INFEASIBLE, str(exc))
    return run, run.run()


def evpi_vss(case: Case, opts: dict, model: pyo.ConcreteModel, run: HighsRun, out: Outcome,
             say: Callable[[str], None] = lambda _m: None) -> dict[str, float | None]:
    """EVPI = RP − WS and VSS = EEV − RP on expected cost without the risk term (DESIGN.md).

    WS solves each scenario alone; the mean-value problem's first stage is then fixed in the
    stochastic problem to give EEV. A value is None when one of its solves found no plan.
    """
    rp_model, rp_run, rp_out = model, run, out
    if model.risk_weight > 0:
        rp_model = build_model(case, risk=False)
        rp_run, rp_out = _solve(rp_model, opts)
    rp = rp_out.objective if rp_out.status in sol.HAS_PLAN else None
    d = model.data
    gaps = [rp_out.gap]
    ws = 0.0
    for i, s in enumerate(d.scenarios, start=1):
        say(f"EVPI: scenario {s} alone ({i} of {len(d.scenarios)})")
        _, o = _solve(build_model(case, [s], risk=False), opts)
        gaps.append(o.gap)
        ws = None if ws is None or o.status not in sol.HAS_PLAN else ws + d.weight[s] * o.objective
    say("VSS: the mean-value problem")
    mv_model = build_model(case, risk=False, mean_value=True)
    mv_run, mv_out = _solve(mv_model, opts)
    gaps.append(mv_out.gap)
    eev = None
    if rp_run is not None and mv_run is not None and mv_out.status in sol.HAS_PLAN:
        mv_x = mv_run.values()
        plan = {v.name: mv_x[mv_run.col_index[id(v)]] for v in first_stage_vars(mv_model) if id(v) in mv_run.col_index}
        fixed = {}
        for v in first_stage_vars(rp_model):
            i = rp_run.col_index.get(id(v))
            if i is not None:
                x = plan.get(v.name, 0.0)
                fixed[i] = float(np.round(x)) if rp_run.integer[i] else max(0.0, float(x))
        rp_run.fix_columns(fixed)
        eev_out = rp_run.run()
        eev = eev_out.objective if eev_out.status in sol.HAS_PLAN else None
        gaps.append(eev_out.gap)
    known = [g for g in gaps if g is not None]
    return {
        "rp_musd": rp, "ws_musd": ws, "eev_musd": eev,
        # the largest relative MIP gap among the solves behind EVPI and VSS: both are ≥ 0 only up to it
        "evpi_vss_gap": max(known) if known else None,
        "evpi_musd": None if rp is None or ws is None else rp - ws,
        "vss_musd": None if rp is None or eev is None else eev - rp,
    }
