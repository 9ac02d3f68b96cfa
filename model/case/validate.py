"""Cross-sheet validation of a merged case: every problem at once, by cell.

Cell-level checks (types, ranges, allowed words) and duplicate keys within a
file happen while reading, from the schema. Here are the checks that need
more than one cell: required sheets and columns, the horizon, references and
look-alike identifiers. The rules DESIGN.md states between columns and sheets
are in `rules` and `origin_rules`, the data-feasibility checks in `feasibility`.
"""

from __future__ import annotations

from pathlib import Path

from model.case import schema as S
from model.case.cells import escaped, expected_text, skeleton, unusual
from model.case.feasibility import feasibility
from model.case.origin_rules import origin_rules
from model.case.reader import MergedCase, collector_paused, values_of
from model.case.rules import Ctx, bad, err, rules, warn
from model.problems import Problems

KEYED = ("Regions", "Materials", "Projects", "Funds", "Scenarios", "Stockpiles")


@collector_paused()
def validate(case: MergedCase, problems: Problems) -> None:
    """Append every cross-sheet problem of `case` to `problems`."""
    if case.base_failed:
        return  # without its base the case is incomplete: every check would only repeat that
    top = str(case.files[0])
    _structure(case, problems, top)
    start, end = _horizon(case, problems, top)
    t = case.tables
    keys = {name: set(values_of(t.get(name, []), S.SHEET[name].key[0])) - {None} for name in KEYED}
    if not t.get("Scenarios"):
        keys["Scenarios"] = {"base"}
    if t.get("Events"):
        del keys["Scenarios"]  # Disruptions name event=option labels then: checked by the Events rules
    ctx = Ctx(t, keys, start, end, case.present)
    _references(case, problems, ctx)
    _lookalikes(case, problems)
    rules(ctx, problems)
    origin_rules(ctx, problems)
    feasibility(ctx, problems)


def _structure(case: MergedCase, p: Problems, top: str) -> None:
    for sheet in S.SHEETS:
        if sheet.name not in case.present:
            if sheet.required:
                p.error(f"missing required sheet {sheet.name}", top, sheet.name,
                        expected=f"a sheet named {sheet.name}; 'minplan new' writes a template with every sheet")
            continue
        if sheet.name == "Settings":
            continue
        have = case.columns.get(sheet.name, set())
        if not case.tables.get(sheet.name) and not have:
            continue  # an empty sheet: no rows
        where_file = case.sheet_files.get(sheet.name, top)
        for col in sheet.columns:
            if col.required and col.name not in have:
                p.error(f"missing required column '{col.name}'", where_file, f"{sheet.name}!1:1",
                        expected=f"a header {col.name} in row 1 of {sheet.name}")
        required = [col for col in sheet.columns if col.required and col.name in have]
        recs = case.tables.get(sheet.name, [])
        blank = {k for col in required if None in (cells := values_of(recs, col.name))
                 for k, v in enumerate(cells) if v is None}
        for rec in map(recs.__getitem__, sorted(blank)):  # row by row, as a planner reads the sheet
            for col in required:
                if rec.values.get(col.name) is None and not bad(rec, col.name):
                    err(p, rec, col.name, f"{col.name} is blank, and this column is required", expected=expected_text(col))


def _horizon(case: MergedCase, p: Problems, top: str) -> tuple[int | None, int | None]:
    s = case.settings
    for col in S.SETTINGS_KEYS:
        rec = s.get(col.name)
        if not col.required or (rec is not None and (rec.values.get("value") is not None or rec.values.get("_bad"))):
            continue
        if rec is None and "Settings" in case.present:
            p.error(f"setting {col.name} is missing", case.sheet_files.get("Settings", top), "Settings",
                    expected=f"a row with key {col.name} and its value: {expected_text(col)}")
        elif rec is not None:
            err(p, rec, "value", f"{col.name} is blank", expected=expected_text(col))
    start = s["start_year"].values.get("value") if "start_year" in s else None
    end = s["end_year"].values.get("value") if "end_year" in s else None
    if start is not None and end is not None and start > end:
        err(p, s["end_year"], "value", "end_year is before start_year", found=end, expected=f"a year from {start} on")
        return None, None
    return start, end


# references that must name a member region, not just any region
_MEMBER_ONLY = {("Demand", "region"), ("Funds", "owner"), ("Stockpiles", "location"), ("Stockpiles", "owner"),
                ("Policies", "region"), ("ShortfallCosts", "region")}


def _references(case: MergedCase, p: Problems, ctx: Ctx) -> None:
    for sheet in S.SHEETS:
        for col in sheet.columns:
            pool = ctx.keys.get(col.ref) if col.ref else None
            if pool is None or (S.SHEET[col.ref].required and col.ref not in case.present):
                continue  # the missing sheet is reported once, not at every reference
            what = col.ref[:-1].lower()
            extra = "".join(f" or '{w}'" for w in col.ref_extra)
            expected = f"a {what} listed on the {col.ref} sheet{extra}"
            recs = case.tables.get(sheet.name, [])
            values = values_of(recs, col.name)
            named = set(values) - {None, *col.ref_extra}
            odd = named - pool
            if (sheet.name, col.name) in _MEMBER_ONLY:
                odd |= named - ctx.maybe_members
            if not odd:
                continue
            for rec, v in zip(recs, values):  # only the rows naming an odd value have something to say
                if v not in odd:
                    continue
                if v not in pool:
                    err(p, rec, col.name, f"unknown {what}{ctx.hint(v, col.ref)}", found=v, expected=expected)
                elif (sheet.name, col.name) in _MEMBER_ONLY and v not in ctx.maybe_members:
                    err(p, rec, col.name, f"{col.name} must be a member region", found=v,
                        expected="a region with member = Y on the Regions sheet" + (", or 'joint'" if col.ref_extra else ""))


def _lookalikes(case: MergedCase, p: Problems) -> None:
    """Declared identifiers that look the same (capitals, invisible characters, letters of another script): warn
    at the later one, naming the first one's cell."""
    for name in KEYED:
        key = S.SHEET[name].key[0]
        seen: dict[str, object] = {}
        for rec in case.tables.get(name, []):
            v = rec.values.get(key)
            if v is None:
                continue
            first = seen.setdefault(skeleton(str(v)), rec)
            w = first.values.get(key)
            if first is rec or w == v:
                continue
            f, other = first.ref(key)
            at = other if f == rec.ref(key)[0] else f"{other} of {Path(f).name}"
            if str(v).lower() == str(w).lower():
                warn(p, rec, key, f"'{v}' and '{w}' at {at} differ only in capitals; "
                     "minplan treats them as two different identifiers", found=v)
                continue
            odd = " and ".join(f"'{escaped(str(x))}' holds {unusual(str(x))}" for x in (v, w) if unusual(str(x)))
            warn(p, rec, key, f"'{escaped(str(v))}' and '{escaped(str(w))}' at {at} look the same but are different "
                 f"identifiers: {odd}", found=v, expected="plain letters and digits: retype the one that was pasted")
