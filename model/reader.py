"""From raw sheets to typed records, driven by the schema; case inheritance.

Each record remembers where each of its values came from (file and cell), so
every later message can name `Sheet!Cell` in the file the value came from,
including a base case the value was inherited from.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model import schema as S
from model.problems import Problems
from model.xlsx import RawBook, RawSheet, read_book

MAX_ABS_NUMBER = 1e15  # larger magnitudes are typing slips, and overflow the solver


@dataclass
class Record:
    """One row of a case sheet, with where each value came from."""

    sheet: str
    values: dict[str, Any]
    file: str
    row: int
    letters: dict[str, str]  # column -> letter in the file the row came from
    inherited: dict[str, tuple[str, str]] = field(default_factory=dict)  # column -> (file, A1) from a base

    def get(self, col: str, default=None):
        v = self.values.get(col)
        return default if v is None else v

    def ref(self, col: str | None = None) -> tuple[str, str]:
        """(file, 'Sheet!C5') of a column's value, or of the whole row when col is None or absent."""
        if col in self.inherited:
            f, a1 = self.inherited[col]
            return f, f"{self.sheet}!{a1}"
        if col is not None and col in self.letters:
            return self.file, f"{self.sheet}!{self.letters[col]}{self.row}"
        return self.file, f"{self.sheet}!{self.row}:{self.row}"

    def key(self, sheet: S.Sheet) -> tuple:
        return tuple(self.values.get(k) for k in sheet.key)


@dataclass
class CaseFile:
    """What one workbook says, before inheritance."""

    path: Path
    settings: dict[str, Record]  # key -> record (value in record.values['value'])
    tables: dict[str, list[Record]]  # sheet -> records (Settings excluded)
    present: set[str]  # sheets present in the file
    columns: dict[str, set[str]]  # sheet -> columns present


# ---------------------------------------------------------------- cell parsing


def _did_you_mean(word: str, options) -> str:
    close = difflib.get_close_matches(str(word).lower(), [str(o).lower() for o in options], n=1, cutoff=0.6)
    if not close:
        return ""
    match = next(o for o in options if str(o).lower() == close[0])
    return f" (did you mean '{match}'?)"


def parse_value(col: S.Column, v: Any) -> tuple[Any, str | None]:
    """Convert a raw cell value to the column's kind. Returns (value, problem text or None)."""
    if v is None:
        return None, None
    kind = col.kind
    if isinstance(v, (dt.datetime, dt.date, dt.time, dt.timedelta)) and kind != S.TEXT:
        return None, f"a date or time where {S.KIND_WORDS[kind]} belongs"
    if kind in (S.TEXT, S.ENUM, S.LIST):
        if isinstance(v, bool):
            return None, "a TRUE/FALSE value where text belongs"
        if isinstance(v, (dt.datetime, dt.date, dt.time, dt.timedelta)):
            return None, "a date where text belongs"
        if isinstance(v, float):
            if not math.isfinite(v):
                return None, "not a valid entry"
            v = str(int(v)) if v.is_integer() else str(v)
        text = str(v).strip()
        if kind == S.ENUM:
            low = text.lower()
            for c in col.choices:
                if c.lower() == low:
                    return c, None
            return None, "not an allowed word" + _did_you_mean(text, col.choices)
        if kind == S.LIST:
            return tuple(p.strip() for p in text.split(",") if p.strip()), None
        return text, None
    if kind == S.YN:
        if isinstance(v, bool):
            return v, None
        low = (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).strip().lower()
        if low in S.YES_WORDS:
            return True, None
        if low in S.NO_WORDS:
            return False, None
        return None, "not Y or N"
    # numeric kinds
    if isinstance(v, bool):
        return None, f"a TRUE/FALSE value where {S.KIND_WORDS[kind]} belongs"
    if isinstance(v, str):
        try:
            x = float(v.replace(",", "").replace("_", "").strip())
        except ValueError:
            return None, f"text where {S.KIND_WORDS[kind]} belongs"
    else:
        x = float(v)
    if not math.isfinite(x):
        return None, f"not a finite number where {S.KIND_WORDS[kind]} belongs"
    if abs(x) > MAX_ABS_NUMBER:
        return None, f"a number too large to be meant (more than {MAX_ABS_NUMBER:g} in size)"
    if kind in (S.INTEGER, S.YEAR):
        if not x.is_integer():
            return None, f"not {S.KIND_WORDS[kind]}"
        x = int(x)
    if col.min is not None and (x < col.min or (col.min_open and x == col.min)):
        return None, "out of range"
    if col.max is not None and (x > col.max or (col.max_open and x == col.max)):
        return None, "out of range"
    return x, None


