"""Build the shipped case workbooks in cases/ from the sourced tables in data/.

    python data/build_cases.py [--out DIR]

writes DIR/base.xlsx (the full sourced base: every table, no disruption, one
scenario) and one small workbook per variant that inherits from a base via
Settings.base_case and lists only the rows that differ. Every row keeps its
`source` (and `note`) so each figure can be traced in the result's Inputs
sheet. The build is deterministic: the same CSVs give the same cell values.

Compact tables are expanded here: demand.csv gives a 2026 level and growth
rates, budgets.csv and supply.csv give year ranges. The variant tables
(scenarios, events, disruptions, policies, budget_changes, stockpile_changes,
variant_settings) carry a `case` column that names the variant each row
belongs to; variants.csv names each variant's base and description, bases
before the variants that inherit from them.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from model.case import schema as S
from model.case.writer import fill_sheet, save_workbook

DATA = ROOT / "data"
CASES = ROOT / "cases"
GROWTH_BREAK_YEAR = 2030  # demand.csv: first growth rate applies up to this year, the second after it
PROVENANCE = ("source", "note")

# data/<file>.csv -> case sheet, for the tables copied row by row into base.xlsx
BASE_TABLES = {
    "regions": "Regions",
    "materials": "Materials",
    "projects": "Projects",
    "recipes": "Recipes",
    "dependencies": "Dependencies",
    "funds": "Funds",
    "routes": "Routes",
    "stockpiles": "Stockpiles",
    "shortfall_costs": "ShortfallCosts",
}


# data/<file>.csv -> sheet of the variant its `case` column names; stockpile_changes rows replace base
# Stockpiles rows cell by cell (only the key and the listed columns are written)
VARIANT_TABLES = {
    "scenarios": "Scenarios",
    "events": "Events",
    "disruptions": "Disruptions",
    "policies": "Policies",
    "stockpile_changes": "Stockpiles",
}


# ------------------------------------------------------------------ reading


def read_table(name: str, data: Path = DATA) -> list[dict[str, str]]:
    """Rows of data/<name>.csv as dicts of trimmed strings (blank cells are '')."""
    with open(data / f"{name}.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for i, row in enumerate(rows, start=2):
        if None in row or None in row.values():
            raise ValueError(f"data/{name}.csv line {i}: wrong number of fields (quote text that holds commas)")
    return [{k: v.strip() for k, v in row.items()} for row in rows]


def _number(text: str) -> int | float:
    x = float(text)
    return int(x) if x.is_integer() and "." not in text else x


def typed(sheet: str, row: Mapping[str, str]) -> dict[str, Any]:
    """Convert a CSV row to cell values by the schema's column kinds; blank cells are left out."""
    cols = S.all_columns(S.SHEET[sheet])
    out: dict[str, Any] = {}
    for key, text in row.items():
        if text == "" or key not in cols:
            continue
        kind = cols[key].kind
        if kind in (S.NUMBER,):
            out[key] = _number(text)
        elif kind in (S.INTEGER, S.YEAR):
            out[key] = int(text)
        else:
            out[key] = text
    return out


def _settings(data: Path) -> tuple[dict[str, str], list[dict[str, Any]]]:
    rows = read_table("settings", data)
    values = {r["key"]: r["value"] for r in rows}
    return values, [_setting_row(r["key"], r["value"], r["source"]) for r in rows]


def _setting_row(key: str, value: str, source: str) -> dict[str, Any]:
    col = S.SETTING[key]
    v: Any = value
    if col.kind == S.NUMBER:
        v = _number(value)
    elif col.kind in (S.INTEGER, S.YEAR):
        v = int(value)
    return {"key": key, "value": v, "source": source}


def _years(row: Mapping[str, str], start: int, end: int) -> range:
    lo = int(row["year_from"]) if row.get("year_from") else start
    hi = int(row["year_to"]) if row.get("year_to") else end
    return range(lo, hi + 1)


# ------------------------------------------------------------------ base case


def demand_rows(data: Path, start: int, end: int) -> list[dict[str, Any]]:
    """Demand by member, material and year from a 2026 level and two growth rates."""
    out = []
    for r in read_table("demand", data):
        d0, g1, g2 = float(r["demand_2026_t"]), float(r["growth_to_2030_pct"]), float(r["growth_after_2030_pct"])
        for y in range(start, end + 1):
            early = min(y, GROWTH_BREAK_YEAR) - start
            late = max(0, y - GROWTH_BREAK_YEAR)
            value = round(d0 * (1 + g1 / 100) ** early * (1 + g2 / 100) ** late, 3)
            out.append({"region": r["region"], "material": r["material"], "year": y, "demand_t": value,
                        "source": r["source"]})
    return out


def budget_rows(data: Path, start: int, end: int) -> list[dict[str, Any]]:
    """Budgets by fund and year from per-year amounts over year ranges."""
    out = []
    for r in read_table("budgets", data):
        for y in _years(r, start, end):
            out.append({"fund": r["fund"], "year": y, "budget_musd": _number(r["budget_musd"]), "source": r["source"]})
    return out


def supply_rows(data: Path, start: int, end: int) -> list[dict[str, Any]]:
    """Supply offers by origin, material and year (blank years = the whole horizon)."""
    out = []
    for r in read_table("supply", data):
        for y in _years(r, start, end):
            out.append({"origin": r["origin"], "material": r["material"], "year": y, "max_t": _number(r["max_t"]),
                        "price_usd_per_t": _number(r["price_usd_per_t"]), "source": r["source"]})
    return out


