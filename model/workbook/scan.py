"""Checking a workbook file before any parser reads it: the file, its zip archive and its XML parts.

Each check ends in a planner-facing UnreadableFile (exit 2), never a traceback
or a frozen machine:

- Not a workbook (CSV, a web page, PDF, .xls, .ods, .xlsb, empty, truncated,
  password-protected): judged from the bytes, not only the name, with a
  message saying how to save the file as .xlsx.
- Zip bombs: the archive's directory is checked before anything is unpacked
  (declared total size, compression ratio, number of parts, compression
  methods, duplicate names). Declared sizes are binding: Python's zip reader
  and calamine's both refuse a part that unpacks to more than it declares.
- XML tricks (entity expansion, external entities): a part whose prolog holds
  a DOCTYPE is refused before it is parsed; Excel never writes one. Beyond
  that, calamine expands no entity and the parts parsed in Python go through
  defusedxml. Parts that are not UTF-8, and a shared-strings part declaring
  more texts than it could hold (calamine reserves memory for them all), are
  refused too.
- Huge sheets: calamine allocates the whole rectangle from A1 to a sheet's
  furthest cell, so each sheet's extent is measured in its XML first and a
  sheet over MAX_SHEET_CELLS (or a book over MAX_BOOK_CELLS) is refused. A
  lying <dimension> is ignored, as calamine ignores it.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from model.problems import UnreadableFile

# Limits that keep a hostile or absurd file from exhausting the machine.
MAX_UNPACKED_BYTES = 512 * 2**20  # total uncompressed size of the archive
MAX_MEMBER_RATIO = 200  # compression ratio above which a large member is a bomb
RATIO_CHECK_MIN_BYTES = 16 * 2**20  # only members larger than this are ratio-checked
MAX_ZIP_MEMBERS = 10_000
MAX_SHEET_CELLS = 5_000_000  # cells from A1 to a sheet's furthest cell
MAX_BOOK_CELLS = 20_000_000  # the same, summed over the sheets read
EXACT_BELOW_BYTES = 2**20  # sheets smaller than this get an exact extent at once; larger ones a bound first

HOW_TO_SAVE = "open it in Excel or LibreOffice and save it as 'Excel Workbook (.xlsx)'"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XML_SUFFIXES = (".xml", ".rels", ".vml")
_OTHER_FORMATS = {".xls": "a legacy Excel 97-2003 workbook (.xls)", ".ods": "an OpenDocument spreadsheet (.ods)",
                  ".csv": "a CSV text file", ".txt": "a text file", ".tsv": "a tab-separated text file",
                  ".xlsb": "an Excel binary workbook (.xlsb)", ".numbers": "an Apple Numbers file"}


def get_column_letter(n: int) -> str:
    """Excel's letters for 1-based column `n` (1 -> A, 27 -> AA); openpyxl's import cost is not worth it here."""
    letters = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


@dataclass
class PartScan:
    """What the scan of one worksheet's XML found, before calamine reads it."""

    rows: int = 0  # extent from A1 to the furthest cell (an upper bound when not exact)
    cols: int = 0
    exact: bool = True
    formulas: list[str] = field(default_factory=list)  # cells with a formula saved without its value
    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col), 1-based -> '#N/A'
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)


# ---------------------------------------------------------------- the file and its archive


