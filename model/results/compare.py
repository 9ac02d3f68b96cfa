"""Compare result workbooks side by side: KPIs with differences, portfolio, yearly series, provenance.

`compare_results(books)` returns a `Comparison` of plain tables: the first
run is the reference, and every other run gets an absolute and a percent
difference against it. Runs with different horizons, members, funds or
projects still compare: tables are outer-joined on their keys, a value a run
does not have is blank, and `notes` says what could not be aligned.
`warnings` says when the runs came from different minplan versions or from
different base data (the SHA-256 of the root file of each case's
inheritance chain). model.results.comparebook writes the comparison workbook.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from model.results.charts import expected
from model.results.read import ResultBook
from model.tables import SUPPLY_SOURCES

ALWAYS_SHOWN = ("from_projects_t", "shortfall_t")  # supply sources shown even when zero in every year
REL_ZERO = 1e-9  # differences smaller than this, relative to the values, are shown as zero


@dataclass
class Comparison:
    """The comparison as plain tables (see model.results.comparebook for the sheets they become)."""

    labels: list[str]
    kpis: pd.DataFrame
    portfolio: pd.DataFrame
    series: dict[str, pd.DataFrame]  # sheet name -> year x "<item> | <run>" table
    runs: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_labels(books: list[ResultBook]) -> list[str]:
    """A short, unique label per run: the file name without .xlsx, numbered when two are the same."""
    stems = [b.path.stem for b in books]
    return [f"{i}:{s}" if stems.count(s) > 1 else s for i, s in enumerate(stems, start=1)]


def as_number(v: Any) -> float | None:
    """A cell's value as a float, or None when it is not a number."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def difference(a: Any, b: Any) -> tuple[float | None, float | None]:
    """(b − a, (b − a)/|a|) with tiny differences shown as zero; None where either is not a number."""
    x, y = as_number(a), as_number(b)
    if x is None or y is None:
        return None, None
    d = y - x
    if abs(d) <= REL_ZERO * max(1.0, abs(x), abs(y)):
        d = 0.0
    pct = d / abs(x) if x != 0 else (0.0 if d == 0 else None)
    return d, pct


def real_difference(d: Any, pct: Any, unit: str | None) -> bool:
    """True when a difference is worth shading: fractions by at least 0.05 points, other numbers by 0.05% or more."""
    x = as_number(d)
    if x is None or x == 0 or (isinstance(x, float) and math.isnan(x)):
        return False
    if unit == "fraction":
        return abs(x) >= 5e-4
    p = as_number(pct)
    return p is None or math.isnan(p) or abs(p) >= 5e-4


# ---------------------------------------------------------------- KPIs of one run


def _funded(book: ResultBook) -> pd.DataFrame:
    p = book.tables["Portfolio"]
    if not len(p) or "funded" not in p.columns:
        return p.iloc[0:0]
    return p[p["funded"].map(lambda v: v is True or str(v).lower() in ("true", "1", "y", "yes"))]