def base_case(data: Path = DATA) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """(Settings rows, sheets) of the full sourced base case."""
    values, settings = _settings(data)
    start, end = int(values["start_year"]), int(values["end_year"])
    sheets: dict[str, list[dict[str, Any]]] = {}
    for name in ("regions", "materials", "demand", "projects", "recipes", "dependencies", "funds", "budgets",
                 "supply", "routes", "stockpiles", "shortfall_costs"):
        if name == "demand":
            sheets["Demand"] = demand_rows(data, start, end)
        elif name == "budgets":
            sheets["Budgets"] = budget_rows(data, start, end)
        elif name == "supply":
            sheets["Supply"] = supply_rows(data, start, end)
        else:
            sheet = BASE_TABLES[name]
            sheets[sheet] = [typed(sheet, r) for r in read_table(name, data)]
    return settings, sheets


# ------------------------------------------------------------------ variants


def _for_case(rows: Iterable[Mapping[str, str]], case: str) -> list[dict[str, str]]:
    return [{k: v for k, v in r.items() if k != "case"} for r in rows if r["case"] == case]


def budget_changes(case: str, data: Path, base_budgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Budgets rows that scale the base's budgets of a fund (or of every fund of an owner) over years."""
    owners = {r["fund"]: r["owner"] for r in read_table("funds", data)}
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for ch in _for_case(read_table("budget_changes", data), case):
        lo, hi, factor = int(ch["year_from"]), int(ch["year_to"]), float(ch["factor"])
        for b in base_budgets:
            hit = (ch["fund"] and b["fund"] == ch["fund"]) or (ch["owner"] and owners[b["fund"]] == ch["owner"])
            if hit and lo <= b["year"] <= hi:
                value = round(b["budget_musd"] * factor, 6)
                out[(b["fund"], b["year"])] = {"fund": b["fund"], "year": b["year"],
                                               "budget_musd": int(value) if value.is_integer() else value,
                                               "source": ch["source"]}
    return [out[k] for k in sorted(out)]


def variant_cases(data: Path = DATA) -> dict[str, tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]]:
    """case name -> (Settings rows, sheets) for every variant in variants.csv, in file order."""
    _, base_sheets = base_case(data)
    tables = {n: read_table(n, data) for n in (*VARIANT_TABLES, "variant_settings")}
    out: dict[str, tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]] = {}
    for v in read_table("variants", data):
        case = v["case"]
        _check_base_first(case, v["base_case"], out)
        settings = [
            {"key": "case_name", "value": case, "source": "assumption: a label naming the case (not a figure)"},
            {"key": "description", "value": v["description"], "source": v["source"]},
            {"key": "base_case", "value": v["base_case"], "source": "assumption: the case this variant changes"},
        ]
        settings += [_setting_row(r["key"], r["value"], r["source"]) for r in _for_case(tables["variant_settings"], case)]
        sheets: dict[str, list[dict[str, Any]]] = {}
        for name, sheet in VARIANT_TABLES.items():
            rows = [typed(sheet, r) for r in _for_case(tables[name], case)]
            if rows:
                sheets[sheet] = rows
        if "Events" in sheets and "Scenarios" in sheets:
            raise ValueError(f"{case}: rows in both scenarios.csv and events.csv; a case has one or the other")
        budgets = budget_changes(case, data, base_sheets["Budgets"])
        if budgets:
            sheets["Budgets"] = budgets
        out[case] = (settings, sheets)
    return out


def _check_base_first(case: str, base: str, built: Mapping[str, Any]) -> None:
    """A variant's base is base.xlsx or a variant listed above it in variants.csv (so it is written first)."""
    stem = Path(base).stem
    if stem != "base" and stem not in built:
        raise ValueError(f"variants.csv: {case} inherits {base}, which is not base.xlsx nor a variant listed above it")


# ------------------------------------------------------------------ writing


def _columns(sheet: str, rows: list[Mapping[str, Any]]) -> list[str]:
    order = [c.name for c in S.SHEET[sheet].columns] + list(PROVENANCE)
    return [c for c in order if any(c in r for r in rows)]


def write_book(path: Path, settings: list[Mapping[str, Any]], sheets: Mapping[str, list[Mapping[str, Any]]]) -> Path:
    """Write one case workbook, atomically: Settings (key, value, source) then each sheet in schema order."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Settings"
    named = {"Settings": settings, **sheets}
    first = True
    for sheet in (s.name for s in S.SHEETS):
        if sheet not in named:
            continue
        rows = list(named[sheet])
        if not first:
            ws = wb.create_sheet(sheet)
        first = False
        fill_sheet(ws, ["key", "value", "source"] if sheet == "Settings" else _columns(sheet, rows), rows)
        ws.freeze_panes = "A2"
    return save_workbook(wb, path)


def build(out: Path = CASES, data: Path = DATA) -> list[Path]:
    """Write base.xlsx and every variant into `out`; return the paths written."""
    written = [write_book(out / "base.xlsx", *base_case(data))]
    for case, (settings, sheets) in variant_cases(data).items():
        written.append(write_book(out / f"{case}.xlsx", settings, sheets))
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: build the shipped cases."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=CASES, help="folder to write the workbooks into (default: cases/)")
    args = ap.parse_args(argv)
    for p in build(args.out):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
