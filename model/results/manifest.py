"""The Summary and Manifest rows of the result workbook.

Summary is a four-column table (section, item, value, unit) a reviewer reads
top to bottom; Manifest is a key/value table that records exactly what
produced the workbook. Both stay plain tables so the comparison command can
read them back.
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from importlib import metadata
from typing import TYPE_CHECKING, Any

from model import __version__
from model.run import RunInfo
from model.solution import OPTIMAL, STOPPED_AT_GAP, TIME_LIMIT_FEASIBLE, Solution, unmet_demand

if TYPE_CHECKING:
    from model.case.load import Case
    from model.workbook.sheets import TableNotes

UNIT_FORMATS = {"USD m": "#,##0.00", "fraction": "0.00%", "s": "0.00", "t": "#,##0", "USD/t": "#,##0.00"}

KPI_WORDS = {
    "objective_musd": "objective (expected cost + risk term)",
    "expected_cost_musd": "expected cost",
    "cvar_term_musd": "risk term (CVaR part of the objective)",
    "public_spend_musd": "public spend (aid and acquisitions)",
    "public_cost_musd": "public cost (budget use: each fund's cost factor times its spend)",
    "expected_shortfall_cost_musd": "expected shortfall cost",
    "worst_scenario_cost_musd": "cost of the worst scenario",
    "expected_projects_funded": "projects funded, expected over scenarios",
    "expected_shortfall_t": "expected shortfall",
    "projects_funded": "projects funded",
    "stockpile_acquired_t": "stockpile acquired",
    "evpi_musd": "EVPI",
    "vss_musd": "VSS",
    "value_of_adapting_musd": "value of adapting",
    "ws_musd": "WS",
    "rp_musd": "RP",
    "eev_musd": "EEV",
    "rp_now_musd": "RP (decisions now)",
    "evpi_low_musd": "EVPI, lowest the solves' bounds allow",
    "evpi_high_musd": "EVPI, highest the solves' bounds allow",
    "vss_low_musd": "VSS, lowest the solves' bounds allow",
    "vss_high_musd": "VSS, highest the solves' bounds allow",
    "value_of_adapting_low_musd": "value of adapting, lowest the solves' bounds allow",
    "value_of_adapting_high_musd": "value of adapting, highest the solves' bounds allow",
    "evpi_vss_gap": "largest relative gap of the EVPI, VSS and value-of-adapting solves",
    "kpi_note": "note on EVPI, VSS and value of adapting",
    "vss_note": "note on VSS",
    "scenario_tree_nodes": "scenario tree nodes (all years)",
    "first_branching_year": "first year the scenario tree branches",
}


def unit_of(name: str) -> str:
    """The unit a KPI or timing carries, from its name."""
    for suffix, unit in (("_musd", "USD m"), ("_usd_per_t", "USD/t"), ("_t", "t"), ("_s", "s")):
        if name.endswith(suffix):
            return unit
    return "fraction" if name.endswith(("share", "gap")) else ""


def _optimality(solution: Solution) -> str:
    gap = solution.gap
    if solution.status == OPTIMAL:
        tol = solution.options.get("mip_rel_gap")
        return "yes" + (f", within the relative gap {tol:g}" if isinstance(tol, (int, float)) else "")
    if solution.status == TIME_LIMIT_FEASIBLE:
        shown = f"{gap:.2%}" if isinstance(gap, (int, float)) else "unknown"
        return f"NO: the time limit stopped the solver; the best plan may cost up to {shown} less than this one"
    if solution.status == STOPPED_AT_GAP:
        shown = f"{gap:.2%}" if isinstance(gap, (int, float)) else "an unknown margin"
        return f"NO: progressive hedging stopped with this plan; the best plan may cost up to {shown} less"
    return "no plan"


def engine_rows(solution: Solution) -> list[tuple]:
    """Which engine solved the case and, under progressive hedging, its ranks, iterations and bounds."""
    e = solution.engine
    if e.get("name") != "PH":
        return [("outcome", "engine", "extensive form (HiGHS)", "")]
    return [("outcome", "engine", "PH (progressive hedging, mpi-sppy)", ""),
            ("outcome", "ranks", e.get("ranks"), ""),
            ("outcome", "PH iterations", e.get("iterations"), ""),
            ("outcome", "PH lower bound", e.get("lower_musd"), "USD m"),
            ("outcome", "PH upper bound", e.get("upper_musd"), "USD m"),
            ("outcome", "PH gap", e.get("gap"), "fraction")]


def summary_rows(case: Case, solution: Solution, notes: TableNotes, drawn: list[str], build_s: float
                 ) -> tuple[list[tuple], list[str | None]]:
    """(rows, number format per row) of the Summary sheet."""
    rows: list[tuple] = [
        ("case", "name", case.name, ""),
        ("case", "description", case.settings.get("description"), ""),
        ("case", "file", str(case.path), ""),
        ("case", "years", f"{case.settings['start_year']}-{case.settings['end_year']}", ""),
        ("case", "scenarios", len(solution.scenarios) if len(solution.scenarios) else len(case.tables["Scenarios"]), ""),
        *_family_rows(case),
        ("outcome", "status", solution.status, ""),
        ("outcome", "proven optimal", _optimality(solution), ""),
        ("outcome", "objective", solution.objective, "USD m"),
        ("outcome", "best bound", solution.bound, "USD m"),
        ("outcome", "relative gap", solution.gap, "fraction"),
        *engine_rows(solution),
    ]
    if solution.message:
        rows.append(("outcome", "solver message", solution.message, ""))
    bd = solution.breakdown
    if len(bd) and {"component", "value_musd"} <= set(bd.columns):
        rows += [("objective breakdown", str(c), v, "USD m") for c, v in zip(bd["component"], bd["value_musd"])]
        rows.append(("objective breakdown", "total", float(bd["value_musd"].sum()), "USD m"))
    rows += [("kpi", KPI_WORDS.get(k, k), v, unit_of(k)) for k, v in solution.kpis.items()]
    rows += [("decide now", str(i), line, "") for i, line in enumerate(solution.plan_now, start=1)]
    rows += [("if…", str(i), line, "") for i, line in enumerate(solution.plan_if, start=1)]
    rows += _unmet_rows(solution)
    timings = {**solution.timings, "write_s": build_s}
    rows += [("time", k, v, "s") for k, v in timings.items()]
    rows += [("model size", k, v, "") for k, v in solution.sizes.items()]
    rows += [("note", f"{t} split", f"{len(s)} sheets: {', '.join(s)} (more rows than one Excel sheet holds)", "")
             for t, s in notes.splits.items()]
    rows += [("note", "marginal values", "given the chosen portfolio: FIDs fixed, integrality relaxed, LP re-solved", ""),
             ("note", "write_s", "time to build the workbook; saving it follows", "")]
    rows += [("chart", "chart", title, "") for title in drawn]
    return rows, [_row_format(r) for r in rows]


def _row_format(row: tuple) -> str | None:
    """The Summary number format of a row from its unit; tonnes below 100 keep two decimals."""
    value, unit = row[2], row[3]
    if unit == "t" and isinstance(value, (int, float)) and abs(value) < 100 and value != 0:
        return "#,##0.00"
    if unit == "" and isinstance(value, int) and not isinstance(value, bool):
        return "0" if "year" in str(row[1]) else "#,##0"  # a year reads 2027, not 2,027
    return UNIT_FORMATS.get(unit)


def _family_rows(case: Case) -> list[tuple]:
    """How the scenarios were made, when an Events sheet generated them."""
    if not len(case.tables.get("Events", ())):
        return []
    events = case.tables["Events"]["event"].nunique()
    if case.sampled:
        text = (f"sampled: {case.settings['max_scenarios']} seeded draws (random_seed {case.settings['random_seed']}) "
                f"from the {events} events of the Events sheet, identical draws merged")
    else:
        text = f"every combination of the {events} events of the Events sheet"
    return [("case", "scenario family", text, "")]


def _unmet_rows(solution: Solution) -> list[tuple]:
    """The largest unmet member demands, as the console prints them: section 'unmet demand', items 1, 2, ..."""
    sentences, total = unmet_demand(solution)
    if not sentences:
        return []
    shown = f"the largest {len(sentences)} of {total}" if total > len(sentences) else f"all {total}"
    return [("unmet demand", "shown", f"{shown}; every shortfall is on the Supply sheet, column shortfall_t", ""),
            *(("unmet demand", str(i), s, "") for i, s in enumerate(sentences, start=1))]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def manifest_rows(case: Case, solution: Solution, run: RunInfo, notes: TableNotes, result_version: str) -> list[tuple]:
    """Key/value rows: everything needed to know what produced the workbook."""
    hashes = case.sha256()
    top = str(case.path)
    rows: list[tuple[str, Any]] = [
        ("minplan_result_version", result_version),
        ("minplan_version", __version__),
        ("python_version", platform.python_version()),
        ("pyomo_version", _version("pyomo")),
        ("highspy_version", _version("highspy")),
        ("openpyxl_version", _version("openpyxl")),
        ("xlsxwriter_version", _version("xlsxwriter")),
        ("platform", platform.platform()),
        ("case_name", case.name),
        ("case_path", top),
        ("case_sha256", hashes.get(top) or next(iter(hashes.values()), "")),
    ]
    for i, (path, digest) in enumerate(hashes.items(), start=1):
        rows += [(f"file_{i}", path), (f"file_{i}_sha256", digest)]
    rows += [
        ("started_utc", run.started.astimezone(dt.UTC).isoformat(timespec="seconds")),
        ("duration_s", round(time.perf_counter() - run.clock, 3)),
        ("command_line", run.command),
        ("status", solution.status),
        ("objective_musd", solution.objective),
        ("gap", solution.gap),
    ]
    rows += [(f"option.{k}", _plain(v)) for k, v in sorted(solution.options.items())]
    rows += [(f"override.{k}", _plain(v)) for k, v in sorted(run.overrides.items())]
    rows += [(f"time.{k}", v) for k, v in solution.timings.items()]
    rows += [(f"size.{k}", v) for k, v in solution.sizes.items()]
    rows += [(f"split.{t}", ", ".join(s)) for t, s in notes.splits.items()]
    return rows


def _plain(v: Any) -> Any:
    return v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
