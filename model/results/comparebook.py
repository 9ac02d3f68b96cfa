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

from model import __version__
from model.results.compare import Comparison, is_yes, project_differs, real_difference
from model.workbook import sheets
from model.workbook.outfile import atomic_write, check_output

COMPARE_VERSION = "1"
GREEN = "#C6EFCE"  # funded in this run, not in the first
RED = "#FFC7CE"  # funded in the first run, not in this one
YELLOW = "#FFEB9C"  # a different value
MAX_LINES = 10  # lines per chart


def _nan(v: Any) -> bool:
    try:
        return v is not None and not isinstance(v, str) and bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _kpis(book: sheets.Book, cmp: Comparison) -> None:
    """Every run's value, each run minus the first and the change in percent; shaded where the change is real."""
    df = cmp.kpis
    cols = list(df.columns)
    ws = sheets.write_table(book, "KPIs", df.iloc[0:0], notes=sheets.TableNotes(),
                            comment="Every run's value; the last columns give each run minus the first run, and the "
                                    "change in percent (for fractions: the change in points). Shaded: a real "
                                    "difference from the first run.")[0]
    ws.autofilter(0, 0, max(1, len(df)), len(cols) - 1)
    base = cmp.labels[0]
    for i, (_, r) in enumerate(df.iterrows(), start=1):
        unit = r.get("unit")
        fmt = "0.00%" if unit == "fraction" else None
        for j, c in enumerate(cols):
            v = None if _nan(r[c]) else r[c]
            if v is None:
                continue
            numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
            f = fmt
            if numeric and fmt is None:
                f = "#,##0" if float(v).is_integer() or abs(v) >= 100 else "#,##0.00"
            if c.endswith("Δ%"):
                f = "0.0%"
            fill = None
            if c.endswith(f" − {base}"):
                pct = r.get(c.replace(f" − {base}", " Δ%"))
                if (numeric and real_difference(v, pct, unit)) or v == "changed":
                    fill = YELLOW
            sheets.write_value(ws, i, j, v, book.format(f if numeric else None, fill=fill))


def _portfolio(book: sheets.Book, cmp: Comparison) -> None:
    df = cmp.portfolio
    cols = list(df.columns)
    base = cmp.labels[0]
    fills: dict[tuple[int, int], str] = {}
    for i, (_, r) in enumerate(df.iterrows()):
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
                    fills[(i, cols.index(col))] = fill
    sheets.write_table(book, "Portfolio", df, notes=sheets.TableNotes(), fills=fills,
                       comment="Every project any run considers. Green: funded in this run but not in the first; red: "
                               "funded in the first but not here; yellow: another FID year or aid. 'differs' lists the "
                               "runs that differ.")


def _series(book: sheets.Book, name: str, df: pd.DataFrame, headline: str | None, title: str, unit: str,
            comment: str) -> None:
    """A year x '<item> | <run>' table and a line chart of the headline item, one line per run, beside it."""
    ws = sheets.write_table(book, name, df, notes=sheets.TableNotes(), comment=comment)[0]
    if not len(df) or headline is None:
        return
    cols = [j for j, c in enumerate(df.columns) if str(c).rsplit(" | ", 1)[0] == headline][:MAX_LINES]
    if not cols:
        return
    from model.results.charts import CHART_H, CHART_W, PALETTE

    chart = book.wb.add_chart({"type": "line"})
    chart._write_c_smooth = lambda smooth, c=chart: c._xml_empty_tag("c:smooth", [("val", "1" if smooth else "0")])
    for k, j in enumerate(cols):
        chart.add_series({"name": [ws.name, 0, j], "categories": [ws.name, 1, 0, len(df), 0],
                          "values": [ws.name, 1, j, len(df), j], "smooth": False, "marker": {"type": "none"},
                          "line": {"color": PALETTE[k % len(PALETTE)], "width": 2.0}})
    chart.set_title({"name": title, "name_font": {"size": 11, "bold": True}})
    chart.set_y_axis({"name": unit, "min": 0, "num_format": "#,##0",
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_x_axis({"name": "year", "label_position": "low"})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": CHART_W, "height": CHART_H})
    ws.insert_chart(len(df) + 2, 0, chart)  # below the table: on its first printed page, however wide the table


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
    book = sheets.Book(constant_memory=False)  # small, and the charts sit over rows already written
    try:
        _kpis(book, cmp)
        _portfolio(book, cmp)
        s = cmp.series
        _series(book, "Funding", s["Funding"], "all funds", "Public spend by year (aid + acquisitions), USD m",
                "USD m", "Public spend (aid + acquisitions) by fund and year; columns '<fund> | <run>'.")
        _series(book, "Stockpiles", s["Stockpiles"], "all stockpiles", "Stockpile inventory, t (expected)",
                "t", "Expected inventory by stockpile and year; columns '<stockpile> | <run>'.")
        headline = _supply_headline(s["Supply"])
        _series(book, "Supply", s["Supply"], headline, f"{headline}, t (expected)" if headline else "",
                "t", "Expected supply to members by material, source and year; columns '<material> <source> | <run>'. "
                     "Sources that are zero in every run are left out.")
        sheets.write_table(book, "Runs", cmp.runs, notes=sheets.TableNotes(),
                           comment="One row per compared run: its file, case, SHA-256 and versions.")
        sheets.write_table(book, "Manifest", pd.DataFrame(manifest_rows(cmp, command), columns=["key", "value"]),
                           notes=sheets.TableNotes(), comment="What was compared; warnings and what could not be aligned.")
        atomic_write(out, book.save, force=force)
    except BaseException:
        book.discard()
        raise
    return out
