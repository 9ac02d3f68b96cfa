"""Writing one plain table to result sheets: header at A1, one record per row.

Every table sheet of a result workbook has the same shape so that people and
the comparison command read it the same way: a bold, frozen header row at A1,
records below, nothing else. Notes go in cell comments on the header. A table
longer than Excel's row limit continues on sheets named `<name>_2`, `<name>_3`,
... with the same header, and the first sheet's A1 comment says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter

from model.workbook.outfile import is_formula_like, out_cell, safe_value

EXCEL_MAX_ROWS = 1_048_576  # rows per sheet in Excel, header included
MAX_SHEET_NAME = 31
AUTHOR = "minplan"
WIDTH_SAMPLE = 200  # rows looked at to size the columns
MIN_WIDTH, MAX_WIDTH = 8, 60

# Number formats chosen from a column's name; the first matching rule wins.
FORMATS: tuple[tuple[str, str], ...] = (
    ("t_per_t", "General"),  # yields as small as 1e-4 t/t must stay visible
    ("year", "0"),
    ("_row", "0"),
    ("share", "0.0%"),
    ("probability", "0.0%"),
    ("gap", "0.00%"),
    ("marginal_value", "#,##0.000"),
    ("usd_per_t", "#,##0"),
    ("musd", "#,##0.00"),
    ("_tpy", "#,##0.0##"),
    ("_t", "#,##0.0##"),
    ("_s", "0.00"),
)


def number_format(column: str) -> str | None:
    """The number format for a column, from its name (units are in the names)."""
    name = column.lower()
    for key, fmt in FORMATS:
        if key in ("_t", "_tpy", "_s", "_row"):
            if name.endswith(key):
                return fmt
        elif key in name:
            return fmt
    return None


@dataclass
class TableNotes:
    """What the writer had to do to fit Excel, for the Summary and the Manifest."""

    splits: dict[str, list[str]] = field(default_factory=dict)  # table -> sheets it was written to


def sheet_title(name: str) -> str:
    """A valid sheet name: no []:*?/\\ and at most 31 characters."""
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    return name[:MAX_SHEET_NAME]


def write_table(
    wb,
    name: str,
    df: pd.DataFrame,
    *,
    notes: TableNotes,
    comment: str = "",
    column_docs: dict[str, str] | None = None,
    max_rows: int = EXCEL_MAX_ROWS,
    sheet=None,
) -> list:
    """Write `df` to sheet `name` (created unless `sheet` is given), continuing on more sheets when too long.

    Returns the worksheets written, in order.
    """
    per_sheet = max(1, max_rows - 1)
    n = len(df)
    chunks = max(1, -(-n // per_sheet))
    sheets = []
    for i in range(chunks):
        title = name if i == 0 else sheet_title(f"{name[:MAX_SHEET_NAME - 4]}_{i + 1}")
        ws = sheet if (i == 0 and sheet is not None) else wb.create_sheet(title)
        part = df.iloc[i * per_sheet:(i + 1) * per_sheet]
        text = comment
        if chunks > 1:
            text = _split_note(name, ws.title, i, chunks, i * per_sheet, len(part), n) + ("\n" + comment if comment else "")
        _write_sheet(ws, part, text, column_docs or {})
        sheets.append(ws)
    if chunks > 1:
        notes.splits[name] = [ws.title for ws in sheets]
    return sheets


def _split_note(name: str, title: str, i: int, chunks: int, first: int, count: int, total: int) -> str:
    return (f"{name} has {total:,} rows, more than one Excel sheet holds: rows {first + 1:,} to {first + count:,} "
            f"are on {title} (part {i + 1} of {chunks}); the parts share this header.")


def _write_sheet(ws, df: pd.DataFrame, comment: str, docs: dict[str, str]) -> None:
    columns = [str(c) for c in df.columns]
    for j, width in enumerate(_widths(df), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"
    header = []
    for j, col in enumerate(columns):
        cell = out_cell(ws, col, bold=True)
        text = "\n".join(t for t in ((comment if j == 0 else ""), docs.get(col, "")) if t)
        if text:
            cell.comment = _comment(text)
        header.append(cell)
    ws.append(header)
    # One styled cell per column, refilled for every row: openpyxl writes each appended row at once, so
    # reusing the cells is safe, and it is several times faster than a new styled cell per value.
    cells = [WriteOnlyCell(ws) for _ in columns]
    for cell, col in zip(cells, columns):
        fmt = number_format(col)
        if fmt:
            cell.number_format = fmt
    for row in zip(*(_column_values(df[c]) for c in df.columns)):
        ws.append(_fill(cells, row))


def _column_values(series: pd.Series) -> list:
    """The column as plain Python values, missing as None, safe for a cell."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        return series.tolist()
    if pd.api.types.is_float_dtype(series):
        return [v if math.isfinite(v) else None for v in series.tolist()]
    return [safe_value(v) for v in series.tolist()]


def _fill(cells: list, row: tuple) -> list:
    out = []
    for cell, value in zip(cells, row):
        if value is None:
            out.append(None)
            continue
        cell.value = value
        if is_formula_like(value):
            cell.data_type = "s"
        out.append(cell)
    return out


def _comment(text: str) -> Comment:
    lines = text.count("\n") + 1 + len(text) // 50
    c = Comment(text, AUTHOR)
    c.width, c.height = 320, min(400, 20 + 16 * lines)
    return c


def _widths(df: pd.DataFrame) -> list[float]:
    sample = df.head(WIDTH_SAMPLE)
    widths = []
    for col in df.columns:
        longest = max([len(str(col))] + [len(_shown(v)) for v in sample[col]])
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))))
    return widths


def _shown(value: Any) -> str:
    value = safe_value(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def key_value_sheet(ws, rows: list[tuple], header: tuple[str, ...], comment: str = "", formats: list | None = None) -> None:
    """Write a small key/value table (Summary, Manifest) with per-row number formats."""
    df = pd.DataFrame(rows, columns=list(header))
    for j, width in enumerate(_widths(df), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"
    cells = [out_cell(ws, h, bold=True) for h in header]
    if comment:
        cells[0].comment = _comment(comment)
    ws.append(cells)
    for i, row in enumerate(rows):
        fmt = formats[i] if formats else None
        ws.append([out_cell(ws, v, fmt) for v in row])
