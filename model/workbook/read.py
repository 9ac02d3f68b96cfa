"""Reading case workbooks safely: a planner's file may be broken in every way a spreadsheet can be.

`read_book` first has model.workbook.scan check the file, its archive and its XML
parts (what is not a workbook, zip bombs, XML entity tricks, sheets too large
for memory: each refused with a message, exit 2), then reads cell values with
python-calamine (a Rust reader, far faster than openpyxl here; it expands no
XML entity). Nothing in a workbook is ever run or fetched: a macro workbook
(.xlsm, or one holding a VBA project or Excel 4 macro sheets) is read for its
data with a warning.

What is read, and how:

- Cells showing an Excel error (#N/A, #DIV/0!) read as that text, so the
  reader reports them by cell rather than taking them for blanks.
- Hidden sheets, rows and columns are read like any others, with a warning
  naming the hidden rows and columns that hold data: a planner who hid rows
  to switch them off must learn that they still count (deleting them is the
  way to leave them out).
- Merged cells are an error in the header row and a warning elsewhere (only
  the top-left cell of a merged range keeps its value).
- Formulas saved without their value are listed by cell for the reader to report.
"""

from __future__ import annotations

import gc
import hashlib
import io
import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import python_calamine

from model.problems import Problems, UnreadableFile
from model.workbook.scan import (  # noqa: F401  (limits re-exported for callers of this module)
    MAX_BOOK_CELLS,
    MAX_SHEET_CELLS,
    MAX_UNPACKED_BYTES,
    PartScan,
    check_archive,
    check_extents,
    get_column_letter,
    read_bytes,
    scan_parts,
    sheet_parts,
)

_MACRO_SUFFIXES = (".xlsm", ".xltm")


@dataclass
class RawSheet:
    """One sheet as read: header cells, and the data rows' Excel row numbers and values column by column.

    Kept by column because a large sheet is read column by column; `rows` gives the same cells row by row.
    """

    name: str
    headers: list[str]  # trimmed header text per column position ('' when blank)
    numbers: list[int]  # Excel row number of each data row (rows with every cell blank are left out)
    columns: list[list] = field(default_factory=list)  # values per column position, one per data row; blank cells are None
    hidden: bool = False

    @cached_property
    def rows(self) -> list[tuple[int, list]]:
        """(Excel row number, values) per data row."""
        return list(zip(self.numbers, map(list, zip(*self.columns))))

    def has_values(self, col_index: int) -> bool:
        """Does any data row have a value in this column?"""
        return col_index < len(self.columns) and self.columns[col_index].count(None) < len(self.numbers)

    def letter(self, col_index: int) -> str:
        return get_column_letter(col_index + 1)


@dataclass
class RawBook:
    """Every sheet of a workbook, plus what the safety checks noticed."""

    path: Path
    sheets: dict[str, RawSheet]
    uncached_formulas: dict[str, list[str]] = field(default_factory=dict)  # sheet -> cells
    problems: Problems = field(default_factory=Problems)
    sha256: str = ""  # of the bytes that were read, so provenance names exactly what was solved


