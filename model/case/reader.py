"""From raw sheets to typed records, driven by the schema; case inheritance.

Each record remembers where each of its values came from (file and cell), so
every later message can name `Sheet!Cell` in the file the value came from,
including a base case the value was inherited from.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from model.case import schema as S
from model.case.cells import MAX_ABS_NUMBER, closest, did_you_mean, escaped, expected_text, parse_column, parse_value
from model.problems import Problems, UnreadableFile
from model.workbook.read import RawBook, RawSheet, collector_paused, read_book

__all__ = ["MAX_ABS_NUMBER", "CaseFile", "MergedCase", "Record", "Rows", "closest", "did_you_mean", "expected_text",
           "parse_value", "read_case", "read_case_file"]  # cell parsing lives in model.case.cells, re-exported here

IGNORED_SHEETS = ("overview", "readme", "lists")  # the template's own sheets
_A1 = re.compile(r"([A-Z]+)([0-9]+)")


_NOT_INHERITED: dict[str, tuple[str, str]] = {}  # shared by every record read from one file alone: never changed
_FIELDS = ("sheet", "values", "file", "row", "letters", "inherited")


@dataclass(slots=True, frozen=True)
class Record:
    """One row of a case sheet, with where each value came from.

    A case may have a row per lane: a record has slots rather than a dict of attributes, and one whose values all
    come from its own file shares one empty `inherited`. A record read from a sheet holds only the sheet it was read
    from and its position there (`_read`), and makes its fields when one is first asked for. Validation and
    building read a sheet of lanes column by column (`values_of`), and most of its records are never asked for
    anything at all. A record is never changed, only replaced (its `values` may gain a `_bad` entry as it is read).
    """

    sheet: str
    values: dict[str, Any]
    file: str
    row: int
    letters: dict[str, str]  # column -> letter in the file the row came from
    inherited: dict[str, tuple[str, str]] = field(default_factory=lambda: _NOT_INHERITED)  # column -> (file, A1)
    _src: tuple | None = field(default=None, init=False, repr=False, compare=False)  # see `_read`
    _k: int = field(default=0, init=False, repr=False, compare=False)

    @classmethod
    def _read(cls, src: tuple, n: int) -> list[Record]:
        """The n records of a sheet read as `src` = (sheet, typed columns, row numbers, file, letters), each holding
        only `src` and its row position, its fields made when one is first asked for; made at C speed."""
        records = list(map(object.__new__, repeat(cls, n)))
        deque(map(_SET_SRC, records, repeat(src, n)), maxlen=0)  # through the slots: a Record is frozen
        deque(map(_SET_K, records, range(n)), maxlen=0)
        return records

    def __getattr__(self, name: str):  # only called for a slot not yet set: a field of a record read from a sheet
        if name not in _FIELDS or self._src is None:
            raise AttributeError(name)
        sheet, columns, numbers, file, letters = self._src
        k = self._k
        for field_name, value in (("sheet", sheet), ("values", {col: cells[k] for col, cells in columns.items()}),
                                  ("file", file), ("row", numbers[k]), ("letters", letters),
                                  ("inherited", _NOT_INHERITED), ("_src", None)):
            object.__setattr__(self, field_name, value)
        return object.__getattribute__(self, name)

    def __getstate__(self) -> tuple:  # pickled as it is: a record not made yet stays unmade (a sweep sends cases)
        if self._src is not None:
            return self._src, self._k
        return None, 0, self.sheet, self.values, self.file, self.row, self.letters, self.inherited

    def __setstate__(self, state: tuple) -> None:
        for name, value in zip(("_src", "_k", *_FIELDS), state):
            object.__setattr__(self, name, value)

    def get(self, col: str, default=None):
        """The value of `col`, or `default` when blank."""
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
        """The row's key on `sheet` (its "one row per" columns)."""
        return tuple(map(self.values.get, sheet.key))


_SET_SRC, _SET_K = Record._src.__set__, Record._k.__set__  # a record being read is set through its slots


