"""What `minplan solve` does and what it prints.

Progress goes to stderr as timed steps; the short summary table and the
path of the result go to stdout. A solve without a plan writes nothing and
says why in plain words.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from model.problems import RunError
from model.solution import FAILED, INFEASIBLE, TIME_LIMIT_FEASIBLE, TIME_LIMIT_NO_PLAN, UNBOUNDED, Solution, unmet_demand
from model.workbook.outfile import check_output, file_name


class Progress:
    """A progress callback: prints each step on stderr with the seconds since the run started."""

    def __init__(self, quiet: bool = False):
        self.t0 = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            click.echo(f"[{time.perf_counter() - self.t0:7.1f} s] {message}", err=True)


def run_solve(case_path: Path, out: Path | None, force: bool, overrides: dict[str, Any], default_dir: Path) -> Path:
    """Load, check the output path, solve, write the result workbook; return its path.

    Raises CaseError for a case with errors and RunError for an output that
    may not be written or a solve without a plan (nothing is written then).
    """
    from model.case.load import load_case
    from model.results.write import RunInfo, write_result

    run = RunInfo(overrides=dict(overrides))
    progress = Progress()
    progress(f"reading {case_path}")
    t0 = time.perf_counter()
    case = load_case(case_path)
    read_s = time.perf_counter() - t0
    for warning in case.warnings:
        click.echo(str(warning), err=True)
    target = check_output(out or default_dir / f"{file_name(case.name)}.xlsx", case.files, force=force)
    from model.solve.solver import solve_case  # imports Pyomo: only once the output is known to be writable

    solution = solve_case(case, overrides, progress)
    solution.timings = {"read_s": read_s, **solution.timings}
    if not solution.has_plan:
        raise RunError(no_plan_message(solution, overrides))
    progress("writing the result workbook")
    t0 = time.perf_counter()
    written = write_result(target, case, solution, run, force=force, progress=progress)
    write_s = time.perf_counter() - t0
    click.echo(summary_text(case.name, solution, time.perf_counter() - run.clock, write_s))
    click.echo(f"result: {written}")
    return written


def no_plan_message(solution: Solution, overrides: dict[str, Any] | None = None) -> str:
    """Why there is no plan, in a planner's words, ending with what was (not) written."""
    detail = f" ({solution.message})" if solution.message else ""
    if solution.status == INFEASIBLE:
        text = "the case is infeasible: no plan meets every rule of the case" + detail
    elif solution.status == UNBOUNDED:
        text = ("the problem is unbounded: some cost can fall without limit, which usually means a price, cost or "
                "capacity is missing" + detail)
    elif solution.status == TIME_LIMIT_NO_PLAN:
        limit = (overrides or {}).get("time_limit_s") or solution.options.get("time_limit_s")
        shown = f" ({limit:g} s)" if isinstance(limit, (int, float)) else ""
        text = (f"the time limit{shown} ran out before any plan was found; allow more time with --time-limit "
                "(or time_limit_s on the Settings sheet), or accept a larger gap with --mip-rel-gap")
    else:
        text = "the solver failed" + ("" if solution.status == FAILED else f" ({solution.status})") + detail
    return f"no plan: {text}. No result workbook was written."


def _num(value: Any, unit: str = "", digits: int = 2) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "n/a"
    if abs(value) < 0.5 * 10**-digits:
        value = 0.0  # a solver's -1e-12 would print as -0.00
    return f"{value:,.{digits}f}" + (f" {unit}" if unit else "")


def summary_text(name: str, solution: Solution, total_s: float, write_s: float | None = None) -> str:
    """The short summary table printed after a solve."""
    k = solution.kpis
    port = solution.portfolio
    funded = k.get("projects_funded")
    if funded is None and "funded" in port.columns:
        funded = int(port["funded"].fillna(False).astype(bool).sum())
    of = f" of {len(port)}" if len(port) else ""
    gap = solution.gap
    t = solution.timings
    parts = ", ".join(f"{label} {t[key]:.1f} s" for label, key in (("solve", "solve_s"), ("duals", "duals_s"))
                      if isinstance(t.get(key), (int, float)))
    if write_s is not None:
        parts += f"{', ' if parts else ''}write {write_s:.1f} s"
    rows = [
        ("case", name),
        ("status", solution.status),
        ("objective", _num(solution.objective, "USD m")),
        ("public spend", _num(k.get("public_spend_musd"), "USD m")),
        ("expected shortfall", _num(k.get("expected_shortfall_t"), "t", 1)),
        ("projects funded", f"{funded}{of}" if funded is not None else "n/a"),
        ("gap", f"{gap:.2%}" if isinstance(gap, (int, float)) else "n/a"),
        *([("EVPI / VSS", f"{_num(k.get('evpi_musd'))} / {_num(k.get('vss_musd'), 'USD m')}")]
          if "evpi_musd" in k or "vss_musd" in k else []),
        ("time", f"{total_s:.1f} s" + (f" ({parts})" if parts else "")),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"  {label:<{width}}  {value}" for label, value in rows]
    if solution.status == TIME_LIMIT_FEASIBLE:
        shown = f"{gap:.2%}" if isinstance(gap, (int, float)) else "an unknown margin"
        lines.append(f"NOT PROVEN OPTIMAL: the time limit stopped the solver; the best plan may cost up to {shown} less "
                     "than this one. Allow more time with --time-limit to close the gap.")
    return "\n".join(lines + unmet_demand_text(solution))


def unmet_demand_text(solution: Solution) -> list[str]:
    """The largest unmet member demands, one per line under a heading; nothing when all demand is met."""
    sentences, total = unmet_demand(solution)
    if not sentences:
        return []
    which = f"the largest {len(sentences)} of {total}" if total > len(sentences) else f"all {total}"
    heading = f"UNMET DEMAND, {which} (every shortfall is on the result's Supply sheet, column shortfall_t):"
    return [heading, *(f"  - {s}" for s in sentences)]
