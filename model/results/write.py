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

Dashboard    the charts a planner looks at first (model/results/charts.py)

Every table sheet is a header row at A1 and records below (see model/workbook/sheets.py).
Written with XlsxWriter in constant-memory mode: rows stream to disk as they
are written (a million-row table never sits in memory as cell objects), at
several times openpyxl's write-only speed, with native charts and comments
(benchmarks/bench_write.py). Tables longer than PARQUET_ROWS are also
written as Parquet files beside the workbook, for analysts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from model import tables as R
from model.case.load import Case
from model.problems import RunError
from model.results import charts
from model.results.manifest import manifest_rows, summary_rows
from model.run import Progress, RunInfo
from model.solution import Solution
from model.workbook import sheets
from model.workbook.outfile import atomic_write, check_output, temporary_folder

RESULT_VERSION = "1"  # bump when a sheet or column changes meaning; the comparison reads it
MAX_ROWS = sheets.EXCEL_MAX_ROWS  # rows per sheet, header included
LONG_TABLE = 20_000  # tables at least this long are announced on the progress line
PARQUET_ROWS = 200_000  # tables at least this long also go to <result>_<Sheet>.parquet beside the workbook

# Columns of each result sheet's table, in sheet order, so an empty table still has its header (model/tables.py)
COLUMNS: dict[str, list[str]] = {t.name: t.columns for t in R.SHEET_TABLES}
# Header comments of columns that other tables bring onto a sheet (stockpile values on Stockpiles)
MERGED_DOCS: dict[str, str] = {name: doc for t in R.TABLES if t.sheet is None for name, doc in t.docs.items()}


def write_result(out: str | Path, case: Case, solution: Solution, run: RunInfo | None = None, *, force: bool = False,
                 progress: Progress | None = None) -> Path:
    """Write the result workbook for `solution` to `out`, atomically; return the path written.

    Refuses to write over a file of the case, or over an existing `out`
    unless `force`; a failure leaves no file behind (RunError).
    """
    out = check_output(out, case.files, force=force)
    with temporary_folder(out):  # the sheets' temporary files go beside the output and go with the write
        return _write(out, case, solution, run, force, progress)


def _write(out: Path, case: Case, solution: Solution, run: RunInfo | None, force: bool, progress: Progress | None
           ) -> Path:
    book = sheets.Book()
    try:
        fill_workbook(book, case, solution, run or RunInfo(), progress, out)
        if progress:
            progress(f"saving {out.name}")
        atomic_write(out, book.save, force=force)
    except OSError as exc:  # the sheets stream to temporary files first: a full disk shows here, not only on saving
        book.discard()
        raise RunError(f"cannot write {out}: {exc.strerror or exc} (while writing its sheets); nothing was written"
                       ) from None
    except BaseException:
        book.discard()
        raise
    return out


def fill_workbook(book: sheets.Book, case: Case, solution: Solution, run: RunInfo, progress: Progress | None = None,
                  out: Path | None = None) -> None:
    """Write every sheet of the result into `book` (rows stream to temporary files); Parquet beside `out`."""
    t0 = time.perf_counter()
    say = progress or (lambda _msg: None)
    notes = sheets.TableNotes()
    summary = book.sheet("Summary")
    dash_ws = book.sheet("Dashboard")
    table = _table_writer(book, notes, say)
    probs = _probabilities(solution, case)

    say("writing result tables")
    frames = {t.name: _frame(solution, t.name) for t in R.SHEET_TABLES}
    frames.update(portfolio=_portfolio(solution), stockpiles=_stockpiles(solution))
    comments = {t.name: t.comment for t in R.SHEET_TABLES} | {"scenarios": _stochastic_note(solution)}
    parquet = _parquet(frames, out) if out is not None else {}
    for name, path in parquet.items():
        comments[name] = f"All {len(frames[name]):,} rows are also in {path.name}, beside this workbook. " + comments[name]
    for t in R.SHEET_TABLES:
        table(t, frames[t.name], comments[t.name])
    say("writing the case as solved")
    _inputs(book, case, notes)
    manifest = book.sheet("Manifest")
    dash = charts.Dashboard(book, dash_ws, charts.ChartData(book, book.sheet("ChartData")))
    charts.funding_chart(dash, frames["funding"])
    charts.stockpile_chart(dash, frames["stockpiles"], probs)
    charts.shortfall_cost_chart(dash, frames["supply"], probs)
    charts.concern_share_chart(dash, frames["dependence"], probs)
    charts.supply_charts(dash, frames["supply"], probs, _prices(case))
    _dashboard_text(dash, case, solution)
    build_s = time.perf_counter() - t0
    rows, formats = summary_rows(case, solution, notes, dash.titles, build_s)
    rows += [("note", f"{name} as Parquet", str(path), "") for name, path in parquet.items()]
    formats += [None] * len(parquet)
    sheets.key_value_sheet(book, summary, rows, ("section", "item", "value", "unit"),
                           f"Result of case {case.name}: {solution.status}.", formats)
    sheets.key_value_sheet(book, manifest, manifest_rows(case, solution, run, notes, RESULT_VERSION), ("key", "value"),
                           "What produced this workbook. Files are listed case first, then its bases.")


