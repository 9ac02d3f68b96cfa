"""What a sweep varies: the `--vary` grammar, its checks against a case, and variants.

Grammar (one `--vary` option each; several give the Cartesian product)::

    vary    := target op values
    target  := SHEET "." COLUMN [ "[" filter { "," filter } "]" ]
             | "Settings." KEY
    filter  := COLUMN "=" value { "|" value }      rows whose COLUMN is one of the values
    op      := "="                                 set the cells to each value in turn
             | "*="                                multiply the cells by each value in turn
    values  := value { "," value }

Examples: ``Budgets.budget_musd[fund=vault]*=0.5,1,1.5,2``,
``Settings.risk_weight=0,0.5,1``, ``Projects.capex_musd[project=mine|refinery]*=0.8,1.2``.
The word ``blank`` sets an optional cell to blank (for example ``Stockpiles.capacity_t=blank,500``);
a multiplier leaves a blank cell blank.

Every target is checked against the loaded case before anything is solved: an
unknown sheet, column or filter column, a filter that matches no row, a value
the column cannot hold, or a multiplier on a column that is not a number is a
`RunError` whose message names what exists. A variant is the case with its
tables copied and the cells changed (`dataclasses.replace`): the input workbook
is never touched.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from model.case import schema as S
from model.case.cells import expected_text
from model.case.load import Case, build_case, sort_problems
from model.case.reader import Record, parse_value
from model.case.validate import validate
from model.problems import Problems, RunError

SET, MULTIPLY = "=", "*="
BLANK_WORD = "blank"
# Settings a sweep cannot vary: they fix the horizon (and the defaults computed from it) or name the case.
FIXED_SETTINGS = ("start_year", "end_year", "base_case", "case_name", "description")

_VARY = re.compile(
    r"^\s*(?P<sheet>[A-Za-z_][A-Za-z0-9_]*)\.(?P<col>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?:\[(?P<filter>[^\]]*)\])?\s*(?P<op>\*?=)\s*(?P<values>.*?)\s*$"
)
_FILTER = re.compile(r"^\s*(?P<col>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<values>.+?)\s*$")

GRAMMAR_HINT = (
    "write SHEET.COLUMN[FILTER]=V1,V2,... or SHEET.COLUMN[FILTER]*=M1,M2,... "
    "(FILTER is optional, e.g. [fund=vault]), or Settings.KEY=V1,V2,..."
)


@dataclass(frozen=True)
class Vary:
    """One checked `--vary`: which cells of which sheet, set to or multiplied by each value in turn."""

    text: str
    sheet: str
    column: str
    filters: tuple[tuple[str, tuple[Any, ...]], ...]
    op: str
    values: tuple[Any, ...]

    @property
    def label(self) -> str:
        """The target as a column header, e.g. ``Budgets.budget_musd[fund=vault]``."""
        if not self.filters:
            return f"{self.sheet}.{self.column}"
        conds = ",".join(f"{c}={'|'.join(_show(v) for v in vals)}" for c, vals in self.filters)
        return f"{self.sheet}.{self.column}[{conds}]"

    def describe(self, value: Any) -> str:
        """One value of this vary in words, e.g. ``Budgets.budget_musd[fund=vault]×0.5``."""
        return f"{self.label}{'×' if self.op == MULTIPLY else '='}{_show(value)}"


@dataclass(frozen=True)
class Variant:
    """One point of the sweep: an identifier and one value per Vary, in order."""

    vid: str
    values: tuple[Any, ...]

    def describe(self, varies: list[Vary]) -> str:
        return "; ".join(v.describe(x) for v, x in zip(varies, self.values))


def _show(v: Any) -> str:
    if v is None:
        return BLANK_WORD
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:  # not 1e300 as 301 digits
        return str(int(v))
    if isinstance(v, bool):
        return "Y" if v else "N"
    return str(v)


def _close(word: str, options) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",")]


def parse_vary(text: str, case: Case) -> Vary:
    """Parse one `--vary` and check it against `case`; raise RunError naming what exists."""
    m = _VARY.match(text)
    if not m:
        raise RunError(f"--vary {text!r}: cannot read it; {GRAMMAR_HINT}")
    where = f"--vary {text!r}"
    names = {s.name.lower(): s.name for s in S.SHEETS}
    sheet = names.get(m["sheet"].lower())
    if sheet is None:
        raise RunError(f"{where}: no sheet {m['sheet']!r}{_close(m['sheet'], [s.name for s in S.SHEETS])}; "
                       f"sheets are {', '.join(s.name for s in S.SHEETS)}")
    op, raw_values = m["op"], m["values"]
    if not raw_values or any(v == "" for v in _split(raw_values)):
        raise RunError(f"{where}: a value is missing; give a comma list such as =0,0.5,1 or *=0.5,1,2")
    if sheet == "Settings":
        return _parse_setting(text, m["col"], m["filter"], op, _split(raw_values))
    spec = S.SHEET[sheet]
    cols = [c.name for c in spec.columns]
    col = m["col"]
    if col not in cols:
        raise RunError(f"{where}: {sheet} has no column {col!r}{_close(col, cols)}; its columns are {', '.join(cols)}")
    if col in spec.key:
        raise RunError(f"{where}: {sheet}.{col} is part of the sheet's key ({', '.join(spec.key)}) and cannot be varied; "
                       "vary a value column, and pick rows with a filter such as "
                       f"[{col}=...]")
    table = case.tables[sheet]
    if not len(table):
        raise RunError(f"{where}: the case has no {sheet} rows to vary")
    filters = _parse_filters(where, sheet, spec, table, m["filter"])
    column = spec.by_name[col]
    values = _parse_values(where, f"{sheet}.{col}", column, op, _split(raw_values), case)
    return Vary(text, sheet, col, filters, op, values)


def _parse_setting(text: str, key: str, filt: str | None, op: str, raw: list[str]) -> Vary:
    where = f"--vary {text!r}"
    keys = [k.name for k in S.SETTINGS_KEYS]
    if key not in keys:
        raise RunError(f"{where}: no setting {key!r}{_close(key, keys)}; settings are {', '.join(keys)}")
    if filt is not None:
        raise RunError(f"{where}: Settings has one value per key and takes no [filter]; write Settings.{key}=...")
    if key in FIXED_SETTINGS:
        varied = [k for k in keys if k not in FIXED_SETTINGS]
        raise RunError(f"{where}: Settings.{key} cannot be varied in a sweep (it fixes the horizon or names the case); "
                       f"make a variant case for it instead. Settings a sweep can vary: {', '.join(varied)}")
    values = _parse_values(where, f"Settings.{key}", S.SETTING[key], op, raw, None)
    return Vary(text, "Settings", key, (), op, values)


def _parse_filters(where: str, sheet: str, spec: S.Sheet, table: pd.DataFrame, text: str | None):
    if text is None:
        return ()
    cols = [c.name for c in spec.columns]
    out = []
    for part in [p for p in text.split(",") if p.strip()] or [""]:
        fm = _FILTER.match(part)
        if not fm:
            raise RunError(f"{where}: cannot read the filter [{text}]; write [COLUMN=VALUE] or [COLUMN=A|B], "
                           "several separated by commas, e.g. [fund=vault,year=2030]")
        fcol = fm["col"]
        if fcol not in cols:
            raise RunError(f"{where}: {sheet} has no column {fcol!r} to filter on{_close(fcol, cols)}; "
                           f"its columns are {', '.join(cols)}")
        column = spec.by_name[fcol]
        wanted = []
        for raw in fm["values"].split("|"):
            v, problem = parse_value(column, raw.strip())
            wanted.append(raw.strip() if problem else v)
        present = [v for v in table[fcol].tolist() if v is not None]
        missing = [w for w in wanted if not any(_same(w, p) for p in present)]
        if missing:
            shown = sorted({_show(p) for p in present}, key=str)
            listing = ", ".join(shown[:40]) + (f", ... ({len(shown)} in all)" if len(shown) > 40 else "")
            raise RunError(f"{where}: no {sheet} row has {fcol} = {', '.join(_show(w) for w in missing)!s}"
                           f"{_close(str(missing[0]), shown)}; {fcol} values present: {listing or '(none)'}")
        out.append((fcol, tuple(wanted)))
    rows = row_mask(table, tuple(out))
    if not rows.any():
        raise RunError(f"{where}: no {sheet} row matches all of [{text}] at once")
    return tuple(out)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return float(a) == float(b)
    return _show(a) == _show(b)


def row_mask(table: pd.DataFrame, filters) -> pd.Series:
    """The rows of `table` every filter matches (all rows when there is no filter)."""
    mask = pd.Series(True, index=table.index)
    for col, wanted in filters:
        mask &= table[col].map(lambda v, w=wanted: v is not None and any(_same(x, v) for x in w))
    return mask


def _parse_values(where: str, target: str, column: S.Column, op: str, raw: list[str], case: Case | None) -> tuple:
    numeric = column.kind in (S.NUMBER, S.INTEGER)
    if op == MULTIPLY:
        if not numeric:
            kind = column.expected() if column.kind != S.TEXT else "text"
            raise RunError(f"{where}: {target} holds {kind}, not a number, so it cannot be multiplied; "
                           f"set it with = and a list of values instead")
        out = []
        for r in raw:
            try:
                out.append(float(r))
            except ValueError:
                raise RunError(f"{where}: multiplier {r!r} is not a number; write e.g. *=0.5,1,2") from None
            if out[-1] < 0:
                raise RunError(f"{where}: multiplier {r!r} is negative; multipliers are numbers ≥ 0")
        return tuple(out)
    out = []
    for r in raw:
        if r.lower() == BLANK_WORD:
            if column.required:
                raise RunError(f"{where}: {target} is required and cannot be blank")
            out.append(None)
            continue
        v, problem = parse_value(column, r)
        if problem:
            raise RunError(f"{where}: {r!r} cannot go in {target} ({problem}); expected {column.expected()}")
        if column.ref and case is not None and v not in column.ref_extra:
            keys = {str(x) for x in case.tables[column.ref][S.SHEET[column.ref].key[0]].tolist()}
            if str(v) not in keys:
                raise RunError(f"{where}: {r!r} is not on the {column.ref} sheet; known: {', '.join(sorted(keys))}")
        out.append(v)
    return tuple(out)


def parse_varies(texts: list[str] | tuple[str, ...], case: Case) -> list[Vary]:
    """Parse every `--vary`; a target named twice is an error (its variants would collide)."""
    if not texts:
        raise RunError(f"nothing to vary: give at least one --vary; {GRAMMAR_HINT}")
    varies = [parse_vary(t, case) for t in texts]
    seen: dict[str, str] = {}
    for v in varies:
        if v.label in seen:
            raise RunError(f"--vary {v.text!r} and --vary {seen[v.label]!r} change the same cells; merge them into one list")
        seen[v.label] = v.text
    return varies


def variants(varies: list[Vary]) -> list[Variant]:
    """The Cartesian product of the values, first --vary slowest; ids v01, v02, ... in that order."""
    combos = list(itertools.product(*(v.values for v in varies)))
    width = max(2, len(str(len(combos))))
    return [Variant(f"v{i:0{width}d}", tuple(c)) for i, c in enumerate(combos, start=1)]


def apply_variant(case: Case, varies: list[Vary], variant: Variant) -> Case:
    """A new Case with the variant's cells changed; `case` is left untouched.

    RunError if a value leaves its column's range, or if the variant breaks a rule of the case (see `check_variant`).
    """
    built, problems = check_variant(case, varies, variant)
    if built is None:
        raise RunError("; ".join(problems))
    return built


def check_variant(case: Case, varies: list[Vary], variant: Variant) -> tuple[Case | None, list[str]]:
    """The variant's Case, or None and the validator's messages when the variant breaks a rule of the case.

    A case read from a file is varied in its validated records and validated again exactly as a file would be
    (each cell parsed by its column, then every rule between cells and sheets), so a sweep never solves a case that
    `minplan validate` would refuse. Each message names the cell in the case's file and the `--vary` that changed
    it. A Case built in code (no records) is varied in its tables, with the range checks only.
    """
    if case.records is None:
        return _vary_tables(case, varies, variant), []
    merged = dataclasses.replace(case.records, settings=dict(case.records.settings),
                                 tables={k: list(v) for k, v in case.records.tables.items()})
    problems = Problems()
    changed: dict[tuple[str, str], str] = {}  # (file, Sheet!A1) -> the --vary that set it
    top = str(case.files[0]) if case.files else str(case.path)
    for vary, value in zip(varies, variant.values):
        if vary.sheet == "Settings":
            column = S.SETTING[vary.column]
            new = _new_value(column, vary.op, case.settings.get(vary.column), value)
            _check_range(vary, variant, column, new, "")
            rec = merged.settings.get(vary.column)
            rec = Record("Settings", {"key": vary.column}, top, 0, {}) if rec is None else dataclasses.replace(
                rec, values=dict(rec.values))
            merged.settings[vary.column] = rec
            _put_cell(rec, "value", column, new, problems, changed, vary)
            continue
        table, recs = case.tables[vary.sheet], merged.tables.get(vary.sheet, [])
        if len(recs) != len(table):
            raise RunError(f"--vary {vary.text!r}: the case has no {vary.sheet} rows of its own to vary")
        column = S.SHEET[vary.sheet].by_name[vary.column]
        for i in table.index[row_mask(table, vary.filters)]:
            new = _new_value(column, vary.op, table.at[i, vary.column], value)
            _check_range(vary, variant, column, new, f" ({table.at[i, '_file']} row {table.at[i, '_row']})")
            rec = recs[i] = dataclasses.replace(recs[i], values=dict(recs[i].values), inherited=dict(recs[i].inherited))
            _put_cell(rec, vary.column, column, new, problems, changed, vary)
    validate(merged, problems)
    errors = sort_problems(problems.errors, merged.files)
    if errors:
        made = variant.describe(varies)
        return None, [f"{p} (changed by --vary {changed[(p.file, p.where)]!r})" if (p.file, p.where) in changed
                      else f"{p} (in the variant {made})" for p in errors]
    built = build_case(case.path, merged, case.warnings, keep_records=False)
    varied = {v.sheet for v in varies}  # a sheet not varied is the same table: share it rather than hold a copy
    tables = {name: t if name in varied else case.tables[name] for name, t in built.tables.items()}
    return _named(case, dataclasses.replace(built, tables=tables), varies, variant), []


def _put_cell(rec: Record, col: str, column: S.Column, new: Any, problems: Problems,
              changed: dict[tuple[str, str], str], vary: Vary) -> None:
    """Put `new` in the record's cell as if typed there: parsed by its column, a problem where it does not fit."""
    changed[rec.ref(col)] = vary.text
    value, why = parse_value(column, new)
    bad = tuple(c for c in rec.values.get("_bad", ()) if c != col)
    if why:
        f, where = rec.ref(col)
        problems.error(f"{col} {why}", f, where, found=new, expected=expected_text(column))
        value, bad = None, (*bad, col)
    rec.values[col] = value
    rec.values.pop("_bad", None)
    if bad:
        rec.values["_bad"] = bad