class Rows(list):
    """A sheet's records, with the typed columns they were made from kept beside them.

    `values_of` hands out a kept column instead of reading every record again: a sheet of 100,000 lanes is read
    column by column a dozen times by validation and building. A record is never changed in place once it is in
    the list; a change replaces it (`rows[i] = new`), and any change to the list lets its columns go.
    """

    __slots__ = ("columns", "file", "numbers")

    def __init__(self, records=(), columns: dict[str, list] | None = None, numbers: list[int] | None = None,
                 file: str | None = None):
        super().__init__(records)
        self.columns, self.numbers, self.file = columns, numbers, file  # numbers: each record's row; file: all's

    def __reduce__(self):
        return Rows, (list(self), self.columns, self.numbers, self.file)

    def copy(self) -> Rows:
        return Rows(self, self.columns, self.numbers, self.file)

    def _changed(self) -> None:
        self.columns = self.numbers = None


def _dropping_columns(name: str):
    change = getattr(list, name)

    def changed(self, *args, **kwargs):
        self._changed()
        return change(self, *args, **kwargs)

    changed.__name__ = name
    return changed


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend", "insert", "pop", "remove",
              "clear", "sort", "reverse"):
    setattr(Rows, _name, _dropping_columns(_name))


_KEPT: list[dict] = []  # while `columns_kept` is active: (id(records), col) -> (records, column)


@contextmanager
def columns_kept():
    """Make each column once while validation and building read the same records column by column.

    Only around code that reads records without changing them (validate, build_case); a column returned
    inside the block is shared, so callers never change it in place. Nested blocks share the outer memo."""
    _KEPT.append(_KEPT[-1] if _KEPT else {})
    try:
        yield
    finally:
        _KEPT.pop()


def values_of(records: list[Record], col: str) -> list:
    """The value of `col` in each record, None where blank: one column of a sheet."""
    kept = getattr(records, "columns", None)
    if kept is not None:
        column = kept.get(col)
        if column is not None:
            return column
        if not col.startswith("_"):  # the sheet has no such column: blank in every row
            return [None] * len(records)
    if not _KEPT:
        return [r.values.get(col) for r in records]
    memo = _KEPT[-1]
    hit = memo.get((id(records), col))
    if hit is not None and hit[0] is records and len(hit[1]) == len(records):
        return hit[1]
    out = [r.values.get(col) for r in records]
    memo[id(records), col] = (records, out)  # holding `records` keeps its id from being reused
    return out


@dataclass
class CaseFile:
    """What one workbook says, before inheritance."""

    path: Path
    settings: dict[str, Record]  # key -> record (value in record.values['value'])
    tables: dict[str, list[Record]]  # sheet -> records (Settings excluded)
    present: set[str]  # sheets present in the file
    columns: dict[str, set[str]]  # sheet -> columns present
    sha256: str = ""  # of the bytes read


# ---------------------------------------------------------------- one file


def _header_map(raw: RawSheet, sheet: S.Sheet, path: Path, problems: Problems) -> tuple[dict[int, str], set[str]]:
    """Column position -> schema column name, and the columns that are there under a misspelt header.

    Reports unknown, duplicate and missing columns. An unknown header whose values would otherwise be lost, and
    that is close to a column the sheet lacks, is the cause of every blank that column then shows: it is reported
    once, as an error, and the column counts as present with every row's value already reported.
    """
    known = S.all_columns(sheet)
    names = {h.strip().lower().replace(" ", "_") for h in raw.headers if h}
    out: dict[int, str] = {}
    seen: dict[str, str] = {}
    misspelt: set[str] = set()
    for i, h in enumerate(raw.headers):
        has_values = raw.has_values(i)
        if not h:
            if has_values:
                problems.error("a column with values has no header", path, f"{raw.name}!{raw.letter(i)}1",
                               expected="a column name from the template in row 1")
            continue
        name = h.strip().lower().replace(" ", "_")
        if name not in known:
            guess = closest(name, known)
            where = f"{raw.name}!{raw.letter(i)}1"
            if guess is not None and guess not in names and guess not in misspelt and has_values:
                misspelt.add(guess)
                problems.error(f"column '{escaped(h)}' is not known; did you mean '{guess}'? Until it is renamed, every "
                               f"row's {guess} reads as blank", path, where, expected=f"the header {guess}")
            else:
                problems.warn(f"unknown column '{escaped(h)}' is ignored" + did_you_mean(name, known), path, where)
            continue
        if name in seen:
            problems.error(f"column '{name}' appears twice (also at {raw.name}!{seen[name]})", path,
                           f"{raw.name}!{raw.letter(i)}1", expected="each column once: delete or rename one of them")
            continue
        seen[name] = f"{raw.letter(i)}1"
        out[i] = name
    return out, misspelt