# ---------------------------------------------------------------- one file


def _header_map(raw: RawSheet, sheet: S.Sheet, path: Path, problems: Problems) -> dict[int, str]:
    """Column position -> schema column name; reports unknown, duplicate and missing columns."""
    known = S.all_columns(sheet)
    out: dict[int, str] = {}
    seen: dict[str, str] = {}
    for i, h in enumerate(raw.headers):
        if not h:
            if any(r[1][i] is not None for r in raw.rows if i < len(r[1])):
                problems.error(
                    "a column with values has no header", path, f"{raw.name}!{raw.letter(i)}1",
                    expected="a column name from the template",
                )
            continue
        name = h.strip().lower().replace(" ", "_")
        if name not in known:
            problems.warn(
                f"unknown column '{h}' is ignored" + _did_you_mean(name, known), path, f"{raw.name}!{raw.letter(i)}1"
            )
            continue
        if name in seen:
            problems.error(
                f"column '{name}' appears twice (also at {seen[name]})", path, f"{raw.name}!{raw.letter(i)}1"
            )
            continue
        seen[name] = f"{raw.letter(i)}1"
        out[i] = name
    return out


def _settings(raw: RawSheet, path: Path, problems: Problems) -> dict[str, Record]:
    sheet = S.SHEET["Settings"]
    hmap = _header_map(raw, sheet, path, problems)
    pos = {v: k for k, v in hmap.items()}
    for need in ("key", "value"):
        if need not in pos:
            problems.error(f"missing column '{need}'", path, f"{raw.name}!1:1", expected="headers 'key' and 'value' in row 1")
    if "key" not in pos or "value" not in pos:
        return {}
    letters = {name: raw.letter(i) for i, name in hmap.items()}
    out: dict[str, Record] = {}
    for rownum, vals in raw.rows:
        get = lambda c: vals[pos[c]] if pos.get(c) is not None and pos[c] < len(vals) else None  # noqa: E731
        key = get("key")
        if key is None:
            if get("value") is not None:
                problems.error("a setting has a value but no key", path, f"Settings!{letters['key']}{rownum}",
                               expected="one of " + ", ".join(S.SETTING))
            continue
        key_s = str(key).strip()
        kl = key_s.lower()
        if kl not in S.SETTING:
            problems.error(f"unknown setting '{key_s}'" + _did_you_mean(kl, S.SETTING), path,
                           f"Settings!{letters['key']}{rownum}", expected="one of " + ", ".join(S.SETTING))
            continue
        col = S.SETTING[kl]
        value, why = parse_value(col, get("value"))
        rec = Record("Settings", {"key": kl, "value": value}, str(path), rownum, letters)
        for extra in ("source", "note"):
            if extra in pos:
                rec.values[extra] = get(extra)
        if why:
            problems.error(f"setting {kl}: {why}", path, f"Settings!{letters['value']}{rownum}",
                           found=get("value"), expected=col.expected())
            rec.values["value"] = None
            rec.values["_bad"] = True
        if kl in out:
            problems.error(f"setting {kl} appears twice (also row {out[kl].row})", path,
                           f"Settings!{letters['key']}{rownum}")
        out[kl] = rec
    return out


def _records(raw: RawSheet, sheet: S.Sheet, path: Path, problems: Problems) -> tuple[list[Record], set[str]]:
    hmap = _header_map(raw, sheet, path, problems)
    cols = S.all_columns(sheet)
    letters = {name: raw.letter(i) for i, name in hmap.items()}
    records = []
    items = [(i, name, cols[name]) for i, name in hmap.items()]
    for rownum, vals in raw.rows:
        values: dict[str, Any] = {}
        bad = set()
        for i, name, col in items:
            v = vals[i] if i < len(vals) else None
            x, why = parse_value(col, v)
            if why:
                bad.add(name)
                problems.error(f"{name}: {why}", path, f"{sheet.name}!{letters[name]}{rownum}",
                               found=v, expected=col.expected())
            values[name] = x
        if not any(values.get(n) is not None for n in values if n not in ("source", "note")):
            continue  # only provenance filled in: treat as blank
        rec = Record(sheet.name, values, str(path), rownum, letters)
        if bad:
            rec.values["_bad"] = tuple(sorted(bad))
        records.append(rec)
    return records, set(hmap.values())