def _sniff(data: bytes) -> str | None:
    """What a file that is not a zip archive is, in a planner's words (None: it may be a zip)."""
    if not data:
        return "the file is empty (0 bytes), perhaps saved or copied only in part: save the workbook again as .xlsx"
    if data.startswith(_OLE_MAGIC):
        return _ole_kind(data)
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return None
    if data.startswith(b"%PDF"):
        return f"this is a PDF document, not an Excel workbook: {HOW_TO_SAVE}"
    head = data[:4096]
    text = head.replace(b"\x00", b"").removeprefix(b"\xef\xbb\xbf").lstrip(b"\xff\xfe \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<table" in text[:2048]:
        return f"this is a web page (HTML), not an Excel workbook, whatever its name says: {HOW_TO_SAVE}"
    if text.startswith(b"<?xml") and b"urn:schemas-microsoft-com:office:spreadsheet" in text:
        return f"this is an Excel 2003 XML spreadsheet, not an .xlsx workbook: {HOW_TO_SAVE}"
    sample = head[:1024]
    if b"\x00" not in sample and sum(32 <= c < 127 or c in b"\t\r\n" or c >= 0x80 for c in sample) == len(sample):
        return f"this is plain text (CSV or similar), not an Excel workbook, whatever its name says: {HOW_TO_SAVE}"
    return f"this is not an Excel workbook (.xlsx): {HOW_TO_SAVE}"


def _ole_kind(data: bytes) -> str:
    """Tell an encrypted .xlsx from a legacy .xls: both are OLE containers; stream names are UTF-16."""
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        return ("this workbook is password-protected (encrypted), so it cannot be read: open it in Excel, remove "
                "the password (File > Info > Protect Workbook > Encrypt with Password) and save it as .xlsx")
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return f"this is a legacy Excel 97-2003 workbook (.xls), whatever its name says: {HOW_TO_SAVE}"
    return ("this is a password-protected workbook or a legacy .xls file: remove the password "
            f"(File > Info > Protect Workbook) or {HOW_TO_SAVE}")


def read_bytes(path: Path) -> bytes:
    """The file's bytes, after checking it is a readable regular file of plausible size and name."""
    try:
        path.stat()
    except FileNotFoundError:
        raise UnreadableFile(path, f"file not found: {path}") from None
    except OSError as exc:  # a name too long, a loop of symbolic links, a folder that cannot be entered
        raise UnreadableFile(path, f"cannot read {path}: {exc.strerror or exc}") from None
    if path.is_dir():
        raise UnreadableFile(path, f"{path} is a folder, not an Excel workbook: give the path of the .xlsx file")
    if not path.is_file():
        raise UnreadableFile(path, f"{path} is not a regular file (a device or a pipe?): give the path of an .xlsx file")
    suffix = path.suffix.lower()
    if suffix in _OTHER_FORMATS:
        raise UnreadableFile(path, f"this is {_OTHER_FORMATS[suffix]}; minplan reads .xlsx workbooks: {HOW_TO_SAVE}")
    try:
        size = path.stat().st_size
        if size > MAX_UNPACKED_BYTES:
            raise UnreadableFile(path, f"the file is {size / 2**20:,.0f} MiB, over minplan's limit of "
                                       f"{MAX_UNPACKED_BYTES / 2**20:,.0f} MiB: refusing it (a case workbook is a few MiB)")
        with open(path, "rb") as fh:
            return fh.read(MAX_UNPACKED_BYTES + 1)
    except OSError as exc:
        raise UnreadableFile(path, f"cannot read {path}: {exc.strerror or exc}") from None


def check_archive(path: Path, data: bytes | None = None) -> zipfile.ZipFile:
    """Open `path` (or its bytes, `data`) as an xlsx archive after checking it is one and is of sane size."""
    data = read_bytes(path) if data is None else data
    kind = _sniff(data)
    if kind:
        raise UnreadableFile(path, kind)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise UnreadableFile(path, "the file is incomplete or damaged (its end is missing, as after an interrupted "
                                       "download or copy): copy it again, or open it in Excel, which may repair it"
                                 ) from None
        raise UnreadableFile(path, f"the file is damaged and cannot be opened ({exc}): open it in Excel, "
                                   "which may repair it, and save it again") from None
    try:
        _check_members(path, infos)
    except UnreadableFile:
        zf.close()
        raise
    return zf


def _check_members(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive by its directory alone, before anything is unpacked."""
    if len(infos) > MAX_ZIP_MEMBERS:
        raise UnreadableFile(path, f"the file holds {len(infos):,} parts; an Excel workbook holds far fewer: refusing it")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise UnreadableFile(path, f"the file would unpack to {total / 2**20:,.0f} MiB, over minplan's limit of "
                                   f"{MAX_UNPACKED_BYTES / 2**20:,.0f} MiB: refusing it (a case workbook is a few MiB)")
    for i in infos:
        if i.file_size > RATIO_CHECK_MIN_BYTES and i.file_size > MAX_MEMBER_RATIO * max(i.compress_size, 1):
            raise UnreadableFile(path, f"part {i.filename} is compressed {i.file_size // max(i.compress_size, 1):,} "
                                       "to 1, the mark of a zip bomb: refusing the file")
        if i.flag_bits & 1:
            raise UnreadableFile(path, f"part {i.filename} is encrypted: remove the password and {HOW_TO_SAVE}")
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnreadableFile(path, f"part {i.filename} uses a compression Excel never writes: {HOW_TO_SAVE}")
    seen: set[str] = set()
    for i in infos:
        if i.filename.lower() in seen:
            raise UnreadableFile(path, f"part {i.filename} appears twice in the archive, which Excel never writes: "
                                       "refusing the file (two readers could see different data)")
        seen.add(i.filename.lower())
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        what = ("an OpenDocument spreadsheet (.ods)" if "mimetype" in seen and "content.xml" in seen else
                "an Excel binary workbook (.xlsb)" if "xl/workbook.bin" in seen else
                "a Word document" if "word/document.xml" in seen else
                "a PowerPoint file" if "ppt/presentation.xml" in seen else "a zip archive")
        raise UnreadableFile(path, f"this is {what}, not an Excel workbook (.xlsx): {HOW_TO_SAVE}")


# ---------------------------------------------------------------- the XML parts, before calamine


_PREFIXED = re.compile(rb":[cf][\s>/]")  # a cell or formula tag with a namespace prefix
# A cell tag not of the usual near form <c r="A1" (column A to Z, row 1 to 99,999), in one pass: odd when it does
# not start with its reference (both groups empty), otherwise a reference that may reach beyond column Z or row 99,999
_UNUSUAL_CELL = re.compile(rb'<c(?:[\t\r\n>/]| (?!r="[A-Za-z][0-9]{1,5}")(?:r="([A-Za-z]+)([0-9]*))?)')
_REFS = re.compile(rb'<c r="([A-Za-z]+)([0-9]+)"')
_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s>/])([^>]*)>")
_COL_TAG = re.compile(rb"<(?:[\w.-]+:)?col\s([^>]*)>")
_HIDDEN = re.compile(rb"""hidden\s*=\s*["'](?:1|true)["']""")
_ERROR_CELL = re.compile(rb"""<(?:[\w.-]+:)?c\s([^>]*\bt\s*=\s*["']e["'][^>]*)>(.*?)</(?:[\w.-]+:)?c>""", re.DOTALL)
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]*)<")
_FORMULA = re.compile(rb"<f[\s>/]")
_UNPACK_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)


