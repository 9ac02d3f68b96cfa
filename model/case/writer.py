"""Write a case workbook from Python data (tests, builders, sweeps).

Writes plain sheets: one header row, one record per row. Text that starts
with '=', '+', '-' or '@' is stored as text, never as a formula. The richer,
documented template is `model.case.template`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from model.case import schema as S
from model.workbook.outfile import atomic_write

FORMULA_START = ("=", "+", "-", "@")


def safe_cell(ws, row: int, col: int, value: Any):
    """Set a cell so that text from data is never read by Excel as a formula."""
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.value = value
        cell.data_type = "s"
    else:
        cell.value = value
    return cell


def _columns(sheet: str, rows: list[Mapping[str, Any]]) -> list[str]:
    order = [c.name for c in S.SHEET[sheet].columns] if sheet in S.SHEET else []
    seen = [c for c in order if any(c in r for r in rows)]
    for r in rows:
        for c in r:
            if c not in seen:
                seen.append(c)
    return seen


def write_case(path: str | Path, settings: Mapping[str, Any], sheets: Mapping[str, Iterable[Mapping[str, Any]]]) -> Path:
    """Write `settings` (key -> value) and `sheets` (name -> rows as dicts) to `path`, atomically."""
    path = Path(path)
    wb = Workbook()
    ws = wb.active
    ws.title = "Settings"
    fill_sheet(ws, ["key", "value"], [{"key": k, "value": v} for k, v in settings.items()])
    for name, rows in sheets.items():
        rows = list(rows)
        fill_sheet(wb.create_sheet(name), _columns(name, rows), rows)
    return save_workbook(wb, path)


def fill_sheet(ws, columns: list[str], rows: Iterable[Mapping[str, Any]]) -> None:
    """Write a header row of `columns`, then one row per record; blanks stay empty, text stays text."""
    for j, c in enumerate(columns, start=1):
        ws.cell(row=1, column=j, value=c)
    for i, r in enumerate(rows, start=2):
        for j, c in enumerate(columns, start=1):
            if r.get(c) is not None:
                safe_cell(ws, i, j, r[c])


def save_workbook(wb: Workbook, path: str | Path) -> Path:
    """Save `wb` to `path` atomically (a failure never leaves a partial file), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, wb.save)
