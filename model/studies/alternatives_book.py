"""The alternatives workbook: plans nearly as cheap as the best, which projects every plan needs, and what
produced them.

Plain tables from A1 (frozen bold header, autofilter, landscape print setup with the header repeated):
Plans (one row per plan, the optimum first: cost, its excess over the optimum, the distances, the funded
candidates and the Summary's KPIs; a plan that could not be found is a last row saying why) with a native
scatter chart of cost against distance from the optimum beside it, Projects (every candidate: funded in
every plan, the robust core; in some; or in none; with the plans that fund it and its funding probability in
each) and Manifest (key / value). Text is written as text, never a formula.
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from model import __version__
from model.results.manifest import KPI_WORDS
from model.run import RunInfo
from model.solution import OPTIMAL
from model.workbook import sheets
from model.workbook.outfile import atomic_write, check_output

if TYPE_CHECKING:
    from model.case.load import Case
    from model.solve.alternatives import Alternatives, Plan

ALTERNATIVES_VERSION = "1"  # the Manifest key `minplan_alternatives_version` marks an alternatives workbook
EVERY, SOME, NONE = "every plan", "some plans", "no plan"
_SURE = 1 - 1e-9  # a funding probability at least this is "in every scenario"

# The Summary's KPIs each plan reports, in the order the Summary lists them.
PLAN_KPIS = ("expected_cost_musd", "cvar_term_musd", "public_spend_musd", "public_cost_musd", "expected_shortfall_t",
             "expected_shortfall_cost_musd", "worst_scenario_cost_musd", "projects_funded", "expected_projects_funded",
             "stockpile_acquired_t")
# The optimum in black, then the colours of Excel's default palette, so each plan's marker is told apart.
PLAN_COLOURS = ("000000", "1F77B4", "FF7F0E", "2CA02C", "D62728", "9467BD", "8C564B", "E377C2", "7F7F7F", "BCBD22",
                "17BECF")
DISTANCE_UNIT = "expected number of candidate projects funded in one plan and not the other"
PLAN_DOCS = {
    "plan": "Plan number: 0 is the optimum, then the alternatives in the order they were found.",
    "status": "optimum; found (the farthest plan within the slack); time limit, plan found (within the slack, "
              "perhaps not the farthest); not found (see reason).",
    "objective_musd": "The plan's objective: expected cost plus risk term, USD m.",
    "excess_musd": "Objective above the optimum's, USD m.",
    "excess_share": "Objective above the optimum's, as a share of the optimum's magnitude; at most the slack.",
    "distance_to_optimum": f"Distance from plan 0: the {DISTANCE_UNIT} (Σ_s π_s Σ_p |x_p,s − x⁰_p,s|).",
    "distance_to_nearest": "Distance to the nearest earlier plan: what the search maximised.",
    "w": "The distance w the solver reported; every distance_to_nearest is at least this (up to its tolerance).",
    "funded": "Candidate projects the plan funds, with the probability when not in every scenario.",
    **{k: KPI_WORDS.get(k, k.replace("_", " ")) + " (as on a result's Summary)." for k in PLAN_KPIS},
    "reason": "Why a plan could not be found.",
}
PROJECT_DOCS = {
    "project": "Candidate project (committed projects go ahead in every plan and are left out).",
    "name": "Its name on the Projects sheet.",
    "region": "Where it is.",
    "output": "What it makes.",
    "capex_musd": "Capital cost, USD m.",
    "class": f"{EVERY}: funded in every scenario of every plan, the robust core of the recommendation; {SOME}: "
             f"funded in some plans or some scenarios, interchangeable with others at this slack; {NONE}: funded in "
             "no scenario of any plan found.",
    "plans": "The plans that fund it, with the probability when it is not funded in every scenario.",
}


def funded_probability(plan: Plan, project: str, weight: dict[str, float]) -> float:
    """The plan's probability of funding `project`: Σ_s π_s x_{p,s}."""
    return sum(weight[s] * x for (p, s), x in plan.funded.items() if p == project)