def _settings(raw: RawSheet, path: Path, problems: Problems, formulas: set[str]) -> dict[str, Record]:
    hmap, _ = _header_map(raw, S.SHEET["Settings"], path, problems)
    pos = {v: k for k, v in hmap.items()}
    missing = [need for need in ("key", "value") if need not in pos]
    if missing:
        problems.error(f"missing column '{missing[0]}'", path, f"{raw.name}!1:1",
                       expected="the headers key and value in row 1")
        return {}
    letters = {name: raw.letter(i) for i, name in hmap.items()}
    out: dict[str, Record] = {}
    for rownum, vals in raw.rows:
        def get(c: str, vals: list = vals):
            return vals[pos[c]] if c in pos and pos[c] < len(vals) else None

        key, where = get("key"), f"Settings!{letters['key']}{rownum}"
        if key is None:
            if get("value") is not None:
                problems.error("a setting has a value but no key", path, where, expected="one of " + ", ".join(S.SETTING))
            continue
        kl = str(key).strip().lower()
        if kl not in S.SETTING:
            problems.error("unknown setting" + did_you_mean(kl, S.SETTING), path, where, found=key,
                           expected="one of " + ", ".join(S.SETTING))
            continue
        col = S.SETTING[kl]
        value, why = parse_value(col, get("value"))
        rec = Record("Settings", {"key": kl, "value": value}, str(path), rownum, letters)
        for extra in ("source", "note"):
            if extra in pos:
                rec.values[extra] = get(extra)
        if why or f"{letters['value']}{rownum}" in formulas:
            if why:
                problems.error(f"{kl} {why}", path, f"Settings!{letters['value']}{rownum}", found=get("value"),
                               expected=expected_text(col))
            rec.values["_bad"] = ("value",)
        if kl in out:
            problems.error(f"setting {kl} appears twice (also at Settings!{letters['key']}{out[kl].row})", path, where,
                           expected="each setting once: delete one of the rows")
        out[kl] = rec
    return out


def _records(raw: RawSheet, sheet: S.Sheet, path: Path, problems: Problems, formulas: set[str]) -> tuple[list[Record], set[str]]:
    """One Record per data row, parsed column by column; each unreadable cell is reported, row by row."""
    hmap, misspelt = _header_map(raw, sheet, path, problems)
    cols = S.all_columns(sheet)
    letters = {name: raw.letter(i) for i, name in hmap.items()}
    names = list(hmap.values())
    typed, failed = [], []  # failed: (row position, column position, column, problem)
    for i, name in hmap.items():
        values, why = parse_column(cols[name], raw.columns[i])
        typed.append(values)
        failed.extend((k, i, name, w) for k, w in why.items())
    bad: dict[int, list[str]] = {}  # row position -> columns whose cell could not be read
    for k, i, name, why in sorted(failed):
        bad.setdefault(k, []).append(name)
        problems.error(f"{name} {why}", path, f"{sheet.name}!{letters[name]}{raw.numbers[k]}", found=raw.columns[i][k],
                       expected=expected_text(cols[name]))
    for k, name in _formula_blanks(raw, hmap, formulas):
        bad.setdefault(k, []).append(name)  # already reported as a formula without a value
    content = [raw.columns[i] for i, name in hmap.items() if name not in ("source", "note")]
    if any(None not in cells for cells in content):  # a column filled in every row: no row is blank
        kept = range(len(raw.numbers))
    else:
        filled = [cells.count(None) < len(content) for cells in zip(*content)] if content else [False] * len(raw.numbers)
        kept = [k for k, full in enumerate(filled) if full or k in bad]  # a row with only source or note is blank
    if len(kept) < len(raw.numbers):
        typed = [[values[k] for k in kept] for values in typed]
    numbers = [raw.numbers[k] for k in kept]
    file, spelt = str(path), sorted(misspelt)
    columns = dict(zip(names, typed))
    src = (sheet.name, columns, numbers, file, letters)
    records = Rows(Record._read(src, len(numbers)), columns, numbers, file)
    if bad or spelt:
        for j, k in enumerate(kept):
            if k in bad or spelt:  # a misspelt header's blanks are reported once, at the header
                records[j].values["_bad"] = tuple(sorted(bad.get(k, []) + spelt))
    return records, set(hmap.values()) | misspelt


