"""The typed, validated, in-memory case that the formulation reads.

`load_case(path)` reads the workbook and its bases, validates everything and
returns a `Case`: settings with defaults applied and one pandas table per
sheet with every schema column (defaults applied, computed defaults filled
in). The formulation never goes back to Excel.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.case import schema as S
from model.case.families import generate
from model.case.reader import MergedCase, collector_paused, columns_kept, read_case, values_of
from model.case.validate import validate
from model.problems import ERROR, CaseError, Problem, Problems

if TYPE_CHECKING:  # pandas is imported when a Case is built, so `minplan validate` starts quickly
    import pandas as pd


@dataclass(frozen=True)
class Case:
    """A validated case: `settings` and one DataFrame per sheet (all schema columns)."""

    path: Path
    settings: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    files: tuple[Path, ...]
    warnings: tuple[Problem, ...] = field(default_factory=tuple)
    digests: dict[str, str] = field(default_factory=dict)  # file -> SHA-256 of the bytes that were read
    # the validated records the tables were built from: a sweep edits and re-validates them like a file
    records: MergedCase | None = field(default=None, repr=False, compare=False)
    sampled: bool = False  # the Scenarios table is a seeded sample of the Events family, not every combination

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
        """SHA-256 of every file the case was read from (the case itself first): of the bytes read when the
        case was loaded, so a file edited during the solve does not lend the result its new hash."""
        return {str(p): self.digests.get(str(p)) or hashlib.sha256(p.read_bytes()).hexdigest() for p in self.files}


def check_case(path: str | Path) -> tuple[MergedCase | None, Problems]:
    """Read and validate; return the merged records and every problem found, in reading order.

    Raises UnreadableFile (exit 2) when the top file cannot be read at all.
    """
    problems = Problems()
    merged = read_case(path, problems)
    with columns_kept():
        validate(merged, problems)
    problems.items = sort_problems(problems.items, merged.files)
    return merged, problems


_SHEET_ORDER = {s.name: i for i, s in enumerate(S.SHEETS)}
_A1 = re.compile(r"^([A-Z]*)(\d*)")


def sort_problems(items: list[Problem], files: list[Path]) -> list[Problem]:
    """Errors first, then warnings; each by file (case first, then its bases), sheet order, row, column."""
    order = {str(f): i for i, f in enumerate(files)}

    def key(p: Problem) -> tuple:
        sheet, _, cell = p.where.partition("!")
        m = _A1.match(cell)
        col, row = (m.group(1), m.group(2)) if m else ("", "")
        return (p.severity != ERROR, order.get(p.file, -1), _SHEET_ORDER.get(sheet, -1),
                int(row) if row else 0, len(col), col)

    return sorted(items, key=key)


def load_case(path: str | Path) -> Case:
    """Read, validate and build a Case; raise CaseError listing every error."""
    path = Path(path)
    with columns_kept():  # validation and building read the same columns
        merged, problems = check_case(path)
        if problems.errors:
            raise CaseError(problems.errors + problems.warnings)
        return build_case(path, merged, tuple(problems.warnings))


@collector_paused()
def build_case(path: Path, merged: MergedCase, warnings: tuple[Problem, ...] = (), keep_records: bool = True) -> Case:
    """Turn validated records into typed tables, applying every default."""
    import pandas as pd

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
        recs = merged.tables.get(sheet.name, [])
        data: dict[str, list] = {}
        for c in sheet.columns:  # column by column: several times faster than row dicts
            values = values_of(recs, c.name)
            if c.default is not None and None in values:
                values = [c.default if v is None else v for v in values]
            data[c.name] = values
        data["source"] = values_of(recs, "source")
        data["note"] = values_of(recs, "note")
        if getattr(recs, "numbers", None) is not None:  # a sheet's Rows as read: one file, its row numbers kept
            data["_file"], data["_row"] = [Path(recs.file).name] * len(recs), recs.numbers
        else:
            names = {f: Path(f).name for f in {r.file for r in recs}}
            data["_file"] = [names[r.file] for r in recs]
            data["_row"] = [r.row for r in recs]
        # object columns keep whole numbers as Python ints and blanks as None (never NaN, which is truthy)
        tables[sheet.name] = pd.DataFrame({k: _objects(v) for k, v in data.items()}, dtype=object)
    _computed_defaults(tables, start, end)
    sampled = _scenario_family(tables, int(settings["max_scenarios"]), int(settings["random_seed"] or 0))
    return Case(path.resolve(), settings, tables, tuple(merged.files), warnings, dict(merged.digests),
                merged if keep_records else None, sampled=sampled)


def _computed_defaults(t: dict[str, pd.DataFrame], start: int, end: int) -> None:
    """Defaults that depend on other values (DESIGN.md's schema table)."""
    import pandas as pd

    p = t["Projects"]
    if len(p):
        _put(p, "earliest_fid_year", [start if v is None else v for v in p["earliest_fid_year"]])
        _put(p, "latest_fid_year", [
            (end - lead if lead is not None else end) if v is None else v
            for v, lead in zip(p["latest_fid_year"], p["lead_time_yr"])
        ])
    f = t["Funds"]
    if len(f):
        _put(f, "budget_cost_per_musd", [
            1.0 if (c is None and inst == "grant") else c for c, inst in zip(f["budget_cost_per_musd"], f["instrument"])
        ])
        _put(f, "eligible_regions", [tuple(v) if v else () for v in f["eligible_regions"]])
    k = t["Stockpiles"]
    if len(k):
        _put(k, "buy_until_year", [end if v is None else v for v in k["buy_until_year"]])
    d = t["Disruptions"]
    if len(d):
        _put(d, "end_year", [end if v is None else v for v in d["end_year"]])
        _put(d, "magnitude", [1.0 if (m is None and kind == "supply_cut") else m for m, kind in zip(d["magnitude"], d["kind"])])
    pol = t["Policies"]
    if len(pol):
        _put(pol, "year_from", [start if v is None else v for v in pol["year_from"]])
    if not len(t["Scenarios"]):
        t["Scenarios"] = pd.DataFrame(
            [{"scenario": "base", "probability": 1.0, "description": "the only scenario", "source": None, "note": None,
              "_file": None, "_row": None}], dtype=object,
        )


def _scenario_family(t: dict[str, pd.DataFrame], max_scenarios: int, seed: int) -> bool:
    """Scenarios generated from the Events sheet (DESIGN "Scenario families"); True when they are a sample.

    Every Scenarios table carries `options`, the scenario's event=option labels: () for listed scenarios.
    """
    import pandas as pd

    if not len(t["Events"]):
        _put(t["Scenarios"], "options", [() for _ in range(len(t["Scenarios"]))])
        return False
    rows, sampled = generate(t["Events"].to_dict("records"), max_scenarios, seed)
    cols = {"scenario": [r["scenario"] for r in rows], "probability": [r["probability"] for r in rows],
            "description": [r["description"] for r in rows], "source": [None] * len(rows),
            "note": ["sampled from the Events sheet" if sampled else "generated from the Events sheet"] * len(rows),
            "_file": [None] * len(rows), "_row": [None] * len(rows), "options": [r["options"] for r in rows]}
    t["Scenarios"] = pd.DataFrame({k: _objects(v) for k, v in cols.items()}, dtype=object)
    return sampled


def _objects(values: list):
    """A one-dimensional object array (a list of equal tuples must not become a 2-D array)."""
    import numpy as np

    return np.fromiter(values, dtype=object, count=len(values))


def _put(df: pd.DataFrame, col: str, values: list) -> None:
    """Replace a column keeping Python values (ints stay ints, blanks stay None)."""
    import pandas as pd

    df[col] = pd.Series(values, index=df.index, dtype=object)