def _dashboard_text(dash: charts.Dashboard, case: Case, solution: Solution) -> None:
    """The Dashboard's two lines above the charts: what it shows, and what has no chart."""
    ws = dash.ws
    ws.write_string(0, 0, f"Dashboard of case {case.name} ({solution.status}): what is at stake. "
                          "The numbers each chart draws are on ChartData.", dash.book.format(bold=True))
    if dash.notes:
        ws.write_string(1, 0, " ".join(dash.notes))
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.set_footer("&L&A&R&P / &N")
    chart_rows = -(-max(1, len(dash.titles)) // charts.GRID_COLS)
    ws.print_area(0, 0, 2 + chart_rows * charts.ROW_STEP, charts.GRID_COLS * charts.COL_STEP - 1)
    ws.set_h_pagebreaks([2 + k * charts.ROW_STEP for k in range(2, chart_rows, 2)])  # two rows of charts a page


def _prices(case: Case) -> dict[str, float]:
    mats = case.tables.get("Materials")
    if mats is None or not {"material", "price_usd_per_t"} <= set(mats.columns):
        return {}
    return {str(m): float(p) for m, p in zip(mats["material"], mats["price_usd_per_t"]) if pd.notna(p)}


def _parquet(frames: dict[str, pd.DataFrame], out: Path) -> dict[str, Path]:
    """Write every table of at least PARQUET_ROWS rows to <result>_<Sheet>.parquet beside `out`, atomically."""
    written = {}
    for t in R.SHEET_TABLES:
        df = frames[t.name]
        if len(df) >= PARQUET_ROWS:
            path = out.with_name(f"{out.stem}_{t.sheet}.parquet")
            clean = df.copy()
            for c in clean.columns:
                if clean[c].dtype == object:
                    clean[c] = clean[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
            atomic_write(path, lambda tmp, d=clean: d.to_parquet(tmp, index=False))
            written[t.name] = path
    return written


def _table_writer(book: sheets.Book, notes: sheets.TableNotes, say: Progress) -> Callable[[R.Table, pd.DataFrame, str], list]:
    def table(declared: R.Table, df: pd.DataFrame, comment: str) -> list:
        if len(df) >= LONG_TABLE:
            say(f"writing {declared.sheet}: {len(df):,} rows")
        return sheets.write_table(book, declared.sheet, df, notes=notes, comment=comment,
                                  column_docs=MERGED_DOCS | declared.docs, max_rows=MAX_ROWS)

    return table


def _frame(solution: Solution, name: str) -> pd.DataFrame:
    """A Solution table with its declared columns first, in sheet order; an empty table keeps its header."""
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
        weight = aid["probability"] if "probability" in aid.columns else 1.0
        aid = aid.assign(expected=aid["aid_musd"] * weight)  # aid by fund, expected over the branches that give it
        by_fund = aid.pivot_table(index="project", columns="fund", values="expected", aggfunc="sum")
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
    text = R.SCENARIOS.comment
    return text + (" " + "; ".join(parts) + " (see Summary)." if parts else "")


def _inputs(book: sheets.Book, case: Case, notes: sheets.TableNotes) -> None:
    """One In_<sheet> per case table, as solved, with provenance columns; In_Settings first."""
    from model.case import schema as S

    rows = [{"key": k.name, "value": case.settings.get(k.name), "unit": k.unit, "meaning": k.doc} for k in S.SETTINGS_KEYS]
    sheets.write_table(book, "In_Settings", pd.DataFrame(rows), notes=notes, max_rows=MAX_ROWS,
                       comment="Settings as solved, defaults applied. Solver options used are in the Manifest.")
    for sheet in S.SHEETS:
        if sheet.name == "Settings":
            continue
        df = case.tables.get(sheet.name, pd.DataFrame())
        cols = [c.name for c in sheet.columns]
        out = df.reindex(columns=[*cols, "source", "note", "_file", "_row"]).rename(
            columns={"_file": "from_file", "_row": "from_row"})
        docs = {c.name: f"{c.doc}" + (f" [{c.unit}]" if c.unit else "") for c in sheet.columns}
        docs.update(R.PROVENANCE_DOCS)
        sheets.write_table(book, sheets.sheet_title(f"In_{sheet.name}"), out, notes=notes, column_docs=docs, max_rows=MAX_ROWS,
                           comment=f"{sheet.doc} As solved: after inheritance and defaults.")