def read_case_file(path: Path, problems: Problems) -> CaseFile:
    """Read one workbook into typed records (no inheritance, no cross-checks)."""
    book: RawBook = read_book(path, wanted=None)
    problems.extend(book.problems)
    for sheet_name, cells in book.uncached_formulas.items():
        for a1 in cells:
            problems.error(
                "this cell holds a formula saved without its value, so minplan cannot see the result",
                path, f"{sheet_name}!{a1}",
                expected="open the file in Excel or LibreOffice and save it (that stores the values), or type the value",
            )
    settings: dict[str, Record] = {}
    tables: dict[str, list[Record]] = {}
    columns: dict[str, set[str]] = {}
    present = set()
    known_lower = {s.lower(): s for s in S.SHEET}
    for name, raw in book.sheets.items():
        canonical = known_lower.get(name.strip().lower())
        if canonical is None:
            if name.strip().lower() not in ("overview", "readme", "lists"):
                problems.warn(f"sheet '{name}' is not a case sheet and is ignored" + _did_you_mean(name, S.SHEET), path, name)
            continue
        if raw.hidden:
            problems.warn(f"sheet {name} is hidden; minplan reads it like any other", path, name)
        present.add(canonical)
        if canonical == "Settings":
            settings = _settings(raw, path, problems)
            columns["Settings"] = {"key", "value"}
        else:
            tables[canonical], columns[canonical] = _records(raw, S.SHEET[canonical], path, problems)
    return CaseFile(path, settings, tables, present, columns)


# ---------------------------------------------------------------- inheritance


@dataclass
class MergedCase:
    """A case after inheritance: records per sheet, and the files it came from (top first)."""

    settings: dict[str, Record]
    tables: dict[str, list[Record]]
    present: set[str]
    columns: dict[str, set[str]]
    files: list[Path]


def read_case(path: str | Path, problems: Problems) -> MergedCase:
    """Read a case and every base it inherits from, merged row by row."""
    return _read_chain(Path(path).resolve(), problems, [])


def _read_chain(path: Path, problems: Problems, chain: list[Path]) -> MergedCase:
    own = read_case_file(path, problems)
    base_rec = own.settings.get("base_case")
    if base_rec is None or base_rec.values.get("value") is None:
        return MergedCase(own.settings, own.tables, own.present, own.columns, [path])
    base_path = (path.parent / str(base_rec.values["value"])).resolve()
    f, where = base_rec.ref("value")
    if base_path in chain or base_path == path:
        loop = " -> ".join(p.name for p in [*chain, path, base_path])
        problems.error(f"circular inheritance: {loop}", f, where, expected="a base_case that does not lead back to this file")
        return MergedCase(own.settings, own.tables, own.present, own.columns, [path])
    if not base_path.exists():
        problems.error(f"base case not found: {base_path}", f, where, found=base_rec.values["value"],
                       expected="a path to an existing .xlsx, relative to this file's folder")
        return MergedCase(own.settings, own.tables, own.present, own.columns, [path])
    base = _read_chain(base_path, problems, [*chain, path])
    return _merge(base, own, problems)


def _merge(base: MergedCase, own: CaseFile, problems: Problems) -> MergedCase:
    settings = {k: v for k, v in base.settings.items() if k != "base_case"}
    settings.update(own.settings)
    tables = {name: list(recs) for name, recs in base.tables.items()}
    for name, recs in own.tables.items():
        sheet = S.SHEET[name]
        current = tables.setdefault(name, [])
        index = {r.key(sheet): i for i, r in enumerate(current)}
        removed = set()
        for rec in recs:
            key = rec.key(sheet)
            if rec.values.get("delete"):
                if key in index and index[key] not in removed:
                    removed.add(index[key])
                else:
                    f, where = rec.ref("delete")
                    problems.warn("delete names a row the base case does not have", f, where, found=", ".join(map(str, key)))
                continue
            if key in index and index[key] not in removed:
                current[index[key]] = _overlay(current[index[key]], rec)
            else:
                index[key] = len(current)
                current.append(rec)
        tables[name] = [r for i, r in enumerate(current) if i not in removed]
    columns = {k: set(v) for k, v in base.columns.items()}
    for k, v in own.columns.items():
        columns.setdefault(k, set()).update(v)
    return MergedCase(settings, tables, base.present | own.present, columns, [own.path, *base.files])


def _overlay(base: Record, top: Record) -> Record:
    """Cell-by-cell merge: a blank or absent cell in `top` keeps the base's value."""
    values = dict(base.values)
    inherited = {c: base.ref(c) for c in base.values if base.values.get(c) is not None}
    inherited = {c: (f, a1.split("!", 1)[1]) for c, (f, a1) in inherited.items()}
    for c, v in top.values.items():
        if v is not None and c != "_bad":
            values[c] = v
            inherited.pop(c, None)
    bad = set(base.values.get("_bad", ())) | set(top.values.get("_bad", ()))
    if bad:
        values["_bad"] = tuple(sorted(bad))
    return Record(top.sheet, values, top.file, top.row, top.letters, inherited)
