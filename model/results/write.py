"""The result workbook: what a solve found, and exactly what produced it.

`write_result(out, case, solution, run)` writes, atomically:

Summary      section / item / value / unit: case, outcome, objective breakdown,
             KPIs, times, model size, notes (splits, how to read the duals)
Portfolio    every candidate and committed project; aid by fund as aid_<fund>_musd
Funding      fund x year: use, budget, carry, marginal value (+ chart)
Supply       member x material x year x scenario: sources and shortfall (+ charts)
Stockpiles   stockpile x year x scenario: flows, inventory, capacity marginal value (+ chart)
Dependence   member x material x year x scenario: concern share
Scenarios    cost and shortfall per scenario (EVPI and VSS are in Summary)
In_<sheet>   every case table as solved (after inheritance and defaults), with
             source, note and the file and row each record came from
Manifest     key / value: versions, SHA-256 of every case file, options, times
ChartData    the small pivots the charts draw

Every table sheet is a header row at A1 and records below (see report_sheets).
Written with openpyxl in write-only mode: openpyxl is already what minplan
reads and writes workbooks with, it streams rows to disk (a million-row
table does not have to fit in memory as cell objects), and it writes native
charts and comments; xlsxwriter would add a dependency for the same result.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from model.case.load import Case
from model.problems import RunError
from model.results import charts
from model.results.manifest import manifest_rows, summary_rows
from model.run import Progress, RunInfo
from model.solution import Solution
from model.workbook import sheets
from model.workbook.outfile import atomic_write, check_output

RESULT_VERSION = "1"  # bump when a sheet or column changes meaning; the comparison reads it
MAX_ROWS = sheets.EXCEL_MAX_ROWS  # rows per sheet, header included
LONG_TABLE = 20_000  # tables at least this long are announced on the progress line (about 30k cells a second)

# Columns of each Solution table (model/solution.py), so an empty table still has its header.
COLUMNS: dict[str, list[str]] = {
    "portfolio": ["project", "name", "funded", "region", "status", "output", "capacity_tpy", "capex_musd", "fid_year",
                  "online_year", "aid_musd", "public_share"],
    "funding": ["fund", "year", "instrument", "owner", "budget_musd", "aid_musd", "acquisitions_musd", "budget_use_musd",
                "carry_in_musd", "carry_out_musd", "marginal_value", "marginal_value_pv"],
    "supply": ["scenario", "region", "material", "year", "demand_t", "from_projects_t", "byproduct_t", "external_t",
               "imports_ally_t", "imports_partner_t", "imports_concern_t", "exports_t", "stockpile_release_t", "shortfall_t"],
    "stockpiles": ["scenario", "stockpile", "year", "material", "location", "buy_t", "release_t", "inventory_t", "capacity_t"],
    "dependence": ["scenario", "region", "material", "year", "consumption_t", "concern_imports_t", "concern_share",
                   "max_single_origin_share"],
    "scenarios": ["scenario", "probability", "cost_musd", "shortfall_t", "shortfall_cost_musd"],
}

DOCS: dict[str, str] = {
    "funded": "TRUE when the project goes ahead in this plan.",
    "online_year": "Planned first year of output (FID year + lead time), before any delay in a scenario.",
    "public_share": "Aid as a share of capex.",
    "budget_use_musd": "What the year's aid and acquisitions cost the fund's budget: c_f x (aid + acquisitions).",
    "marginal_value": "USD saved per extra USD of budget in that year, given the chosen portfolio (undiscounted).",
    "marginal_value_pv": "The same saving in present value (discounted to the start year).",
    "external_t": "Bought at the region's own Supply offers.",
    "shortfall_t": "Demand not met.",
    "capacity_marginal_value_usd_per_t": "USD saved per extra tonne of stockpile capacity, given the chosen portfolio "
                                         "(the same value on every row of a stockpile).",
    "concern_share": "Imports from concern regions as a share of consumption.",
    "cost_musd": "Present value of this scenario's cost Z_s.",
    "from_file": "Workbook the record came from (a base case for inherited rows).",
    "from_row": "Row of that workbook.",
}




def write_result(out: str | Path, case: Case, solution: Solution, run: RunInfo | None = None, *, force: bool = False,
                 progress: Progress | None = None) -> Path:
    """Write the result workbook for `solution` to `out`, atomically; return the path written.

    Refuses to write over a file of the case, or over an existing `out`
    unless `force`; a failure leaves no file behind (RunError).
    """
    out = check_output(out, case.files, force=force)
    wb = Workbook(write_only=True)
    try:
        fill_workbook(wb, case, solution, run or RunInfo(), progress)
        if progress:
            progress(f"saving {out.name}")
        atomic_write(out, wb.save)
    except OSError as exc:  # the sheets stream to temporary files first: a full disk shows here, not only on saving
        _discard(wb)
        raise RunError(f"cannot write {out}: {exc.strerror or exc} (while writing its sheets); nothing was written"
                       ) from None
    except BaseException:
        _discard(wb)
        raise
    return out


def _discard(wb: Workbook) -> None:
    """Close and delete the temporary files a write-only workbook streams its sheets to, when it will not be saved."""
    for ws in wb.worksheets:
        writer = getattr(ws, "_writer", None)
        if writer is None or not isinstance(writer.out, str):
            continue
        with contextlib.suppress(Exception):  # half-written streams may refuse to close cleanly: the file goes anyway
            if ws._rows is not None:
                ws._rows.close()
            writer.close()
        with contextlib.suppress(OSError, ValueError):
            writer.cleanup()


def fill_workbook(wb: Workbook, case: Case, solution: Solution, run: RunInfo, progress: Progress | None = None) -> None:
    """Write every sheet of the result into `wb`, a write-only workbook (rows stream to temporary files)."""
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    notes = sheets.TableNotes()
    summary = wb.create_sheet("Summary")
    table = _table_writer(wb, notes, say)
    probs = _probabilities(solution, case)

    say("writing result tables")
    frames = {"funding": _frame(solution, "funding"), "supply": _frame(solution, "supply"), "stockpiles": _stockpiles(solution)}
    table("Portfolio", _portfolio(solution), "Every candidate and committed project; funded ones first.")
    funding = table("Funding", frames["funding"], "Fund x year. Marginal values are given the chosen portfolio.")
    supply = table("Supply", frames["supply"], "Members only, by scenario. Charts: expected over scenarios.")
    stock = table("Stockpiles", frames["stockpiles"], "Stockpile x year x scenario; buy_t is the same in every scenario.")
    table("Dependence", _frame(solution, "dependence"), "Members only, by scenario.")
    table("Scenarios", _frame(solution, "scenarios"), _stochastic_note(solution))
    say("writing the case as solved")
    _inputs(wb, case, notes)
    manifest = wb.create_sheet("Manifest")
    data = charts.ChartData(wb.create_sheet("ChartData"))
    drawn = [
        charts.funding_chart(frames["funding"], data, funding[0], _beside(frames["funding"]) + "2"),
        charts.stockpile_chart(frames["stockpiles"], probs, data, stock[0], _beside(frames["stockpiles"]) + "2"),
        *charts.supply_charts(frames["supply"], probs, data, supply[0], _beside(frames["supply"])),
    ]
    build_s = time.perf_counter() - t0
    rows, formats = summary_rows(case, solution, notes, [d for d in drawn if d], build_s)
    sheets.key_value_sheet(summary, rows, ("section", "item", "value", "unit"),
                           f"Result of case {case.name}: {solution.status}.", formats)
    sheets.key_value_sheet(manifest, manifest_rows(case, solution, run, notes, RESULT_VERSION), ("key", "value"),
                           "What produced this workbook. Files are listed case first, then its bases.")


def _table_writer(wb: Workbook, notes: sheets.TableNotes, say: Progress) -> Callable[[str, pd.DataFrame, str], list]:
    def table(name: str, df: pd.DataFrame, comment: str) -> list:
        if len(df) >= LONG_TABLE:
            say(f"writing {name}: {len(df):,} rows")
        return sheets.write_table(wb, name, df, notes=notes, comment=comment, column_docs=DOCS, max_rows=MAX_ROWS)

    return table


def _beside(df: pd.DataFrame) -> str:
    """The column two to the right of a table's last column: where its charts go."""
    return get_column_letter(len(df.columns) + 2)