def _root_start(data: bytes) -> int:
    """Where the first markup after the XML prolog's declaration and comments starts (-1: none).

    In a well-formed part this is the root element, or a DOCTYPE: only there is one legal.
    """
    i = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    while (i := data.find(b"<", i)) >= 0:
        if data.startswith(b"<?", i):
            i = data.find(b"?>", i)
        elif data.startswith(b"<!--", i):
            i = data.find(b"-->", i)
        else:
            return i
        if i < 0:
            return -1
    return -1


def _check_root(path: Path, name: str, data: bytes) -> None:
    """Refuse a DOCTYPE, and a shared-strings count that would make calamine reserve absurd memory."""
    i = _root_start(data)
    if data.startswith(b"<!", i):
        raise UnreadableFile(path, f"part {name} carries an XML DOCTYPE or ENTITY declaration, which Excel never "
                                   "writes and which can be used to attack a reader: refusing the file")
    tag = data[i:data.find(b">", i) + 1] if i >= 0 else b""
    if re.match(rb"<(?:[\w.-]+:)?sst[\s>/]", tag):
        count = _attr(tag[4:], b"uniqueCount") or b"0"
        if not count.isdigit() or int(count) > len(data) // 4 + 1000:
            raise UnreadableFile(path, f"part {name} declares {count.decode('ascii', 'replace')[:20]} distinct texts "
                                       "but holds far fewer, which Excel never writes: refusing the file")


