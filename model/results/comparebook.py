"""The comparison workbook: KPIs, Portfolio, Funding, Stockpiles, Supply, Runs and Manifest sheets.

Each sheet is a plain table from A1. KPIs holds every run's value and the
absolute and percent difference against the first run, differences shaded;
Portfolio shades what a run funds differently from the first (green: funded
here only, red: not funded here, yellow: other FID year or aid); the yearly
sheets carry native Excel line charts of their headline series, one line per
run. Manifest (key / value, `minplan_compare_version`) records the runs and
the warnings. Written atomically; never over one of the compared files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from model import __version__
from model.results.compare import Comparison, is_yes, project_differs
from model.workbook.outfile import atomic_write, check_output, is_formula_like, safe_value
from model.workbook.sheets import number_format

COMPARE_VERSION = "1"
GREEN = PatternFill("solid", fgColor="C6EFCE")  # funded in this run, not in the first
RED = PatternFill("solid", fgColor="FFC7CE")  # funded in the first run, not in this one
YELLOW = PatternFill("solid", fgColor="FFEB9C")  # a different value
BOLD = Font(bold=True)
MAX_LINES = 10  # lines per chart


def _put(ws, row: int, col: int, value: Any, fmt: str | None = None, fill: PatternFill | None = None):
    value = safe_value(value)
    cell = ws.cell(row=row, column=col, value=value)
    if is_formula_like(value):
        cell.data_type = "s"
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        cell.number_format = fmt
    if fill is not None:
        cell.fill = fill
    return cell


def _table(ws, df: pd.DataFrame, comment: str = "", formats: dict[str, str] | None = None) -> None:
    """Header at A1, records below, frozen header, widths from the content."""
    for j, col in enumerate(df.columns, start=1):
        cell = _put(ws, 1, j, str(col))
        cell.font = BOLD
        longest = max([len(str(col))] + [len(str(safe_value(v) or "")) for v in df[col].head(200)])
        ws.column_dimensions[get_column_letter(j)].width = max(8, min(60, longest + 2))
    if comment:
        ws.cell(row=1, column=1).comment = Comment(comment, "minplan", width=320, height=120)
    ws.freeze_panes = "A2"
    fmts = [(formats or {}).get(str(c)) or number_format(str(c)) for c in df.columns]
    for i, row in enumerate(df.itertuples(index=False, name=None), start=2):
        for j, (value, fmt) in enumerate(zip(row, fmts), start=1):
            _put(ws, i, j, None if _nan(value) else value, fmt)


def _nan(v: Any) -> bool:
    try:
        return v is not None and not isinstance(v, str) and bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _kpis(ws, cmp: Comparison) -> None:
    df = cmp.kpis
    formats = {c: "0.0%" for c in df.columns if c.endswith("Δ%")}
    _table(ws, df, "Every run's value; the last columns give each run minus the first run, and the change in percent. "
                   "Shaded: differs from the first run.", formats)
    cols = list(df.columns)
    for i, (_, r) in enumerate(df.iterrows(), start=2):
        unit_fmt = "0.0%" if r.get("unit") == "fraction" else "#,##0.000"
        for j, c in enumerate(cols, start=1):
            numeric = isinstance(r[c], (int, float)) and not isinstance(r[c], bool)
            if numeric and (c in cmp.labels or c.endswith(f" − {cmp.labels[0]}")):
                ws.cell(row=i, column=j).number_format = unit_fmt
            if c.endswith(f" − {cmp.labels[0]}") and r[c] not in (None, 0.0, "same") and not _nan(r[c]):
                ws.cell(row=i, column=j).fill = YELLOW


def _portfolio(ws, cmp: Comparison) -> None:
    df = cmp.portfolio
    _table(ws, df, "Every project any run considers. Green: funded in this run but not in the first; red: funded in the "
                   "first but not here; yellow: another FID year or aid. 'differs' lists the runs that differ.")
    cols = list(df.columns)
    base = cmp.labels[0]
    for i, (_, r) in enumerate(df.iterrows(), start=2):
        for label in cmp.labels[1:]:
            if not project_differs(r, base, label):
                continue
            f0, f1 = is_yes(r.get(f"{base} funded")), is_yes(r.get(f"{label} funded"))
            for what in ("funded", "fid_year", "aid_musd"):
                col = f"{label} {what}"
                if col not in cols:
                    continue
                fill = (GREEN if f1 else RED) if f0 != f1 else (YELLOW if r.get(f"{base} {what}") != r.get(col)
                                                                 and not (_nan(r.get(col)) and _nan(r.get(f"{base} {what}")))
                                                                 else None)
                if fill is not None:
                    ws.cell(row=i, column=cols.index(col) + 1).fill = fill


def _series(ws, df: pd.DataFrame, headline: str | None, title: str, unit: str, comment: str) -> None:
    """A year x '<item> | <run>' table and a line chart of the headline item, one line per run."""
    _table(ws, df, comment)
    if not len(df) or headline is None:
        return
    cols = [j for j, c in enumerate(df.columns, start=1) if str(c).rsplit(" | ", 1)[0] == headline][:MAX_LINES]
    if not cols:
        return
    chart = LineChart()
    chart.title, chart.y_axis.title, chart.x_axis.title = title, unit, "year"
    chart.width, chart.height = 18.0, 9.0
    chart.legend.position = "b"
    for j in cols:
        chart.add_data(Reference(ws, min_col=j, min_row=1, max_row=len(df) + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(df) + 1))
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    ws.add_chart(chart, f"{get_column_letter(len(df.columns) + 2)}2")


def _supply_headline(df: pd.DataFrame) -> str | None:
    """The supply item to chart: the material with the largest supply from projects, its shortfall else."""
    items = [str(c).rsplit(" | ", 1)[0] for c in df.columns if c != "year"]
    totals: dict[str, float] = {}
    for c in df.columns:
        if c != "year":
            item = str(c).rsplit(" | ", 1)[0]
            totals[item] = totals.get(item, 0.0) + float(pd.to_numeric(df[c], errors="coerce").abs().sum())
    for suffix in (" shortfall", " imports from concern", " projects"):
        cands = [i for i in dict.fromkeys(items) if i.endswith(suffix) and totals.get(i, 0) > 0]
        if cands:
            return max(cands, key=lambda i: totals[i])
    return items[0] if items else None


def manifest_rows(cmp: Comparison, command: str) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("minplan_compare_version", COMPARE_VERSION), ("minplan_version", __version__),
                                   ("created_utc", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
                                   ("command_line", command), ("reference_run", cmp.labels[0]), ("runs", len(cmp.labels))]
    for i, (_, r) in enumerate(cmp.runs.iterrows(), start=1):
        rows += [(f"run_{i}_{k}", r[k]) for k in ("run", "file", "case_name", "case_sha256", "base_file", "base_sha256",
                                                 "minplan_version", "pyomo_version", "highspy_version")]
    rows += [(f"warning_{i}", w) for i, w in enumerate(cmp.warnings, start=1)]
    rows += [(f"note_{i}", n) for i, n in enumerate(cmp.notes, start=1)]
    return rows


def write_comparison(out: Path, cmp: Comparison, inputs: list[Path], command: str, force: bool = False) -> Path:
    """Write the comparison workbook atomically; refuses to write over a compared file."""
    out = check_output(out, inputs, force=force)
    wb = Workbook()
    _kpis(wb.active, cmp)
    wb.active.title = "KPIs"
    _portfolio(wb.create_sheet("Portfolio"), cmp)
    s = cmp.series
    _series(wb.create_sheet("Funding"), s["Funding"], "all funds", "Public spend by year (aid + acquisitions), USD m",
            "USD m", "Public spend (aid + acquisitions) by fund and year; columns '<fund> | <run>'.")
    _series(wb.create_sheet("Stockpiles"), s["Stockpiles"], "all stockpiles", "Stockpile inventory, t (expected)",
            "t", "Expected inventory by stockpile and year; columns '<stockpile> | <run>'.")
    headline = _supply_headline(s["Supply"])
    _series(wb.create_sheet("Supply"), s["Supply"], headline, f"{headline}, t (expected)" if headline else "",
            "t", "Expected supply to members by material, source and year; columns '<material> <source> | <run>'. "
                 "Sources that are zero in every run are left out.")
    _table(wb.create_sheet("Runs"), cmp.runs, "One row per compared run: its file, case, SHA-256 and versions.")
    man = wb.create_sheet("Manifest")
    _table(man, pd.DataFrame(manifest_rows(cmp, command), columns=["key", "value"]),
           "What was compared; warnings and what could not be aligned.")
    atomic_write(out, wb.save, force=force)
    return out