def _frame(solution: Solution, name: str) -> pd.DataFrame:
    """A Solution table with its known columns first, in COLUMNS order; an empty table keeps its header."""
    df = getattr(solution, name)
    known = COLUMNS.get(name, [])
    if df is None or (df.empty and len(df.columns) == 0):
        return pd.DataFrame(columns=known)
    order = [c for c in known if c in df.columns] + [c for c in df.columns if c not in known]
    return df[order]


def _probabilities(solution: Solution, case: Case) -> dict[str, float]:
    for df in (solution.scenarios, case.tables.get("Scenarios")):
        if df is not None and {"scenario", "probability"} <= set(df.columns) and len(df):
            return {str(s): float(p) for s, p in zip(df["scenario"], df["probability"])}
    return {}


def _portfolio(solution: Solution) -> pd.DataFrame:
    df = _frame(solution, "portfolio").copy()
    aid = solution.aid
    if aid is not None and len(aid) and {"project", "fund", "aid_musd"} <= set(aid.columns):
        by_fund = aid.pivot_table(index="project", columns="fund", values="aid_musd", aggfunc="sum")
        by_fund.columns = [f"aid_{f}_musd" for f in by_fund.columns]
        df = df.merge(by_fund, left_on="project", right_index=True, how="left")
        for c in by_fund.columns:
            df[c] = df[c].fillna(0.0)
    if "funded" in df.columns and len(df):
        order = df["funded"].fillna(False).astype(bool)
        df = df.assign(_o=~order).sort_values(["_o", "fid_year", "project"] if "fid_year" in df else ["_o"], kind="stable")
        df = df.drop(columns="_o")
    return df.reset_index(drop=True)


