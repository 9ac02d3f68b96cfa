"""The typed, validated, in-memory case that the formulation reads.

`load_case(path)` reads the workbook and its bases, validates everything and
returns a `Case`: settings with defaults applied and one pandas table per
sheet with every schema column (defaults applied, computed defaults filled
in). The formulation never goes back to Excel.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from model import schema as S
from model.problems import CaseError, Problem, Problems
from model.reader import MergedCase, read_case
from model.validate import validate


@dataclass(frozen=True)
class Case:
    """A validated case: `settings` and one DataFrame per sheet (all schema columns)."""

    path: Path
    settings: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    files: tuple[Path, ...]
    warnings: tuple[Problem, ...] = field(default_factory=tuple)

    def __getattr__(self, name: str) -> pd.DataFrame:
        # case.projects, case.demand, ... : the sheet's table
        tables = object.__getattribute__(self, "tables")
        for sheet in tables:
            if sheet.lower() == name:
                return tables[sheet]
        raise AttributeError(name)

    @property
    def years(self) -> list[int]:
        return list(range(self.settings["start_year"], self.settings["end_year"] + 1))

    @property
    def name(self) -> str:
        return self.settings.get("case_name") or self.path.stem

    def sha256(self) -> dict[str, str]:
        """SHA-256 of every file the case was read from (the case itself first)."""
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in self.files}


def check_case(path: str | Path) -> tuple[MergedCase | None, Problems]:
    """Read and validate; return the merged records and every problem found.

    Raises UnreadableFile (exit 2) when the top file cannot be read at all.
    """
    problems = Problems()
    merged = read_case(path, problems)
    validate(merged, problems)
    return merged, problems


def load_case(path: str | Path) -> Case:
    """Read, validate and build a Case; raise CaseError listing every error."""
    path = Path(path)
    merged, problems = check_case(path)
    if problems.errors:
        raise CaseError(problems.errors + problems.warnings)
    return build_case(path, merged, tuple(problems.warnings))


def build_case(path: Path, merged: MergedCase, warnings: tuple[Problem, ...] = ()) -> Case:
    """Turn validated records into typed tables, applying every default."""
    settings = {k.name: k.default for k in S.SETTINGS_KEYS}
    for key, rec in merged.settings.items():
        if rec.values.get("value") is not None:
            settings[key] = rec.values["value"]
    settings.setdefault("case_name", None)
    if not settings.get("case_name"):
        settings["case_name"] = path.stem
    start, end = settings["start_year"], settings["end_year"]
    tables: dict[str, pd.DataFrame] = {}
    for sheet in S.SHEETS:
        if sheet.name == "Settings":
            continue
        cols = [c.name for c in sheet.columns]
        rows = []
        for rec in merged.tables.get(sheet.name, []):
            row = {}
            for c in sheet.columns:
                v = rec.values.get(c.name)
                row[c.name] = c.default if v is None else v
            row["source"] = rec.values.get("source")
            row["note"] = rec.values.get("note")
            f, where = rec.ref()
            row["_file"], row["_row"] = Path(f).name, rec.row
            rows.append(row)
        df = pd.DataFrame(rows, columns=[*cols, "source", "note", "_file", "_row"])
        tables[sheet.name] = df.astype(object).where(df.notna(), None) if len(df) else df
    _computed_defaults(tables, start, end)
    return Case(path.resolve(), settings, tables, tuple(merged.files), warnings)


def _computed_defaults(t: dict[str, pd.DataFrame], start: int, end: int) -> None:
    """Defaults that depend on other values (DESIGN.md's schema table)."""
    p = t["Projects"]
    if len(p):
        p["earliest_fid_year"] = [start if v is None else v for v in p["earliest_fid_year"]]
        p["latest_fid_year"] = [
            (end - lead if lead is not None else end) if v is None else v
            for v, lead in zip(p["latest_fid_year"], p["lead_time_yr"])
        ]
    f = t["Funds"]
    if len(f):
        f["budget_cost_per_musd"] = [
            1.0 if (c is None and inst == "grant") else c for c, inst in zip(f["budget_cost_per_musd"], f["instrument"])
        ]
        f["eligible_regions"] = [tuple(v) if v else () for v in f["eligible_regions"]]
    k = t["Stockpiles"]
    if len(k):
        k["buy_until_year"] = [end if v is None else v for v in k["buy_until_year"]]
    d = t["Disruptions"]
    if len(d):
        d["end_year"] = [end if v is None else v for v in d["end_year"]]
        d["magnitude"] = [1.0 if (m is None and kind == "supply_cut") else m for m, kind in zip(d["magnitude"], d["kind"])]
    pol = t["Policies"]
    if len(pol):
        pol["year_from"] = [start if v is None else v for v in pol["year_from"]]
    if not len(t["Scenarios"]):
        t["Scenarios"] = pd.DataFrame(
            [{"scenario": "base", "probability": 1.0, "description": "the only scenario", "source": None, "note": None,
              "_file": None, "_row": None}]
        )
