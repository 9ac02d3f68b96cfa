"""Writing plain tables to output workbooks (result, compare, sweep): header at A1, one record per row.

Every table sheet has the same shape so that people and the comparison
command read it the same way: a bold, frozen header row at A1 with an
autofilter, records below, nothing else, and a page setup that prints it
readably (landscape, fit to the page width, the header row repeated on every
page). Notes go in cell comments on the header. A table longer than Excel's
row limit continues on sheets named `<name>_2`, `<name>_3`, ... with the same
header, and the first sheet's A1 comment says so.

Written with XlsxWriter in constant-memory mode: each row goes to disk as it
is written, with native charts. A table's records are rendered a column at a
time into exactly the cell XML XlsxWriter would write cell by cell
(`_stream_rows`; tests/test_stream_rows.py compares the two), which is what
makes a million cells take seconds (benchmarks/bench_write.py). Text is
always written as text (an inline string), never as a formula, whatever it
starts with.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name

from model.workbook.outfile import safe_value

EXCEL_MAX_ROWS = 1_048_576  # rows per sheet in Excel, header included
MAX_SHEET_NAME = 31
AUTHOR = "minplan"
WIDTH_SAMPLE = 200  # rows looked at to size the columns
MIN_WIDTH, MAX_WIDTH = 8, 60
ROW_POINTS = 15  # height of one line of text in a row, in points (Excel's default row)
INTEGER_FROM = 100  # tonnes columns whose largest value reaches this are shown without decimals

WHOLE, TWO_DECIMALS = "#,##0", "#,##0.00"
# Number formats chosen from a column's name; the first matching rule wins. "tonnes" is decided from the values.
FORMATS: tuple[tuple[str, str], ...] = (
    ("t_per_t", "0.0000"),  # yields as small as 1e-4 t/t must stay visible
    ("year", "0"),
    ("_row", "0"),
    ("share", "0.0%"),
    ("probability", "0.0%"),
    ("gap", "0.00%"),
    ("marginal_value", "#,##0.000"),
    ("usd_per_t", WHOLE),
    ("musd", TWO_DECIMALS),
    ("_tpy", "tonnes"),
    ("_t", "tonnes"),
    ("_s", "0.00"),
)
COUNTS = ("scenarios", "rows_changed", "projects_funded", "variants", "runs", "count")

OPTIONS = {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
           "strings_to_urls": False, "nan_inf_to_errors": False}


def number_format(column: str, values: Any = None) -> str | None:
    """The number format for a column, from its name (units are in the names) and, for tonnes, its size."""
    name = column.lower()
    for key, fmt in FORMATS:
        hit = name.endswith(key) if key in ("_t", "_tpy", "_s", "_row") else key in name
        if hit:
            return tonnes_format(values) if fmt == "tonnes" else fmt
    if name in COUNTS or name.endswith(tuple("_" + c for c in COUNTS)):
        return WHOLE
    return None


def tonnes_format(values: Any = None) -> str:
    """Whole tonnes when the column reaches INTEGER_FROM, two decimals for small quantities."""
    if values is None:
        return WHOLE
    nums = pd.to_numeric(pd.Series(values), errors="coerce").abs()
    top = nums.max() if len(nums) else float("nan")
    return WHOLE if not pd.notna(top) or top >= INTEGER_FROM or top == 0 else TWO_DECIMALS


@dataclass
class TableNotes:
    """What the writer had to do to fit Excel, for the Summary and the Manifest."""

    splits: dict[str, list[str]] = field(default_factory=dict)  # table -> sheets it was written to


# zlib level of the saved package. XlsxWriter zips at zlib's default (6) and has no option for it; at 1 a table of
# a million cells is saved in 1.6 s of CPU against 2.8 s, in a file about a fifth larger (12.4 MB against 10.2 MB).
ZIP_LEVEL = 1
_ZIP_LOCK = threading.Lock()


@contextlib.contextmanager
def _zip_level(level: int):
    """XlsxWriter's package written at `level`: its Workbook opens the archive through the module's ZipFile name."""
    with _ZIP_LOCK:
        plain = xlsxwriter.workbook.ZipFile
        xlsxwriter.workbook.ZipFile = functools.partial(plain, compresslevel=level)
        try:
            yield
        finally:
            xlsxwriter.workbook.ZipFile = plain


class Book:
    """An output workbook being written: XlsxWriter in constant-memory mode, with its formats made once."""

    def __init__(self, constant_memory: bool = True):
        self.constant_memory = constant_memory
        self.wb = xlsxwriter.Workbook(None, {**OPTIONS, "constant_memory": constant_memory})
        self._formats: dict[tuple, Any] = {}

    def format(self, num_format: str | None = None, bold: bool = False, fill: str | None = None, wrap: bool = False):
        key = (num_format, bold, fill, wrap)
        if key not in self._formats:
            props: dict[str, Any] = {}
            if num_format:
                props["num_format"] = num_format
            if bold:
                props["bold"] = True
            if fill:
                props.update(pattern=1, bg_color=fill)
            if wrap:
                props.update(text_wrap=True, valign="top")
            self._formats[key] = self.wb.add_format(props) if props else None
        return self._formats[key]

    def sheet(self, name: str):
        return self.wb.add_worksheet(sheet_title(name))

    def save(self, path: str | Path) -> None:
        self.wb.filename = str(path)
        with _zip_level(ZIP_LEVEL):
            self.wb.close()

    def discard(self) -> None:
        """Close and delete the temporary files the sheets stream to, when the workbook will not be saved."""
        for ws in self.wb.worksheets():
            fh, name = getattr(ws, "row_data_fh", None), getattr(ws, "row_data_filename", None)
            with contextlib.suppress(Exception):
                if fh is not None:
                    fh.close()
            if name:
                with contextlib.suppress(OSError):
                    os.unlink(name)
            ws.row_data_fh, ws.row_data_filename = None, None
        self.wb.fileclosed = True  # nothing to save: no warning on garbage collection


def sheet_title(name: str) -> str:
    """A valid sheet name: no []:*?/\\ and at most 31 characters."""
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    return name[:MAX_SHEET_NAME]


COLUMNS_PER_PAGE = 20  # a wider table prints on more pages across, its first column repeated, still legible


def print_setup(ws, header_rows: int = 1, columns: int = 0) -> None:
    """Landscape, fit to the page width (as many pages down as needed), the header row on every page.

    A table of more than COLUMNS_PER_PAGE columns is spread over several pages across instead, so its numbers
    stay legible.
    """
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(max(1, -(-columns // COLUMNS_PER_PAGE)), 0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    if header_rows:
        ws.repeat_rows(0, header_rows - 1)
    ws.set_footer("&L&A&R&P / &N")


def write_table(
    book: Book,
    name: str,
    df: pd.DataFrame,
    *,
    notes: TableNotes,
    comment: str = "",
    column_docs: dict[str, str] | None = None,
    max_rows: int = EXCEL_MAX_ROWS,
    formats: dict[str, str] | None = None,
    fills: dict[tuple[int, int], str] | None = None,
) -> list:
    """Write `df` to sheet `name`, continuing on more sheets when too long; return the worksheets written.

    `formats` overrides number formats by column; `fills` shades cells (record row, column index) with a colour.
    """
    per_sheet = max(1, max_rows - 1)
    n = len(df)
    chunks = max(1, -(-n // per_sheet))
    out = []
    for i in range(chunks):
        title = name if i == 0 else sheet_title(f"{name[:MAX_SHEET_NAME - 4]}_{i + 1}")
        ws = book.sheet(title)
        part = df.iloc[i * per_sheet:(i + 1) * per_sheet]
        text = comment
        if chunks > 1:
            text = _split_note(name, ws.name, i, chunks, i * per_sheet, len(part), n) + ("\n" + comment if comment else "")
        _write_sheet(book, ws, part, text, column_docs or {}, formats or {}, fills or {}, i * per_sheet)
        out.append(ws)
    if chunks > 1:
        notes.splits[name] = [ws.name for ws in out]
    return out


def _split_note(name: str, title: str, i: int, chunks: int, first: int, count: int, total: int) -> str:
    return (f"{name} has {total:,} rows, more than one Excel sheet holds: rows {first + 1:,} to {first + count:,} "
            f"are on {title} (part {i + 1} of {chunks}); the parts share this header.")


def _write_sheet(book: Book, ws, df: pd.DataFrame, comment: str, docs: dict[str, str], formats: dict[str, str],
                 fills: dict[tuple[int, int], str], offset: int) -> None:
    columns = [str(c) for c in df.columns]
    for j, width in enumerate(_widths(df)):
        ws.set_column(j, j, width)
    ws.freeze_panes(1, 0)
    print_setup(ws, columns=len(columns))
    bold = book.format(bold=True)
    for j, col in enumerate(columns):
        ws.write_string(0, j, col, bold)
        text = "\n".join(t for t in ((comment if j == 0 else ""), docs.get(col, "")) if t)
        if text:
            _comment(ws, 0, j, text)
    if columns:
        ws.autofilter(0, 0, max(1, len(df)), len(columns) - 1)
    fmts = [formats.get(c) or number_format(c, df[c].head(WIDTH_SAMPLE * 50)) for c in columns]
    cells = [book.format(f) for f in fmts]
    values = [_column_values(df[c]) for c in df.columns]
    if not fills and book.constant_memory and len(df):
        numeric = [not pd.api.types.is_bool_dtype(df[c]) and pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
        _stream_rows(ws, values, cells, numeric)
        return
    writers = [_writer(ws, df[c]) for c in df.columns]
    fill_formats = {k: book.format(fmts[k[1]], fill=colour) for k, colour in fills.items()}
    for i, row in enumerate(zip(*values), start=1):
        for j, value in enumerate(row):
            if value is not None:
                fmt = fill_formats.get((offset + i - 1, j), cells[j]) if fill_formats else cells[j]
                writers[j](i, j, value, fmt)
            elif fill_formats and (offset + i - 1, j) in fill_formats:
                ws.write_blank(i, j, None, fill_formats[(offset + i - 1, j)])


STREAM_CHUNK = 20_000  # rows rendered at a time by _stream_rows


def _stream_rows(ws, values: list[list], cells: list, numeric: list[bool]) -> None:
    """Rows 2.. of a table, as the same XML XlsxWriter's constant-memory mode writes cell by cell, rendered a
    column at a time: several times faster for large tables (benchmarks/bench_write.py).

    Numbers as `<v>` with XlsxWriter's `.16G`, booleans as `t="b"`, dates as ISO text, and everything else as
    inline text (`t="inlineStr"`, escaped by XlsxWriter's own escapers), never as a formula. The header row (row
    1) is flushed first and the sheet's dimensions are set, so XlsxWriter goes on with the sheet as if it had
    written the rows itself (autofilter, comments, charts and the page setup are XlsxWriter's as before).
    """
    n = len(values[0])
    ws._write_single_row(1)  # the header row, still pending in XlsxWriter's one-row buffer
    letters = [xl_col_to_name(j) for j in range(len(values))]
    # XlsxWriter numbers a format when a cell first uses it, row by row: number them in that same order
    first = [next((i for i, v in enumerate(col) if v is not None), n) for col in values]
    for j in sorted(range(len(cells)), key=lambda j: (first[j], j)):
        if cells[j] is not None and first[j] < n:
            cells[j]._get_xf_index()
    styles = [f' s="{c._get_xf_index()}"' if c is not None else "" for c in cells]
    def text(value: str) -> str:
        escaped = ws._escape_control_characters(value)  # XlsxWriter's order: control characters first
        space = ' xml:space="preserve"' if _preserve_whitespace(escaped) else ""
        return f' t="inlineStr"><is><t{space}>{ws._escape_data(escaped)}</t></is></c>'

    def cell(value: Any, style: str) -> str | None:
        """The part of a cell after its reference; None for an empty cell."""
        if value is None:
            return None
        if isinstance(value, bool):
            return f'{style} t="b"><v>{int(value)}</v></c>'
        if isinstance(value, (int, float)):
            return f"{style}><v>{value:.16G}</v></c>"
        if isinstance(value, (dt.datetime, dt.date)):
            return style + text(value.isoformat())
        return style + text(str(value))

    def render(col: list, style: str, number_column: bool) -> list:
        if number_column:  # Python ints and floats, None where blank (_column_values)
            number = style + "><v>{:.16G}</v></c>"
            return [None if v is None else number.format(v) for v in col]
        memo: dict[str, str | None] = {}  # a text column repeats a few names many times: render each once

        def once(v: Any) -> str | None:
            if v.__class__ is not str:
                return cell(v, style)
            if v not in memo:
                memo[v] = cell(v, style)
            return memo[v]
        return [once(v) for v in col]

    fh, last_row = ws.fh, None
    for lo in range(0, n, STREAM_CHUNK):
        hi = min(n, lo + STREAM_CHUNK)
        rendered = [render(col[lo:hi], style, num) for col, style, num in zip(values, styles, numeric)]
        out = []
        for i, row in enumerate(zip(*rendered), start=lo + 2):
            r = str(i)
            body = "".join(f'<c r="{a}{r}"{c}' for a, c in zip(letters, row) if c is not None)
            if body:  # XlsxWriter writes no element for a row without cells
                out.append(f'<row r="{r}">{body}</row>')
                last_row = i - 1
        fh.write("".join(out))
    if last_row is not None:  # the sheet's extent, as XlsxWriter keeps it from the cells written
        ws._check_dimensions(last_row, 0, ignore_col=True)  # the header row already spans every column
        ws.previous_row = last_row  # the rows are on disk: XlsxWriter's one-row buffer starts after them


def _writer(ws, series: pd.Series):
    """The fastest safe writer for a column's values: numbers as numbers, everything else by its type."""
    if pd.api.types.is_bool_dtype(series):
        return ws.write_boolean
    if pd.api.types.is_integer_dtype(series) or pd.api.types.is_float_dtype(series):
        return ws.write_number
    return lambda r, c, v, f=None: write_value(ws, r, c, v, f)


def write_value(ws, row: int, col: int, value: Any, fmt=None) -> None:
    """One cell by the value's type; text is always text, never a formula."""
    value = safe_value(value)
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, (dt.datetime, dt.date)):
        ws.write_string(row, col, value.isoformat(), fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _column_values(series: pd.Series) -> list:
    """The column as plain Python values, missing as None, safe for a cell."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        if series.hasnans:  # nullable integers and booleans: pd.NA is no number
            return [None if pd.isna(v) else v for v in series.tolist()]
        return series.tolist()
    if pd.api.types.is_float_dtype(series):
        return [v if math.isfinite(v) else None for v in series.tolist()]
    seen: dict[str, Any] = {}  # text columns repeat a few names many times: clean each distinct text once
    out = []
    for v in series.tolist():
        if v.__class__ is str:
            clean = seen.get(v)
            if clean is None:
                clean = seen[v] = safe_value(v)
            out.append(clean)
        else:
            out.append(safe_value(v))
    return out


def _comment(ws, row: int, col: int, text: str) -> None:
    lines = text.count("\n") + 1 + len(text) // 50
    ws.write_comment(row, col, text, {"author": AUTHOR, "width": 320, "height": min(400, 20 + 16 * lines)})


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


def key_value_sheet(book: Book, ws, rows: list[tuple], header: tuple[str, ...], comment: str = "",
                    formats: list | None = None) -> None:
    """Write a small key/value table (Summary, Manifest) with per-row number formats."""
    df = pd.DataFrame(rows, columns=list(header))
    for j, width in enumerate(_widths(df)):
        ws.set_column(j, j, width)
    ws.freeze_panes(1, 0)
    print_setup(ws)
    bold = book.format(bold=True)
    for j, h in enumerate(header):
        ws.write_string(0, j, h, bold)
    if comment:
        _comment(ws, 0, 0, comment)
    ws.autofilter(0, 0, max(1, len(rows)), len(header) - 1)
    # A text longer than its column (a Summary's "if…" line runs to a thousand characters) wraps inside the
    # column, so that the sheet prints at a readable size instead of shrinking to fit the overflowing text.
    wrap = book.format(wrap=True)
    limits = _widths(df)
    for i, row in enumerate(rows, start=1):
        fmt = formats[i - 1] if formats else None
        lines = max([1] + [-(-len(v) // max(1, int(limits[j] - 2))) + v.count("\n")
                           for j, v in enumerate(row) if isinstance(v, str)])
        if lines > 1:  # a wrapped text's row is as tall as its lines: viewers do not grow it on opening
            ws.set_row(i, min(409, ROW_POINTS * lines))
        for j, v in enumerate(row):
            v = safe_value(v)
            numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
            if numeric:  # top-aligned, as the texts beside it, in a row made tall for a wrapped text
                write_value(ws, i, j, v, book.format(fmt, wrap=True) if lines > 1 else book.format(fmt) if fmt else None)
            else:
                write_value(ws, i, j, v, wrap if isinstance(v, str) and (lines > 1 or len(v) > limits[j] - 2) else None)