def _attr(attrs: bytes, name: bytes) -> bytes | None:
    m = re.search(rb"(?:^|\s)" + name + rb"""\s*=\s*["']([^"']*)["']""", attrs)
    return m.group(1) if m else None


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _split_ref(ref: bytes | None) -> tuple[int, int] | None:
    m = re.fullmatch(rb"([A-Za-z]+)([0-9]+)", ref or b"")
    return (int(m.group(2)), _col_number(m.group(1))) if m else None


def _far_references(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """(letters, digits) of each cell reference that may lie beyond column Z or row 99,999, in one pass: usually
    none, or the last rows' cells. None when a cell tag does not start with its reference (the tags must be walked)."""
    far = []
    for m in _UNUSUAL_CELL.finditer(data):
        if not m.group(1):
            return None
        far.append(m.groups())
    return far


def sheet_extent(data: bytes, exact: bool = False, prefixed: bool = True) -> tuple[int, int, bool]:
    """(rows, cols, exact) from A1 to the furthest cell, as calamine will place the cells.

    Fast path when every cell tag starts with its reference, `<c r="A1"`: a bound from
    the few references beyond column Z or row 99,999, made exact when asked or
    when the bound is over the limit. Otherwise the tags are walked one by one,
    with row and column counters as calamine keeps them for cells without a reference.
    """
    far = None if prefixed else _far_references(data)
    if far is not None:
        cells = b"<c " in data
        cols = max(26, max(map(_col_number, {c for c, _ in far if len(c) > 1}), default=0)) if cells else 0
        # at least row 99,999: references of five digits or fewer are not looked at, and six may be zeros-led
        # (A0000004 is row 4)
        rows = max(99_999, max(map(int, {r for _, r in far if len(r) > 5}), default=0)) if cells else 0
        if rows * cols <= MAX_SHEET_CELLS and not exact:
            return rows, cols, False
        refs = _REFS.findall(data)
        return (max(map(int, {r for _, r in refs}), default=0), max(map(_col_number, {c for c, _ in refs}), default=0),
                True)
    row = col = rows = cols = 0
    for m in _TAG.finditer(data):
        tag, attrs = m.groups()
        if tag == b"row":
            r = _attr(attrs, b"r")
            row, col = (int(r) if r and r.isdigit() else row + 1), 0
            continue
        pos = _split_ref(_attr(attrs, b"r"))
        row, col = pos if pos else (row, col + 1)
        if not attrs.endswith(b"/"):
            rows, cols = max(rows, row), max(cols, col)
    return rows, cols, True


def _scan_sheet(data: bytes) -> PartScan:
    """Extent, uncached formulas, error cells and hidden rows and columns of one worksheet's XML."""
    prefixed = _PREFIXED.search(data) is not None
    scan = PartScan(*sheet_extent(data, exact=len(data) < EXACT_BELOW_BYTES, prefixed=prefixed))
    if prefixed or _FORMULA.search(data):
        scan.formulas = _uncached(data)
    if b't="e"' in data:
        for m in _ERROR_CELL.finditer(data):
            pos, v = _split_ref(_attr(m.group(1), b"r")), _VALUE.search(m.group(2))
            if pos and v:
                scan.errors[pos] = v.group(1).decode("utf-8", "replace").strip() or "#ERROR"
    if _HIDDEN.search(data):
        row = 0
        for m in _TAG.finditer(data):
            if m.group(1) == b"row":
                r = _attr(m.group(2), b"r")
                row = int(r) if r and r.isdigit() else row + 1
                if _HIDDEN.search(m.group(2)):
                    scan.hidden_rows.add(row)
        for m in _COL_TAG.finditer(data):
            lo, hi = _attr(m.group(1), b"min"), _attr(m.group(1), b"max")
            if _HIDDEN.search(m.group(1)) and lo and lo.isdigit():
                hi_n = int(hi) if hi and hi.isdigit() else int(lo)
                scan.hidden_cols.update(range(int(lo), min(hi_n, 16_384) + 1))
    return scan


def _uncached(data: bytes) -> list[str]:
    """Cells holding a formula saved without its value (a file written by a script, never opened in Excel)."""
    cells = []
    for _, el in SafeET.iterparse(io.BytesIO(data), events=("end",)):
        if el.tag.rsplit("}", 1)[-1] == "c":
            f = v = None
            for child in el:
                local = child.tag.rsplit("}", 1)[-1]
                f, v = (child if local == "f" else f), (child if local == "v" else v)
            if f is not None and (v is None or v.text in (None, "")):
                cells.append(el.get("r", "?"))
            el.clear()
    return cells


def scan_parts(path: Path, zf: zipfile.ZipFile) -> dict[str, PartScan]:
    """Unpack and check every XML part; return the scan of each part that holds a worksheet's cells."""
    out: dict[str, PartScan] = {}
    for info in zf.infolist():
        name = info.filename
        if info.is_dir() or not (name.lower().endswith(_XML_SUFFIXES) or _looks_xml(zf, info)):
            continue
        try:
            data = zf.read(info)
        except _UNPACK_ERRORS as exc:
            raise UnreadableFile(path, f"the file is damaged: part {name} cannot be unpacked ({exc}); open it in "
                                       "Excel, which may repair it, and save it again") from None
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
            raise UnreadableFile(path, f"part {name} is not UTF-8 XML, which Excel always writes: {HOW_TO_SAVE}")
        _check_root(path, name, data)
        if b"sheetData" in data:
            try:
                out[name] = _scan_sheet(data)
            except (SafeET.ParseError, DefusedXmlException) as exc:
                raise UnreadableFile(path, f"part {name} is not well-formed XML ({exc}): the file is damaged; "
                                           "open it in Excel, which may repair it, and save it again") from None
    return out


def _looks_xml(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Does a part with an unusual name start like XML? (A relationship may point a sheet at any name.)"""
    try:
        with zf.open(info) as fh:
            head = fh.read(64)
    except _UNPACK_ERRORS:  # reported when the part is unpacked in full, or by calamine
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") or head[:2] in (b"\xff\xfe", b"\xfe\xff")


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Map sheet name -> worksheet part path inside the archive (run scan_parts first: it refuses DOCTYPEs)."""
    try:
        rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        wb = SafeET.fromstring(zf.read("xl/workbook.xml"))
    except (KeyError, SafeET.ParseError, DefusedXmlException):
        return {}
    target = {}
    for rel in rels:
        t = rel.get("Target", "")
        target[rel.get("Id")] = posixpath.normpath(t.lstrip("/") if t.startswith("/") else posixpath.join("xl", t))
    out = {}
    for sh in wb.iter():
        if sh.tag.rsplit("}", 1)[-1] == "sheet":
            rid = next((v for k, v in sh.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
            if rid in target:
                out[sh.get("name")] = target[rid]
    return out


def check_extents(path: Path, zf: zipfile.ZipFile, scans: dict[str, PartScan], parts: dict[str, str],
                  wanted: set[str] | None) -> None:
    """Refuse a sheet (or book) whose cells would not fit in memory, before calamine allocates them."""
    by_part = {p: n for n, p in parts.items()}
    read = [p for p in scans if p not in by_part or wanted is None or by_part[p] in wanted]
    for p in read:
        s = scans[p]
        if s.rows * s.cols > MAX_SHEET_CELLS:
            where = f"sheet {by_part[p]}" if p in by_part else f"part {p}"
            raise UnreadableFile(path, f"{where} reaches row {s.rows:,} and column {get_column_letter(min(s.cols, 16384))}"
                                       f" ({s.rows * s.cols:,} cells from A1), over minplan's limit of "
                                       f"{MAX_SHEET_CELLS:,} cells: delete the unused rows and columns "
                                       "(select them, right-click, Delete) and save")
    if sum(scans[p].rows * scans[p].cols for p in read) <= MAX_BOOK_CELLS:
        return
    for p in read:  # bounds were not enough: measure exactly
        if not scans[p].exact:
            data = zf.read(p)
            scans[p].rows, scans[p].cols, scans[p].exact = sheet_extent(data, True, _PREFIXED.search(data) is not None)
    total = sum(scans[p].rows * scans[p].cols for p in read)
    if total > MAX_BOOK_CELLS:
        raise UnreadableFile(path, f"the sheets together span {total:,} cells from A1, over minplan's limit of "
                                   f"{MAX_BOOK_CELLS:,}: delete unused sheets, rows and columns and save")