def _calamine_failed(exc: BaseException) -> bool:
    """Errors calamine raises for a damaged file; pyo3 panics derive from BaseException, not Exception."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector while a workbook is read, or a case checked or built (also as a
    decorator).

    Reading makes large trees of cells and records with no reference cycles, and the collector would only walk
    them again each time they grow by a quarter: a fifth of the time of a 100,000-row load. It runs afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@collector_paused()
def read_book(path: str | Path, wanted: set[str] | None = None) -> RawBook:
    """Read every sheet named in `wanted` (all sheets if None) as raw rows.

    Raises UnreadableFile when the file cannot be read at all.
    """
    path = Path(path)
    problems = Problems()
    data = read_bytes(path)
    with check_archive(path, data) as zf:
        scans = scan_parts(path, zf)
        parts = sheet_parts(zf)
        check_extents(path, zf, scans, parts, wanted)
        if path.suffix.lower() in _MACRO_SUFFIXES or any(
                n.lower().endswith("vbaproject.bin") or n.lower().startswith("xl/macrosheets/") for n in zf.namelist()):
            problems.warn("this workbook contains macros; minplan reads its data only and never runs them", path)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        meta = {m.name: m for m in book.sheets_metadata}
        names = [n for n in book.sheet_names if wanted is None or n in wanted]
    except BaseException as exc:
        if not _calamine_failed(exc):
            raise
        raise UnreadableFile(path, f"the file cannot be read as an Excel workbook ({exc}): it may be damaged; "
                                   "open it in Excel, which may repair it, and save it again") from None
    sheets: dict[str, RawSheet] = {}
    formulas: dict[str, list[str]] = {}
    for name in names:
        scan = scans.get(parts.get(name, ""), PartScan())
        sheets[name] = _read_sheet(path, book, name, meta.get(name), scan, problems)
        if scan.formulas:
            formulas[name] = scan.formulas
    return RawBook(path, sheets, formulas, problems, hashlib.sha256(data).hexdigest())


def _read_sheet(path: Path, book, name: str, meta, scan: PartScan, problems: Problems) -> RawSheet:
    try:
        sh = book.get_sheet_by_name(name)
        grid = sh.to_python(skip_empty_area=False)
        merged = sh.merged_cell_ranges or []
    except BaseException as exc:
        if not _calamine_failed(exc):
            raise
        raise UnreadableFile(path, f"sheet {name} cannot be read: its contents are damaged (the reader said: {exc}); "
                                   "open the file in Excel, which may repair it, and save it again") from None
    hidden = meta is not None and not str(meta.visible).endswith(".Visible")
    for (r, c), text in scan.errors.items():
        if r <= len(grid) and c <= len(grid[r - 1]):
            grid[r - 1][c - 1] = text
    for (r0, c0), (r1, c1) in merged:
        ref = f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1 + 1)}{r1 + 1}"
        if r0 == 0:
            problems.error("merged cells in the header row", path, f"{name}!{ref}", expected="one header per column: unmerge them")
        else:
            problems.warn("merged cells: only the top-left cell keeps its value, the others read as blank",
                          path, f"{name}!{ref}")
    if not grid:
        return RawSheet(name, [], [], [], hidden)
    headers = [h.strip() if isinstance(h, str) else str(h) for h in grid[0]]
    width = max(map(len, grid))
    body = grid[1:]
    if len(set(map(len, grid))) > 1:  # calamine's grid is rectangular; a ragged one is padded, to lose no cell
        body = [row + [""] * (width - len(row)) for row in body]
    columns = [_trimmed(cells) for cells in zip(*body)] if body else [[] for _ in range(width)]
    if any(None not in cells for cells in columns):  # a column filled in every row: no row is blank
        numbers = list(range(2, len(body) + 2))
    else:
        filled = [cells.count(None) < width for cells in zip(*columns)]
        numbers = [i for i, keep in enumerate(filled, start=2) if keep]
        if len(numbers) < len(body):  # rows with every cell blank are left out
            columns = [list(itertools.compress(cells, filled)) for cells in columns]
    sheet = RawSheet(name, headers, numbers, columns, hidden)
    _warn_hidden(path, scan, sheet, problems)
    return sheet


def _trimmed(cells: tuple) -> list:
    """One column's cells with text trimmed and blank text as None; numbers, dates and TRUE/FALSE as they are.

    Equal texts become one object: a column of names repeats a few names in every row, and the reader gives each
    cell its own string.
    """
    same: dict[str, str | None] = {"": None}  # text -> its first object; blank text reads as None
    try:
        out = list(map(str.strip, cells))  # a column of text, the usual case, at C speed
    except TypeError:  # numbers, dates or TRUE/FALSE among the cells
        if str not in set(map(type, cells)):
            return list(cells)
        return [same.setdefault(s, s) if (s := v.strip() if v.__class__ is str else None) is not None else v
                for v in cells]
    return list(map(same.setdefault, out, out))


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _warn_hidden(path: Path, scan: PartScan, sheet: RawSheet, problems: Problems) -> None:
    """Hidden rows and columns are read like any others; say which ones hold data."""
    name, headers = sheet.name, sheet.headers
    data_rows = [n for n in sheet.numbers if n in scan.hidden_rows] + ([1] if 1 in scan.hidden_rows and any(headers) else [])
    if data_rows:
        runs = _runs(data_rows)
        listed = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:10]) + (" and more" if len(runs) > 10 else "")
        problems.warn(f"hidden rows hold data ({'rows' if len(data_rows) > 1 else 'row'} {listed}); minplan reads "
                      "hidden rows like any others: unhide "
                      "them to see what is counted, or delete the rows you meant to leave out",
                      path, f"{name}!{runs[0][0]}:{runs[0][1]}")
    width = len(headers)  # calamine's grid is rectangular: no column beyond it holds data
    cols = [c for c in scan.hidden_cols if c <= width and (headers[c - 1] or sheet.has_values(c - 1))]
    if cols:
        runs = _runs(cols)
        listed = ", ".join(get_column_letter(a) if a == b else f"{get_column_letter(a)}-{get_column_letter(b)}"
                           for a, b in runs[:10])
        problems.warn(f"hidden columns hold data ({'columns' if len(cols) > 1 else 'column'} {listed}); "
                      "minplan reads hidden columns like any others",
                      path, f"{name}!{get_column_letter(runs[0][0])}:{get_column_letter(runs[0][1])}")
