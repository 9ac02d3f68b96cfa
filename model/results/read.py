"""Reading result workbooks back: tables and manifest, after checking the file is one.

A minplan result workbook has the table sheets Summary, Portfolio, Funding,
Supply, Stockpiles, Dependence and Scenarios (each a header row at A1 and
records below, continued on `<name>_2`, ... when longer than one Excel sheet)
and a key/value Manifest whose `minplan_result_version` says which layout it
follows. `read_result` reads one through the same guarded reader as case
workbooks (model.workbook.read: zip size checks, nothing run) and says plainly what a
file is when it is not a result: a case workbook, a sweep workbook, a
comparison, another workbook, a CSV, a missing file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model.problems import CaseError, RunError
from model.tables import SHEET_TABLES, YEAR
from model.workbook.read import RawSheet, check_archive, read_book, scan_parts, sheet_parts

READABLE_VERSIONS = ("1",)  # result layouts this module understands
TABLES = ("Summary", *(t.sheet for t in SHEET_TABLES))  # the sheets read back, as declared in model/tables.py
SHEETS_PER_READ = 4
_PART = re.compile(r"^(?P<name>.+)_(?P<n>\d+)$")
_CASE_SHEETS = {"Settings", "Regions", "Materials", "Demand", "Projects"}


@dataclass
class ResultBook:
    """A result workbook read back: its manifest (key -> value) and one DataFrame per table sheet."""

    path: Path
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.manifest.get("minplan_version", "unknown"))

    @property
    def case_name(self) -> str:
        return str(self.manifest.get("case_name") or self.path.stem)

    def summary(self, section: str) -> dict[str, Any]:
        """Summary rows of one section (outcome, objective breakdown, kpi, ...) as item -> value."""
        s = self.tables["Summary"]
        rows = s[s["section"] == section]
        return dict(zip(rows["item"], rows["value"]))

    def files(self) -> list[tuple[str, str]]:
        """(path, SHA-256) of every case file the run read, the case first and its bases after."""
        out, i = [], 1
        while f"file_{i}" in self.manifest:
            out.append((str(self.manifest[f"file_{i}"]), str(self.manifest.get(f"file_{i}_sha256", ""))))
            i += 1
        return out

    @property
    def probabilities(self) -> dict[str, float]:
        sc = self.tables.get("Scenarios")
        if sc is None or not len(sc) or not {"scenario", "probability"} <= set(sc.columns):
            return {}
        return {str(s): float(p) for s, p in zip(sc["scenario"], sc["probability"]) if p is not None}


def _frame(sheet: RawSheet) -> pd.DataFrame:
    headers = [h or f"column_{i + 1}" for i, h in enumerate(sheet.headers)]
    rows = [(vals + [None] * len(headers))[: len(headers)] for _, vals in sheet.rows]
    df = pd.DataFrame(rows, columns=headers, dtype=object)
    for col in df.columns:
        if col == "year" or col.endswith("_year"):
            df[col] = [int(v) if isinstance(v, float) and v.is_integer() else v for v in df[col]]
    return df


def _key_values(sheet: RawSheet) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _, vals in sheet.rows:
        if vals and vals[0] is not None:
            out[str(vals[0])] = vals[1] if len(vals) > 1 else None
    return out


def _not_a_result(path: Path, sheets: dict[str, RawSheet]) -> str:
    """Say what the workbook is instead, and what to give compare."""
    manifest = _key_values(sheets["Manifest"]) if "Manifest" in sheets else {}
    if "minplan_sweep_version" in manifest:
        return (f"{path.name} is a sweep workbook, not a result workbook: compare the variants' result workbooks "
                f"beside it ({path.parent}/*_v01.xlsx, ...)")
    if "minplan_compare_version" in manifest:
        return f"{path.name} is a comparison workbook, not a result workbook: compare the result workbooks it was made from"
    if _CASE_SHEETS <= set(sheets):
        return (f"{path.name} is a case workbook, not a result workbook: solve it first with "
                f"'minplan solve {path}', then compare the results")
    listed = ", ".join(list(sheets)[:12]) or "none"
    return (f"{path.name} is not a minplan result workbook: it has no Manifest sheet with a minplan_result_version "
            f"(its sheets: {listed}); give the .xlsx files that 'minplan solve' writes")


def read_result(path: str | Path) -> ResultBook:
    """Read and check one result workbook.

    Raises UnreadableFile (exit 2) for a missing, non-xlsx or damaged file and
    RunError (exit 1) for a workbook that is not a minplan result or whose
    layout this version cannot read.
    """
    path = Path(path)
    names = _sheet_names(path)  # UnreadableFile for a missing file, a csv, a damaged archive
    sheets = _read_sheets(path, [n for n in names if n == "Manifest"])
    manifest = _key_values(sheets["Manifest"]) if "Manifest" in sheets else {}
    if "minplan_result_version" not in manifest:
        if _CASE_SHEETS <= set(names) or "Manifest" in sheets:
            sheets.update({n: RawSheet(n, [], []) for n in names if n not in sheets})
        raise RunError(_not_a_result(path, sheets or {n: RawSheet(n, [], []) for n in names}))
    version = str(manifest["minplan_result_version"]).removesuffix(".0")
    if version not in READABLE_VERSIONS:
        raise RunError(f"{path.name} is a result workbook of layout {version}, which this minplan cannot read "
                       f"(it reads layout {', '.join(READABLE_VERSIONS)}); compare it with the minplan that wrote it")
    wanted = [n for n in names if n in TABLES or (_PART.match(n) and _PART.match(n)["name"] in TABLES)]
    sheets.update(_read_sheets(path, wanted))
    missing = [t for t in TABLES if t not in sheets]
    if missing:
        raise RunError(f"{path.name} looks like a minplan result but lacks the sheet(s) {', '.join(missing)}: it was "
                       "edited or damaged; solve the case again to get a complete result")
    tables = {}
    for name in TABLES:
        parts = [sheets[name]] + _continuations(name, sheets)
        for part in parts:
            _check_sheet(path, part)
        frames = [_frame(p) for p in parts]
        tables[name] = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    for t in SHEET_TABLES:
        _check_keys(path, t.sheet, [sheets[t.sheet]] + _continuations(t.sheet, sheets), [c.name for c in t.key])
    summary = tables["Summary"]
    if not {"section", "item", "value"} <= set(summary.columns):
        raise RunError(f"{path.name}: its Summary sheet lacks the columns section, item, value: it was edited or damaged")
    return ResultBook(path, manifest, tables)


# the columns that hold years, by sheet, as declared in model/tables.py
YEAR_COLUMNS = {t.sheet: {c.name for c in (*t.key, *t.values) if c.unit == YEAR or c.name == "year"}
                for t in SHEET_TABLES}
_EDITED = "the result was edited after minplan wrote it; solve the case again, or undo the edit"


def _check_sheet(path: Path, sheet: RawSheet) -> None:
    """RunError naming Sheet!Cell for a header written twice or a year that is not a whole number."""
    seen: dict[str, int] = {}
    for i, h in enumerate(sheet.headers):
        if h and h in seen:
            raise RunError(f"{path.name}: {sheet.name}!{sheet.letter(i)}1: the header '{h}' appears twice (also at "
                           f"{sheet.name}!{sheet.letter(seen[h])}1); {_EDITED}")
        seen.setdefault(h, i)
    part = _PART.match(sheet.name)
    years = YEAR_COLUMNS.get(part["name"] if part else sheet.name, set())
    for i, h in enumerate(sheet.headers):
        if h not in years:
            continue
        for row, vals in sheet.rows:
            v = vals[i] if i < len(vals) else None
            if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer()):
                continue
            raise RunError(f"{path.name}: {sheet.name}!{sheet.letter(i)}{row}: {h} holds {str(v)[:40]!r}, not a year "
                           f"typed as a whole number; {_EDITED}")


def _check_keys(path: Path, name: str, parts: list[RawSheet], key: list[str]) -> None:
    """RunError naming both rows when two rows of a table have the same key (a row copied by hand)."""
    seen: dict[tuple, str] = {}
    for sheet in parts:
        at = [sheet.headers.index(k) if k in sheet.headers else None for k in key]
        if not key or None in at:
            return
        for row, vals in sheet.rows:
            k = tuple(vals[i] if i < len(vals) else None for i in at)
            if all(v is None for v in k):
                continue
            if k in seen:
                raise RunError(f"{path.name}: {sheet.name}!{row}:{row} repeats the row at {seen[k]} (same "
                               f"{', '.join(key)}: {', '.join(map(str, k))}); {_EDITED}")
            seen[k] = f"{sheet.name}!{row}:{row}"


def _sheet_names(path: Path) -> list[str]:
    """The workbook's sheet names, after the reader's safety checks on the archive."""
    with check_archive(path) as zf:
        scan_parts(path, zf)
        return list(sheet_parts(zf))


def _read_sheets(path: Path, names: list[str]) -> dict[str, RawSheet]:
    """Read the named sheets a few at a time: the reader's book-size limit counts a sheet written
    without a dimension record (as result workbooks are) at a generous estimate."""
    out: dict[str, RawSheet] = {}
    for i in range(0, len(names), SHEETS_PER_READ):
        out.update(read_book(path, set(names[i:i + SHEETS_PER_READ])).sheets)
    return out


def _continuations(name: str, sheets: dict[str, RawSheet]) -> list[RawSheet]:
    """The `<name>_2`, `<name>_3`, ... sheets a long table continues on, in order."""
    parts = []
    for title, sheet in sheets.items():
        m = _PART.match(title)
        if m and name.startswith(m["name"]) and int(m["n"]) >= 2 and sheet.headers == sheets[name].headers:
            parts.append((int(m["n"]), sheet))
    return [s for _, s in sorted(parts, key=lambda p: p[0])]


def read_results(paths: list[Path] | tuple[Path, ...]) -> list[ResultBook]:
    """Read every path, reporting all the files that are not results at once."""
    books, problems = [], []
    code = 1
    for p in paths:
        try:
            books.append(read_result(p))
        except RunError as exc:
            problems.append(str(exc))
        except CaseError as exc:  # UnreadableFile: missing, not an xlsx, damaged
            problems.append(str(exc).removeprefix("error: "))
            code = max(code, exc.exit_code)
    if problems:
        raise RunError("\n".join(problems) + "\nnothing was compared.", exit_code=code)
    return books
