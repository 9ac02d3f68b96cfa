"""Reading case workbooks safely.

Before any parser sees the file it is checked to be a zip of sane size, so a
zip bomb is refused with a message rather than a frozen machine. Cell values
are read with python-calamine (a Rust reader, about fifteen times faster than
openpyxl here and immune to XML entity tricks); the only XML parsed in Python
is the small scan for formulas saved without a value, through defusedxml.
Nothing in a workbook is ever run.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import python_calamine
from defusedxml import ElementTree as SafeET
from openpyxl.utils import get_column_letter

from model.problems import Problems, UnreadableFile

# Limits that keep a hostile or absurd file from exhausting the machine.
MAX_UNPACKED_BYTES = 512 * 2**20  # total uncompressed size of the archive
MAX_MEMBER_RATIO = 200  # compression ratio above which a large member is a bomb
RATIO_CHECK_MIN_BYTES = 16 * 2**20  # only members larger than this are ratio-checked
MAX_ZIP_MEMBERS = 10_000
MAX_SHEET_CELLS = 5_000_000  # cells in one sheet's used range

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class RawSheet:
    """One sheet as read: header cells and data rows with their Excel row numbers."""

    name: str
    headers: list[str]  # trimmed header text per column position ('' when blank)
    rows: list[tuple[int, list]]  # (excel row number, values); blank cells are None
    hidden: bool = False

    def letter(self, col_index: int) -> str:
        return get_column_letter(col_index + 1)


@dataclass
class RawBook:
    """Every sheet of a workbook, plus what the safety checks noticed."""

    path: Path
    sheets: dict[str, RawSheet]
    uncached_formulas: dict[str, list[str]] = field(default_factory=dict)  # sheet -> cells
    problems: Problems = field(default_factory=Problems)


def check_archive(path: Path) -> zipfile.ZipFile:
    """Open `path` as an xlsx archive after checking it is one and is of sane size."""
    if not path.exists():
        raise UnreadableFile(path, f"file not found: {path}")
    if path.is_dir():
        raise UnreadableFile(path, f"{path} is a folder, not an Excel workbook")
    suffix = path.suffix.lower()
    how = "open it in Excel or LibreOffice and save it as 'Excel Workbook (.xlsx)'"
    if suffix in (".xls", ".ods", ".csv", ".txt", ".tsv"):
        raise UnreadableFile(path, f"{path.name} is a {suffix} file; minplan reads .xlsx workbooks: {how}")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise UnreadableFile(path, f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(_OLE_MAGIC):
        raise UnreadableFile(
            path,
            f"{path.name} is a password-protected workbook or a legacy .xls file: "
            f"remove the password (File > Info > Protect Workbook) or {how}",
        )
    if not zipfile.is_zipfile(path):
        raise UnreadableFile(path, f"{path.name} is not an Excel workbook (.xlsx): {how}")
    try:
        zf = zipfile.ZipFile(path)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnreadableFile(path, f"{path.name} is damaged and cannot be opened ({exc})") from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UnreadableFile(path, f"{path.name} holds {len(infos)} parts; an Excel workbook holds far fewer: refusing it")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise UnreadableFile(
            path,
            f"{path.name} would unpack to {total / 2**20:,.0f} MiB, over minplan's limit of "
            f"{MAX_UNPACKED_BYTES / 2**20:,.0f} MiB: refusing it (a case workbook is a few MiB)",
        )
    for i in infos:
        if i.file_size > RATIO_CHECK_MIN_BYTES and i.file_size > MAX_MEMBER_RATIO * max(i.compress_size, 1):
            raise UnreadableFile(
                path,
                f"{path.name}: part {i.filename} is compressed {i.file_size // max(i.compress_size, 1):,} to 1, "
                "the mark of a zip bomb: refusing it",
            )
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise UnreadableFile(path, f"{path.name} is a zip archive but not an Excel workbook: {how}")
    return zf


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Map sheet name -> worksheet part path inside the archive."""
    rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {}
    for rel in rels:
        t = rel.get("Target", "")
        t = t.lstrip("/") if t.startswith("/") else str(PurePosixPath("xl") / t)
        target[rel.get("Id")] = t
    wb = SafeET.fromstring(zf.read("xl/workbook.xml"))
    out = {}
    for sh in wb.iter(f"{_NS}sheet"):
        rid = sh.get(f"{_REL_NS}id")
        if rid in target:
            out[sh.get("name")] = target[rid]
    return out