def _formula_blanks(raw: RawSheet, hmap: dict[int, str], formulas: set[str]) -> list[tuple[int, str]]:
    """(row position, column) of each blank cell holding a formula saved without its value."""
    if not formulas:
        return []
    at = {raw.letter(i): (i, name) for i, name in hmap.items()}
    position = {str(n): k for k, n in enumerate(raw.numbers)}
    out = []
    for a1 in formulas:
        m = _A1.fullmatch(a1)
        if m and m.group(1) in at and m.group(2) in position:
            (i, name), k = at[m.group(1)], position[m.group(2)]
            if raw.columns[i][k] is None:
                out.append((k, name))
    return out


def _duplicates(sheet: S.Sheet, records: list[Record], problems: Problems) -> None:
    """Two rows of one file with the same key: report the later one, naming the first."""
    keys = list(zip(*(values_of(records, c) for c in sheet.key)))
    if len(set(keys)) == len(keys):
        return  # every key once: the usual sheet
    repeated = {k for k, n in Counter(keys).items() if n > 1}  # only rows with these keys can be duplicates
    required = [sheet.by_name[c].required for c in sheet.key]
    seen: dict[tuple, Record] = {}
    for rec, k in zip(records, keys):
        if k not in repeated or rec.values.get("delete") or any(v is None and req for v, req in zip(k, required)):
            continue
        first = seen.setdefault(k, rec)
        if first is rec:
            continue
        f, where = rec.ref(sheet.key[0])
        other = first.ref(sheet.key[0])[1]
        found = ", ".join("(blank)" if v is None else str(v) for v in k)
        roles = {r.values.get("role") for r in (first, rec)}
        if sheet.name == "Recipes" and roles == {"input", "byproduct"}:
            problems.error(f"a project may not take one of its by-products as an input (the other row is {other}): "
                           "processing gives the output a new origin, so the project would relabel its own tonnes",
                           f, where, found=found, expected="one row per project and material: input or byproduct")
        elif sheet.name == "Routes":
            problems.error(f"two Routes rows for the same origin, destination and material (also {other}): "
                           "they match the same flows equally well", f, where, found=found,
                           expected="one row per origin, destination and material: delete or merge one")
        else:
            what = sheet.row_word if len(sheet.key) == 1 else f"{sheet.name} row (same {', '.join(sheet.key)})"
            problems.error(f"duplicate {what}: also at {other}", f, where, found=found,
                           expected=f"each {'/'.join(sheet.key)} once: delete or merge one of the rows")


def read_case_file(path: Path, problems: Problems) -> CaseFile:
    """Read one workbook into typed records (no inheritance, no cross-checks)."""
    book: RawBook = read_book(path, wanted=None)
    problems.extend(book.problems)
    for sheet_name, cells in book.uncached_formulas.items():
        for a1 in cells:
            problems.error(
                "this cell holds a formula saved without its value, so minplan cannot see its result",
                path, f"{sheet_name}!{a1}",
                expected="the value itself, or open and save the file in Excel or LibreOffice, which stores formula values",
            )
    settings: dict[str, Record] = {}
    tables: dict[str, list[Record]] = {}
    columns: dict[str, set[str]] = {}
    present = set()
    known_lower = {s.lower(): s for s in S.SHEET}
    for name, raw in book.sheets.items():
        canonical = known_lower.get(name.strip().lower())
        formulas = set(book.uncached_formulas.get(name, ()))
        if canonical is None:
            if name.strip().lower() not in IGNORED_SHEETS:
                problems.warn(f"sheet '{name}' is not a case sheet and is ignored" + did_you_mean(name, S.SHEET), path, name)
            continue
        if canonical in present:
            problems.error(f"two sheets named {canonical} (names differ only in capitals or spaces)", path, name,
                           expected="one sheet per name: delete or rename one")
            continue
        if raw.hidden:
            problems.warn(f"sheet {name} is hidden; minplan reads it like any other", path, name)
        present.add(canonical)
        if canonical == "Settings":
            settings = _settings(raw, path, problems, formulas)
            columns["Settings"] = {"key", "value"}
        else:
            tables[canonical], columns[canonical] = _records(raw, S.SHEET[canonical], path, problems, formulas)
            _duplicates(S.SHEET[canonical], tables[canonical], problems)
    return CaseFile(path, settings, tables, present, columns, book.sha256)


# ---------------------------------------------------------------- inheritance