def run_kpis(book: ResultBook) -> dict[tuple[str, str, str], Any]:
    """(group, item, unit) -> value for one run: objective and breakdown, KPIs, spend, shortfall, shares, stockpiles."""
    out: dict[tuple[str, str, str], Any] = {}
    summary = book.tables["Summary"]
    for section in ("outcome", "objective breakdown", "kpi"):
        rows = summary[summary["section"] == section]
        for item, value, unit in zip(rows["item"], rows["value"], rows.get("unit", [None] * len(rows))):
            if section == "outcome" and item not in ("status", "objective", "relative gap"):
                continue
            out[(section, str(item), unit or "")] = value
    probs = book.probabilities
    funding = book.tables["Funding"]
    if len(funding):
        spend = funding.assign(spend=_col(funding, "aid_musd") + _col(funding, "acquisitions_musd"))
        for fund, value in spend.groupby("fund")["spend"].sum().items():
            out[("public spend by fund", str(fund), "USD m")] = float(value)
    supply = book.tables["Supply"]
    if len(supply) and "shortfall_t" in supply.columns:
        short = expected(_numeric(supply, ["shortfall_t"]), probs, ["material"], ["shortfall_t"])
        for material, value in zip(short["material"], short["shortfall_t"]):
            out[("expected shortfall by material", str(material), "t")] = float(value)
    dep = book.tables["Dependence"]
    if len(dep) and {"concern_imports_t", "consumption_t"} <= set(dep.columns):
        shares = expected(_numeric(dep, ["concern_imports_t", "consumption_t"]), probs, ["material"],
                          ["concern_imports_t", "consumption_t"])
        for material, imp, cons in zip(shares["material"], shares["concern_imports_t"], shares["consumption_t"]):
            out[("concern share by material", str(material), "fraction")] = float(imp / cons) if cons > 0 else 0.0
    stock = book.tables["Stockpiles"]
    if len(stock) and "inventory_t" in stock.columns:
        inv = expected(_numeric(stock, ["inventory_t"]), probs, ["stockpile", "year"], ["inventory_t"])
        for name, value in inv.groupby("stockpile")["inventory_t"].max().items():
            out[("stockpile peak inventory", str(name), "t")] = float(value)
        if "buy_t" in stock.columns:
            bought = _numeric(stock, ["buy_t"]).drop_duplicates(["stockpile", "year"]).groupby("stockpile")["buy_t"].sum()
            for name, value in bought.items():
                out[("stockpile bought", str(name), "t")] = float(value)
    if not any(k[1] == "projects funded" for k in out):
        out[("portfolio", "projects funded", "")] = len(_funded(book))
    return out