_FORMULA_HINT = re.compile(rb"<(?:\w+:)?f[ >/]")


def uncached_formulas(zf: zipfile.ZipFile, wanted: set[str]) -> dict[str, list[str]]:
    """Cells holding a formula saved without its value, per sheet (only sheets in `wanted`)."""
    out: dict[str, list[str]] = {}
    try:
        parts = _sheet_parts(zf)
    except (KeyError, SafeET.ParseError):
        return out
    for name, part in parts.items():
        if name not in wanted or part not in zf.namelist():
            continue
        data = zf.read(part)
        if not _FORMULA_HINT.search(data):
            continue
        cells = []
        for _, el in SafeET.iterparse(_BytesReader(data), events=("end",)):
            if el.tag == f"{_NS}c":
                f = el.find(f"{_NS}f")
                v = el.find(f"{_NS}v")
                if f is not None and (v is None or v.text in (None, "")):
                    cells.append(el.get("r", "?"))
                el.clear()
        if cells:
            out[name] = cells
    return out


class _BytesReader:
    """A minimal file-like wrapper so iterparse can read bytes already in memory."""

    def __init__(self, data: bytes):
        import io

        self._buf = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._buf.read(n)


def _clean(v):
    if isinstance(v, str):
        v = v.strip()
        return v if v else None
    return v


def read_book(path: str | Path, wanted: set[str] | None = None) -> RawBook:
    """Read every sheet named in `wanted` (all sheets if None) as raw rows.

    Raises UnreadableFile when the file cannot be read at all.
    """
    path = Path(path)
    problems = Problems()
    zf = check_archive(path)
    with zf:
        if any(n.lower().endswith("vbaproject.bin") for n in zf.namelist()) or path.suffix.lower() == ".xlsm":
            problems.warn(
                "this workbook contains macros; minplan reads its data only and never runs them", path
            )
        try:
            book = python_calamine.CalamineWorkbook.from_filelike(open(path, "rb"))
        except Exception as exc:  # calamine raises its own error types for damaged files
            raise UnreadableFile(path, f"{path.name} cannot be read as an Excel workbook ({exc})") from None
        meta = {m.name: m for m in book.sheets_metadata}
        names = [n for n in book.sheet_names if wanted is None or n in wanted]
        sheets: dict[str, RawSheet] = {}
        for name in names:
            sheets[name] = _read_sheet(path, book, name, meta.get(name), problems)
        formulas = uncached_formulas(zf, set(names))
    return RawBook(path, sheets, formulas, problems)


def _read_sheet(path: Path, book, name: str, meta, problems: Problems) -> RawSheet:
    try:
        sh = book.get_sheet_by_name(name)
    except Exception as exc:  # calamine raises its own error types
        raise UnreadableFile(path, f"sheet {name} of {path.name} cannot be read ({exc})") from None
    hidden = meta is not None and str(meta.visible).endswith("Visible") is False
    cells = sh.total_height * max(sh.width, 1)
    if cells > MAX_SHEET_CELLS:
        raise UnreadableFile(
            path,
            f"sheet {name} spans {sh.total_height:,} rows by {sh.width} columns, over minplan's limit of "
            f"{MAX_SHEET_CELLS:,} cells: delete the unused rows and columns (select them, Delete) and save",
        )
    grid = sh.to_python(skip_empty_area=False)
    for (r0, c0), (r1, c1) in sh.merged_cell_ranges or []:
        ref = f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1 + 1)}{r1 + 1}"
        if r0 == 0:
            problems.error("merged cells in the header row", path, f"{name}!{ref}", expected="one header per column: unmerge them")
        else:
            problems.warn(
                "merged cells: only the top-left cell keeps its value, the others read as blank",
                path,
                f"{name}!{ref}",
            )
    if not grid:
        return RawSheet(name, [], [], hidden)
    headers = [str(_clean(h) or "") if not isinstance(h, float) else str(h) for h in grid[0]]
    rows = []
    for i, row in enumerate(grid[1:], start=2):
        vals = [_clean(v) for v in row]
        if any(v is not None for v in vals):
            rows.append((i, vals))
    return RawSheet(name, headers, rows, hidden)