def _named(case: Case, built: Case, varies: list[Vary], variant: Variant) -> Case:
    settings = dict(built.settings)
    settings["case_name"] = f"{case.name}_{variant.vid}"
    settings["description"] = f"sweep variant {variant.vid} of {case.name}: {variant.describe(varies)}"
    return dataclasses.replace(built, settings=settings)


def _vary_tables(case: Case, varies: list[Vary], variant: Variant) -> Case:
    settings = dict(case.settings)
    tables = dict(case.tables)
    copied: set[str] = set()
    for vary, value in zip(varies, variant.values):
        if vary.sheet == "Settings":
            column = S.SETTING[vary.column]
            old = settings.get(vary.column)
            new = _new_value(column, vary.op, old, value)
            _check_range(vary, variant, column, new, "")
            settings[vary.column] = new
            continue
        if vary.sheet not in copied:
            tables[vary.sheet] = tables[vary.sheet].copy()
            copied.add(vary.sheet)
        table = tables[vary.sheet]
        column = S.SHEET[vary.sheet].by_name[vary.column]
        rows = table.index[row_mask(table, vary.filters)]
        for i in rows:
            new = _new_value(column, vary.op, table.at[i, vary.column], value)
            _check_range(vary, variant, column, new, f" ({table.at[i, '_file']} row {table.at[i, '_row']})")
            table.at[i, vary.column] = new
    return _named(case, dataclasses.replace(case, settings=settings, tables=tables), varies, variant)