@dataclass
class MergedCase:
    """A case after inheritance: records per sheet, and the files it came from (top first)."""

    settings: dict[str, Record]
    tables: dict[str, list[Record]]
    present: set[str]
    columns: dict[str, set[str]]
    files: list[Path]
    sheet_files: dict[str, str] = field(default_factory=dict)  # sheet -> top-most file that has it
    base_failed: bool = False  # a base case could not be read: the case is incomplete, so not cross-checked
    digests: dict[str, str] = field(default_factory=dict)  # file -> SHA-256 of the bytes read


@collector_paused()
def read_case(path: str | Path, problems: Problems) -> MergedCase:
    """Read a case and every base it inherits from, merged row by row."""
    try:
        top = Path(path).resolve()
    except (RuntimeError, OSError):  # Python 3.11 reports a loop of symbolic links as RuntimeError
        raise UnreadableFile(path, f"{path} is a loop of symbolic links, not a file: give the path of the .xlsx "
                                   "workbook itself") from None
    return _read_chain(top, problems, [])


def _alone(own: CaseFile, problems: Problems, base_failed: bool = False) -> MergedCase:
    """A file with no (usable) base: delete rows have nothing to remove."""
    tables = {}
    for name, recs in own.tables.items():
        deleted = [rec for rec, flag in zip(recs, values_of(recs, "delete")) if flag]
        for rec in deleted:
            problems.warn("delete = Y only removes rows of a base case, and this case has no base_case: the row is ignored",
                          *rec.ref("delete"))
        tables[name] = [r for r in recs if not r.values.get("delete")] if deleted else recs.copy()
    return MergedCase(own.settings, tables, own.present, own.columns, [own.path], {s: str(own.path) for s in own.present},
                      base_failed, {str(own.path): own.sha256})


def _read_chain(path: Path, problems: Problems, chain: list[Path]) -> MergedCase:
    own = read_case_file(path, problems)
    base_rec = own.settings.get("base_case")
    if base_rec is None or base_rec.values.get("value") is None:
        return _alone(own, problems)
    named = str(base_rec.values["value"])
    f, where = base_rec.ref("value")
    try:
        base_path = (path.parent / named.replace("\\", "/")).resolve()  # a path typed on Windows works too
        exists = base_path.is_file()
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a loop of symbolic links (Python 3.11)
        base_path, exists = path.parent / named, False
    if base_path in chain or base_path == path:
        loop = " -> ".join(p.name for p in [*chain, path, base_path])
        problems.error(f"circular inheritance: {loop}", f, where, found=named,
                       expected="a base_case that does not lead back to this file")
        return _alone(own, problems)
    if not exists:
        problems.error(f"base case {base_path.name} not found (looked for {base_path})", f, where, found=named,
                       expected="the path of an existing .xlsx workbook, relative to this file's folder")
        return _alone(own, problems, base_failed=True)
    try:
        base = _read_chain(base_path, problems, [*chain, path])
    except UnreadableFile as exc:
        reason = exc.problems[0].message if exc.problems else "it cannot be read"
        problems.error(f"base case {base_path.name} cannot be read: {reason}", f, where, found=named,
                       expected="the path of a readable .xlsx case workbook")
        return _alone(own, problems, base_failed=True)
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
                    problems.warn("delete = Y names a row the base case does not have: nothing is removed", f, where,
                                  found=", ".join(map(str, key)))
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
    sheet_files = {**base.sheet_files, **{s: str(own.path) for s in own.present}}
    return MergedCase(settings, tables, base.present | own.present, columns, [own.path, *base.files], sheet_files,
                      base.base_failed, {str(own.path): own.sha256, **base.digests})


def _overlay(base: Record, top: Record) -> Record:
    """Cell-by-cell merge: a blank or absent cell in `top` keeps the base's value."""
    values = dict(base.values)
    inherited = {}
    for c, v in base.values.items():
        if v is not None and not c.startswith("_"):
            f, a1 = base.ref(c)
            inherited[c] = (f, a1.split("!", 1)[1])
    given = set()
    for c, v in top.values.items():
        if v is not None and c != "_bad":
            values[c] = v
            given.add(c)
            inherited.pop(c, None)
    bad = (set(base.values.get("_bad", ())) - given) | set(top.values.get("_bad", ()))
    values.pop("_bad", None)
    if bad:
        values["_bad"] = tuple(sorted(bad))
    return Record(top.sheet, values, top.file, top.row, top.letters, inherited or _NOT_INHERITED)