def classification(result: Alternatives) -> dict[str, list[tuple[str, str]]]:
    """Each candidate in 'every plan' (funded in every scenario of every plan), 'no plan' (in none) or 'some
    plans' (anything between), with the plans that fund it ('0, 1 (25%), 3': the probability when below 1)."""
    out: dict[str, list[tuple[str, str]]] = {EVERY: [], SOME: [], NONE: []}
    for p in result.candidates:
        probs = [(plan.number, funded_probability(plan, p, result.weight)) for plan in result.plans]
        which = ", ".join(str(k) if q >= _SURE else f"{k} ({100 * q:.3g}%)" for k, q in probs if q > 1 - _SURE)
        cls = EVERY if all(q >= _SURE for _, q in probs) else NONE if not which else SOME
        out[cls].append((p, which))
    return out


def portfolio_text(plan: Plan, candidates: list[str], weight: dict[str, float]) -> str:
    """'a, b, c (25%)': the candidates the plan funds, with the probability when below 1."""
    parts = []
    for p in candidates:
        prob = funded_probability(plan, p, weight)
        if prob > 1 - _SURE:
            parts.append(p if prob >= _SURE else f"{p} ({100 * prob:.3g}%)")
    return ", ".join(parts) if parts else "none"


def slack_words(slack: float) -> str:
    """0.05 -> '5%'."""
    return f"{100 * slack:.3g}%"


def plans_table(result: Alternatives) -> pd.DataFrame:
    """One row per plan, the optimum first; a last row for a plan that could not be found."""
    z = result.z
    rows = []
    for plan in result.plans:
        cost = plan.solution.objective
        rows.append({
            "plan": plan.number, "status": "optimum" if plan.number == 0 else
            "found" if plan.solution.status == OPTIMAL else plan.solution.status,
            "objective_musd": cost, "excess_musd": cost - z,
            "excess_share": (cost - z) / abs(z) if z else 0.0,
            "distance_to_optimum": plan.distances[0] if plan.distances else 0.0,
            "distance_to_nearest": min(plan.distances) if plan.distances else None, "w": plan.w,
            "funded": portfolio_text(plan, result.candidates, result.weight),
            **{k: plan.solution.kpis.get(k) for k in PLAN_KPIS}, "reason": ""})
    if result.missing and result.plans:
        rows.append({"plan": len(result.plans), "status": "not found", "reason": result.missing})
    return pd.DataFrame(rows, columns=list(PLAN_DOCS))


def projects_table(result: Alternatives) -> pd.DataFrame:
    """One row per candidate: its class, the plans that fund it and its funding probability in each plan."""
    first = result.plans[0].solution.portfolio.set_index("project") if result.plans else pd.DataFrame()
    rows = []
    for cls, items in classification(result).items():
        for p, which in items:
            info = first.loc[p] if p in first.index else {}
            rows.append({"project": p, **{c: info.get(c) for c in ("name", "region", "output", "capex_musd")},
                         "class": cls, "plans": which or "none",
                         **{f"funded_probability_plan_{plan.number}": funded_probability(plan, p, result.weight)
                            for plan in result.plans}})
    cols = [*PROJECT_DOCS, *(f"funded_probability_plan_{plan.number}" for plan in result.plans)]
    return pd.DataFrame(rows, columns=cols)


def write_alternatives_book(out: Path, case: Case, result: Alternatives, run: RunInfo, force: bool = False) -> Path:
    """Write the alternatives workbook atomically; return its path."""
    out = check_output(out, case.files, force=force)
    book = sheets.Book()
    notes = sheets.TableNotes()
    try:
        plans = plans_table(result)
        ws = sheets.write_table(book, "Plans", plans, notes=notes, column_docs=PLAN_DOCS,
                                comment=_plans_words(result))[0]
        _chart(book, ws, plans, len(result.plans))
        projects = projects_table(result)
        docs = PROJECT_DOCS | {c: f"Probability that plan {c.rsplit('_', 1)[1]} funds it." for c in projects.columns
                               if c.startswith("funded_probability_plan_")}
        sheets.write_table(book, "Projects", projects, notes=notes, column_docs=docs,
                           comment="Every candidate project of the case, by how many of the plans fund it.")
        man = manifest_rows(case, result, run)
        sheets.key_value_sheet(book, book.sheet("Manifest"), man, ("key", "value"),
                               "What produced this alternatives workbook.")
        atomic_write(out, book.save)
    except BaseException:
        book.discard()
        raise
    return out


