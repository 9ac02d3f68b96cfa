"""Every figure in data/ names its source, and the shipped cases are exactly what data/ builds."""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
CASES = ROOT / "cases"
SHARED = ROOT / "data" / "reference"  # the project's reference documents, copied so that a clone can check citations
SEEDS = SHARED / "seeds"
UPSTREAM = ROOT.parent / "shared" / "reference"  # where they come from, when the project's shared folder is beside
NOT_OURS = {"example.xlsx"}  # built by data/build_example.py

SEED_NAME = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")
# Public sources the rows may cite besides the seeds; each must also appear in facts.md.
PUBLIC_SOURCES = (
    "USGS", "IEA", "Fastmarkets", "Reuters", "mining.com", "JOGMEC", "Adamas Intelligence", "FAS",
    "US Dept of War release", "Automotive World", "Argus", "Mining Magazine", "Australian Government release",
    "NS Energy", "Kallanish", "AuManufacturing", "Engineering News", "Crux Investor", "minelistings.com",
    "noveon.co", "Alcoa statement", "Regulation (EU) 2024/1252", "Congressional Research Service",
    "IEA Policies database",
)


def _builder():
    spec = importlib.util.spec_from_file_location("build_cases", DATA / "build_cases.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _csv_rows():
    for path in sorted(DATA.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            for i, row in enumerate(csv.DictReader(f), start=2):
                yield path.name, i, row


def test_the_copied_reference_documents_are_the_shared_ones():
    """data/reference must not drift from the shared reference it copies (checked wherever that is beside)."""
    names = sorted(p.relative_to(SHARED).as_posix() for p in SHARED.rglob("*") if p.is_file())
    assert "facts.md" in names and any(n.startswith("seeds/") for n in names)
    if UPSTREAM.is_dir():
        upstream = sorted(p.relative_to(UPSTREAM).as_posix() for p in UPSTREAM.rglob("*") if p.is_file())
        assert names == upstream
        assert all((SHARED / n).read_bytes() == (UPSTREAM / n).read_bytes() for n in names)


def test_every_public_source_we_accept_is_listed_in_facts():
    facts = (SHARED / "facts.md").read_text(encoding="utf-8")
    assert [s for s in PUBLIC_SOURCES if s not in facts] == []


def test_every_data_row_names_a_seed_a_public_source_or_an_assumption():
    bad = []
    seen = 0
    for name, line, row in _csv_rows():
        seen += 1
        assert "source" in row, f"data/{name} has no source column"
        src = (row["source"] or "").strip()
        seeds = SEED_NAME.findall(src)
        missing = [s for s in seeds if not (SEEDS / s).is_file()]
        ok = bool(src) and not missing and (
            bool(seeds) or src.startswith("assumption:") or any(p in src for p in PUBLIC_SOURCES))
        if src.startswith("assumption:") and len(src) < len("assumption:") + 10:
            ok = False  # an assumption must say why
        if not ok:
            bad.append(f"data/{name}:{line}: {src!r}" + (f" (no such seed: {missing})" if missing else ""))
    assert seen > 300
    assert bad == []


def test_seed_citations_exist_and_a_missing_one_is_caught():
    assert SEED_NAME.findall("see 000_b81183ca61570858.txt") == ["000_b81183ca61570858.txt"]
    assert not (SEEDS / "999_0000000000000000.txt").is_file()
    assert (SEEDS / "000_b81183ca61570858.txt").is_file()


def test_sourced_figures_are_carried_in_schema_units():
    """Spot checks against facts.md, converted to the schema's units (USD m, t, USD/t)."""
    b = _builder()
    mats = {r["material"]: r for r in b.read_table("materials")}
    assert float(mats["ndpr_oxide"]["price_usd_per_t"]) == pytest.approx(1000 * (50 + 55) / 2)  # USD/kg -> USD/t
    assert float(mats["gallium"]["price_usd_per_t"]) == pytest.approx(350 * 1000)
    assert float(mats["gallium"]["shortfall_penalty_usd_per_t"]) == pytest.approx(3.1e9 / 19, rel=0.01)
    projects = {r["project"]: r for r in b.read_table("projects")}
    assert float(projects["arafura_nolans"]["var_cost_usd_per_t"]) == pytest.approx(61.6 * 0.65 * 1000)
    assert float(projects["arafura_nolans"]["capacity_tpy"]) == 4440
    assert float(projects["korea_zinc_tennessee"]["capex_musd"]) == 7400
    _, sheets = b.base_case()
    totals: dict[str, float] = {}
    for r in sheets["Budgets"]:
        totals[r["fund"]] = totals.get(r["fund"], 0) + r["budget_musd"]
    assert totals["us_ibf"] == pytest.approx(5000)
    assert totals["us_nds_tf"] == pytest.approx(2000)
    assert totals["us_vault"] == pytest.approx(10000)  # the EXIM (public) part of the USD 12 bn
    assert totals["us_osc"] == pytest.approx(500)
    dpa = [r["budget_musd"] for r in sheets["Budgets"] if r["fund"] == "us_dpa3"]
    assert dpa[0] == pytest.approx((313.6 + 209.2 + 550.4) / 3, abs=0.05)


def test_demand_growth_reaches_the_sourced_us_lithium_forecast():
    _, sheets = _builder().base_case()
    li = {r["year"]: r["demand_t"] for r in sheets["Demand"] if r["region"] == "US" and r["material"] == "li_chem"}
    assert li[2030] == pytest.approx(400_000, rel=0.02)  # 000_b81183ca61570858.txt
    ga = {r["year"]: r["demand_t"] for r in sheets["Demand"] if r["region"] == "US" and r["material"] == "gallium"}
    assert ga[2026] == pytest.approx(19 * 1.03 ** 2, rel=0.01)  # 19 t in 2024, 003_4ad101623b8494f2.txt


def _values(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


def test_shipped_cases_are_exactly_what_the_builder_makes(tmp_path):
    written = _builder().build(tmp_path)
    built = {p.name for p in written}
    shipped = {p.name for p in CASES.glob("*.xlsx")} - NOT_OURS
    assert built == shipped, "run `python data/build_cases.py` and ship its output"
    for name in sorted(built):
        assert _values(tmp_path / name) == _values(CASES / name), f"cases/{name} differs from what data/ builds"


def test_every_row_of_every_shipped_workbook_carries_its_source():
    for path in sorted(CASES.glob("*.xlsx")):
        if path.name in NOT_OURS:
            continue
        for sheet, rows in _values(path).items():
            header = list(rows[0])
            assert "source" in header, f"{path.name}!{sheet} has no source column"
            j = header.index("source")
            blank = [i for i, r in enumerate(rows[1:], start=2) if not (r[j] or "").strip()]
            assert blank == [], f"{path.name}!{sheet} rows without a source: {blank[:5]}"


def test_variants_stay_small_and_inherit():
    for path in sorted(CASES.glob("*.xlsx")):
        if path.name in NOT_OURS | {"base.xlsx"}:
            continue
        values = _values(path)
        settings = {r[0]: r[1] for r in values["Settings"][1:]}
        assert settings.get("base_case"), f"{path.name} should inherit from a base"
        assert sum(len(rows) - 1 for rows in values.values()) < 200, f"{path.name} repeats base rows"