def _new_value(column: S.Column, op: str, old: Any, value: Any) -> Any:
    if op == SET:
        return value
    if old is None:
        return None  # a blank (no limit) stays blank
    new = float(old) * value
    if column.kind == S.INTEGER:
        return int(new) if float(new).is_integer() else new
    return new


def _check_range(vary: Vary, variant: Variant, column: S.Column, new: Any, where: str) -> None:
    if new is None:
        return
    if column.kind == S.INTEGER and not float(new).is_integer():
        raise RunError(f"--vary {vary.text!r}: variant {variant.vid} makes {vary.sheet}.{vary.column}{where} {new:g}, "
                       "not a whole number; choose multipliers that keep it whole")
    if isinstance(new, (int, float)) and not isinstance(new, bool):
        lo_bad = column.min is not None and (new < column.min or (column.min_open and new == column.min))
        hi_bad = column.max is not None and (new > column.max or (column.max_open and new == column.max))
        if lo_bad or hi_bad:
            raise RunError(f"--vary {vary.text!r}: variant {variant.vid} makes {vary.sheet}.{vary.column}{where} "
                           f"{new:g}; expected {column.expected()}")


def plan(case: Case, texts: list[str] | tuple[str, ...]
         ) -> tuple[list[Vary], list[Variant], list[Case | None], dict[str, list[str]]]:
    """Parse the varies, list the variants and build and validate every variant case, before any solve.

    Returns the varies, the variants, each variant's Case (None when it breaks a rule of the case) and the
    validator's messages by variant id for those.
    """
    varies = parse_varies(texts, case)
    points = variants(varies)
    cases, invalid = [], {}
    for p in points:
        built, problems = check_variant(case, varies, p)
        cases.append(built)
        if problems:
            invalid[p.vid] = problems
    return varies, points, cases, invalid