def _plans_words(result: Alternatives) -> str:
    found = (f"{result.found} of {result.requested} alternatives found within {slack_words(result.slack)} of the "
             f"optimum (objective at most {result.limit:,.2f} USD m), each as far as possible from the optimum and "
             "every plan before it.")
    return found + (f" Plan {len(result.plans)} could not be found: {result.missing}." if result.missing else "")


def _chart(book: sheets.Book, ws, plans: pd.DataFrame, n_plans: int) -> None:
    """Cost against distance from the optimum, one marker per plan (a series each, so the legend names them)."""
    if n_plans == 0:
        return
    from model.results.charts import CHART_H, CHART_W

    cols = list(plans.columns)
    x_col, y_col = cols.index("distance_to_optimum"), cols.index("objective_musd")
    chart = book.wb.add_chart({"type": "scatter"})
    # markers only (the plans are not a sequence); say so in the XML too, or some readers draw curves
    chart._write_c_smooth = lambda smooth, c=chart: c._xml_empty_tag("c:smooth", [("val", "1" if smooth else "0")])
    for i in range(n_plans):
        row = i + 1
        colour = PLAN_COLOURS[i % len(PLAN_COLOURS)]
        chart.add_series({"name": "plan 0 (optimum)" if i == 0 else f"plan {i}",
                          "categories": [ws.name, row, x_col, row, x_col], "values": [ws.name, row, y_col, row, y_col],
                          "marker": {"type": "diamond" if i == 0 else "circle", "size": 9,
                                     "fill": {"color": _hex(colour)}, "border": {"color": _hex(colour)}},
                          "smooth": False})
    chart.set_title({"name": "Cost of each plan against its distance from the optimum", "name_font": {"size": 11}})
    chart.set_x_axis({"name": f"distance from the optimum ({DISTANCE_UNIT})", "min": 0, "num_format": "0.0#"})
    chart.set_y_axis({"name": "objective, USD m", "num_format": "#,##0",
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_legend({"position": "right"})
    chart.set_size({"width": CHART_W, "height": CHART_H})
    ws.insert_chart(1, len(cols) + 1, chart)


def _hex(colour: str) -> str:
    return colour if colour.startswith("#") else f"#{colour}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def manifest_rows(case: Case, result: Alternatives, run: RunInfo) -> list[tuple[str, Any]]:
    hashes = case.sha256()
    rows: list[tuple[str, Any]] = [
        ("minplan_alternatives_version", ALTERNATIVES_VERSION),
        ("minplan_version", __version__),
        ("python_version", platform.python_version()),
        *((f"{p}_version", _version(p)) for p in ("pyomo", "highspy", "openpyxl")),
        ("platform", platform.platform()),
        ("case_name", case.name),
        ("case_path", str(case.path)),
        ("case_sha256", hashes.get(str(case.path)) or next(iter(hashes.values()), "")),
    ]
    for i, (path, digest) in enumerate(hashes.items(), start=1):
        rows += [(f"file_{i}", path), (f"file_{i}_sha256", digest)]
    optimum = result.optimum
    rows += [
        ("started_utc", run.started.astimezone(dt.UTC).isoformat(timespec="seconds")),
        ("duration_s", round(time.perf_counter() - run.clock, 3)),
        ("command_line", run.command),
        ("slack", result.slack),
        ("objective_limit_musd", result.limit),
        ("optimum_status", optimum.status if optimum else None),
        ("optimum_musd", result.z),
        ("optimum_gap", optimum.gap if optimum else None),
        ("plans_requested", result.requested),
        ("plans_found", result.found),
        ("not_found", result.missing),
    ]
    rows += [(f"option.{k}", v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
             for k, v in sorted(result.options.items())]
    rows += [(f"override.{k}", v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
             for k, v in sorted(run.overrides.items())]
    rows += [(f"time.{k}", round(v, 3)) for k, v in result.timings.items()]
    if optimum is not None:
        rows += [(f"size.{k}", v) for k, v in optimum.sizes.items()]
    return rows