def _stockpiles(solution: Solution) -> pd.DataFrame:
    df = _frame(solution, "stockpiles")
    vals = solution.stockpile_values
    if vals is not None and len(vals) and "stockpile" in vals.columns and len(df):
        df = df.merge(vals, on="stockpile", how="left")
    return df


def _stochastic_note(solution: Solution) -> str:
    k = solution.kpis
    parts = [f"{name.upper()} = {k[key]:,.2f} USD m" for name, key in (("evpi", "evpi_musd"), ("vss", "vss_musd"))
             if isinstance(k.get(key), (int, float))]
    text = "One row per scenario; cost_musd is its present-value cost Z_s."
    return text + (" " + "; ".join(parts) + " (see Summary)." if parts else "")


def _inputs(wb: Workbook, case: Case, notes: sheets.TableNotes) -> None:
    """One In_<sheet> per case table, as solved, with provenance columns; In_Settings first."""
    from model.case import schema as S

    rows = [{"key": k.name, "value": case.settings.get(k.name), "unit": k.unit, "meaning": k.doc} for k in S.SETTINGS_KEYS]
    sheets.write_table(wb, "In_Settings", pd.DataFrame(rows), notes=notes, max_rows=MAX_ROWS,
                       comment="Settings as solved, defaults applied. Solver options used are in the Manifest.")
    for sheet in S.SHEETS:
        if sheet.name == "Settings":
            continue
        df = case.tables.get(sheet.name, pd.DataFrame())
        cols = [c.name for c in sheet.columns]
        out = df.reindex(columns=[*cols, "source", "note", "_file", "_row"]).rename(
            columns={"_file": "from_file", "_row": "from_row"})
        docs = {c.name: f"{c.doc}" + (f" [{c.unit}]" if c.unit else "") for c in sheet.columns}
        docs.update({k: v for k, v in DOCS.items() if k in ("from_file", "from_row")})
        sheets.write_table(wb, sheets.sheet_title(f"In_{sheet.name}"), out, notes=notes, column_docs=docs, max_rows=MAX_ROWS,
                           comment=f"{sheet.doc} As solved: after inheritance and defaults.")