def _col(df: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(df[col], errors="coerce").fillna(0.0) if col in df.columns else pd.Series(0.0, index=df.index)


def _numeric(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = df.copy()
    for c in cols:
        out[c] = pd.to_numeric(out[c], errors="coerce").fillna(0.0)
    return out


def kpi_table(books: list[ResultBook], labels: list[str], notes: list[str]) -> pd.DataFrame:
    """group, item, unit, one column per run, then '<run> − <first>' and '<run> Δ%' for every other run."""
    per_run = [run_kpis(b) for b in books]
    keys: list[tuple[str, str, str]] = []
    for k in per_run:
        keys += [key for key in k if key not in keys]
    rows = []
    for key in keys:
        row: dict[str, Any] = {"group": key[0], "item": key[1], "unit": key[2]}
        for label, k in zip(labels, per_run):
            row[label] = k.get(key)
        base = row[labels[0]]
        for label in labels[1:]:
            d, pct = difference(base, row[label])
            if d is None and isinstance(base, str) and isinstance(row[label], str):
                d = "same" if base == row[label] else "changed"
            row[f"{label} − {labels[0]}"], row[f"{label} Δ%"] = d, pct
        rows.append(row)
        absent = [lab for lab, k in zip(labels, per_run) if key not in k]
        if absent and key[0] != "kpi":
            notes.append(f"{key[0]} '{key[1]}' is not in {', '.join(absent)}: shown blank there")
    return pd.DataFrame(rows, dtype=object)  # object: a missing value stays None, not NaN


# ---------------------------------------------------------------- portfolio


def portfolio_table(books: list[ResultBook], labels: list[str]) -> pd.DataFrame:
    """One row per project in any run: what each run funds, its FID year and aid; `differs` names the runs
    that differ from the first."""
    frames = []
    for book, label in zip(books, labels):
        p = book.tables["Portfolio"]
        if not len(p):
            continue
        funded = set(_funded(book)["project"])
        part = pd.DataFrame({"project": p["project"], "name": p.get("name"), "region": p.get("region"),
                             "output": p.get("output"), f"{label} funded": [x in funded for x in p["project"]],
                             f"{label} fid_year": p.get("fid_year"), f"{label} aid_musd": _col(p, "aid_musd")})
        part.loc[~part[f"{label} funded"], [f"{label} fid_year"]] = None
        frames.append(part.set_index("project"))
    if not frames:
        return pd.DataFrame(columns=["project", "name", "region", "output", "differs"])
    table = frames[0]
    for part in frames[1:]:
        info = part[["name", "region", "output"]]
        table = table.join(part.drop(columns=["name", "region", "output"]), how="outer")
        table[["name", "region", "output"]] = table[["name", "region", "output"]].combine_first(info)
    table = table.reset_index().astype(object)
    for label in labels:  # plain True / False / None, not numpy booleans or NaN
        col = f"{label} funded"
        if col in table.columns:
            table[col] = [None if is_missing(v) else bool(v) for v in table[col]]
    differs = []
    for _, row in table.iterrows():
        names = [lab for lab in labels[1:] if project_differs(row, labels[0], lab)]
        differs.append(", ".join(names))
    table["differs"] = differs
    first = f"{labels[0]} funded"
    order = table[first].map(lambda v: not is_yes(v)) if first in table.columns else pd.Series(False, index=table.index)
    return table.assign(_o=order).sort_values(["_o", "project"], kind="stable").drop(columns="_o").reset_index(drop=True)


def project_differs(row: pd.Series, base: str, other: str) -> bool:
    """Does `other` fund, time or aid this project differently from `base`?"""
    for what in ("funded", "fid_year", "aid_musd"):
        a, b = row.get(f"{base} {what}"), row.get(f"{other} {what}")
        a, b = (None if is_missing(a) else a), (None if is_missing(b) else b)
        if what == "aid_musd":
            if difference(a or 0.0, b or 0.0)[0] not in (0.0, None):
                return True
        elif a != b:
            return True
    return False


def is_yes(v: Any) -> bool:
    """A funded flag read back from a workbook or a table: True, numpy's True, 1; blank is False."""
    return not is_missing(v) and bool(v)


def is_missing(v: Any) -> bool:
    """Whether a cell is blank (None or NaN)."""
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- yearly series


def _wide(parts: Iterable[tuple[str, pd.DataFrame]], item: str, value: str) -> pd.DataFrame:
    """Outer-join per-run long tables (item, year, value) into year x '<item> | <run>' columns."""
    cols = {}
    for label, df in parts:
        for name, grp in df.groupby(item, sort=False):
            cols[(str(name), label)] = grp.set_index("year")[value]
    if not cols:
        return pd.DataFrame(columns=["year"])
    items = list(dict.fromkeys(k[0] for k in cols))
    runs = list(dict.fromkeys(k[1] for k in cols))
    ordered = [(i, r) for i in items for r in runs if (i, r) in cols]
    wide = pd.concat([cols[k] for k in ordered], axis=1, keys=[f"{i} | {r}" for i, r in ordered])
    wide.index.name = "year"
    return wide.sort_index().copy().reset_index()  # copy: one block, so adding the year column is cheap


def series_tables(books: list[ResultBook], labels: list[str]) -> dict[str, pd.DataFrame]:
    """Funding (public spend), Stockpiles (expected inventory) and Supply (expected tonnes by source) by year."""
    funding, stock, supply = [], [], []
    for book, label in zip(books, labels):
        f = book.tables["Funding"]
        if len(f):
            f = f.assign(spend_musd=_col(f, "aid_musd") + _col(f, "acquisitions_musd"))
            total = f.groupby("year", as_index=False)["spend_musd"].sum().assign(fund="all funds")
            funding.append((label, pd.concat([total, f[["fund", "year", "spend_musd"]]], ignore_index=True)))
        s = book.tables["Stockpiles"]
        if len(s) and "inventory_t" in s.columns:
            inv = expected(_numeric(s, ["inventory_t"]), book.probabilities, ["stockpile", "year"], ["inventory_t"])
            total = inv.groupby("year", as_index=False)["inventory_t"].sum().assign(stockpile="all stockpiles")
            stock.append((label, pd.concat([total, inv], ignore_index=True)))
        u = book.tables["Supply"]
        sources = [c for c in SUPPLY_SOURCES if c in u.columns]
        if len(u) and sources:
            exp = expected(_numeric(u, sources), book.probabilities, ["material", "year"], sources)
            long = exp.melt(id_vars=["material", "year"], value_vars=sources, var_name="source", value_name="t")
            long["item"] = long["material"].astype(str) + " " + long["source"].map(SUPPLY_SOURCES)
            supply.append((label, long))
    return {
        "Funding": _wide(funding, "fund", "spend_musd"),
        "Stockpiles": _wide(stock, "stockpile", "inventory_t"),
        "Supply": _drop_zero_items(_wide(supply, "item", "t")),
    }


def _drop_zero_items(wide: pd.DataFrame) -> pd.DataFrame:
    """Leave out supply sources that are zero in every run and year (projects and shortfall always stay)."""
    keep = ["year"]
    items = dict.fromkeys(c.rsplit(" | ", 1)[0] for c in wide.columns if c != "year")
    for item in items:
        cols = [c for c in wide.columns if c != "year" and c.rsplit(" | ", 1)[0] == item]
        always = item.endswith(tuple(SUPPLY_SOURCES[k] for k in ALWAYS_SHOWN))
        if always or pd.to_numeric(wide[cols].stack(), errors="coerce").abs().sum() > 0:
            keep += cols
    return wide[keep]


# ---------------------------------------------------------------- provenance


def runs_table(books: list[ResultBook], labels: list[str]) -> pd.DataFrame:
    """One row per run: file, case, hashes (case and root base), versions, status, when and how it was made."""
    rows = []
    for book, label in zip(books, labels):
        m, files = book.manifest, book.files()
        rows.append({"run": label, "file": str(book.path), "case_name": m.get("case_name"), "case_path": m.get("case_path"),
                     "case_sha256": m.get("case_sha256"), "base_file": files[-1][0] if files else m.get("case_path"),
                     "base_sha256": files[-1][1] if files else m.get("case_sha256"), "files_in_chain": len(files),
                     "minplan_version": m.get("minplan_version"), "result_layout": m.get("minplan_result_version"),
                     "pyomo_version": m.get("pyomo_version"), "highspy_version": m.get("highspy_version"),
                     "status": m.get("status"), "started_utc": m.get("started_utc"), "command_line": m.get("command_line")})
    return pd.DataFrame(rows, dtype=object)  # object: a missing value stays None, not NaN


def provenance_warnings(runs: pd.DataFrame) -> list[str]:
    """Different minplan versions, different base data: said plainly."""
    out = []
    if runs["minplan_version"].nunique(dropna=False) > 1:
        shown = ", ".join(f"{r} {v}" for r, v in zip(runs["run"], runs["minplan_version"]))
        out.append(f"the runs come from different minplan versions ({shown}): differences may come from the code, "
                   "not only from the data")
    if runs["base_sha256"].nunique(dropna=False) > 1:
        shown = "; ".join(f"{r}: {str(f).rsplit('/', 1)[-1]} {str(h)[:12]}" for r, f, h in
                          zip(runs["run"], runs["base_file"], runs["base_sha256"]))
        out.append(f"the runs come from different base data (SHA-256 of the base file differs: {shown}): "
                   "differences may come from the base tables, not only from the scenario")
    return out


def alignment_notes(books: list[ResultBook], labels: list[str]) -> list[str]:
    """What could not be aligned across runs: horizons, members, scenarios."""
    notes = []

    def spread(what: str, sets: list[set]) -> None:
        union = set().union(*sets)
        for label, s in zip(labels, sets):
            gone = sorted(union - s, key=str)
            if gone and s:
                notes.append(f"{what} {', '.join(map(str, gone))} not in {label}: its columns are blank there")

    years = [set(b.tables["Supply"].get("year", pd.Series(dtype=object)).dropna()) for b in books]
    if len({frozenset(y) for y in years}) > 1:
        spans = ", ".join(f"{lab} {min(y)}-{max(y)}" for lab, y in zip(labels, years) if y)
        notes.append(f"the runs have different horizons ({spans}): years are outer-joined")
    spread("member(s)", [set(b.tables["Supply"].get("region", pd.Series(dtype=object)).dropna()) for b in books])
    scen = [set(b.probabilities) for b in books]
    if len({frozenset(s) for s in scen}) > 1:
        notes.append("the runs have different scenarios: per-scenario values are compared as expected values "
                     "(weighted by each run's own probabilities)")
    return notes


def compare_results(books: list[ResultBook]) -> Comparison:
    """Compare the runs against the first one."""
    labels = run_labels(books)
    notes = alignment_notes(books, labels)
    kpis = kpi_table(books, labels, notes)
    runs = runs_table(books, labels)
    return Comparison(labels, kpis, portfolio_table(books, labels), series_tables(books, labels), runs,
                      provenance_warnings(runs), notes)
