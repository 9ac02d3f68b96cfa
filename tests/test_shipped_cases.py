"""The shipped cases validate, solve to optimality, and their plans react as a planner expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.case.load import check_case, load_case
from model.case.writer import write_case
from model.solve.solver import solve_case

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "cases"
SHIPPED = sorted(p.stem for p in CASES.glob("*.xlsx") if p.name != "example.xlsx")
REE = {"ree_conc", "ndpr_oxide", "dytb_oxide", "ndpr_metal", "ndfeb_magnet"}
FAST = {"evpi_vss": False}  # EVPI and VSS are checked elsewhere; here they only cost time

_solved: dict[str, object] = {}


def solved(name: str):
    """Solve cases/<name>.xlsx once per test session."""
    if name not in _solved:
        _solved[name] = solve_case(load_case(CASES / f"{name}.xlsx"), FAST)
    return _solved[name]


def test_the_expected_cases_are_shipped():
    expected = {"base", "china_ree_ban", "china_gallium_germanium_ban", "combined_bans", "ally_shock",
                "vault_doubled", "eu_crma_65", "allied_concern_cap"}
    assert expected <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_case_validates_without_errors(name):
    _, problems = check_case(CASES / f"{name}.xlsx")
    assert [str(p) for p in problems.errors] == []


def test_base_case_has_the_settings_a_reviewer_needs():
    case = load_case(CASES / "base.xlsx")
    s = case.settings
    for key in ("case_name", "description", "discount_rate", "mcpf", "mip_rel_gap"):
        assert s.get(key) not in (None, ""), key
    assert (s["start_year"], s["end_year"]) == (2026, 2040)
    members = set(case.regions[case.regions.member.astype(bool)].region)
    assert members == {"US", "EU", "JP", "KR", "CA", "AU", "UK"}
    assert set(case.regions[case.regions.bloc == "concern"].region) == {"CN"}


def test_combined_bans_probabilities_include_no_disruption():
    case = load_case(CASES / "combined_bans.xlsx")
    sc = case.scenarios
    assert sum(sc.probability) == pytest.approx(1.0)
    with_rows = set(case.disruptions.scenario)
    assert len(sc) >= 3 and set(sc.scenario) - with_rows, "one scenario must have no disruption"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_case_solves_to_optimality_within_its_gap(name):
    s = solved(name)
    gap = load_case(CASES / f"{name}.xlsx").settings["mip_rel_gap"]
    assert s.status == "optimal", s.message
    assert s.gap is not None and s.gap <= gap + 1e-9


def test_undisrupted_base_meets_every_demand():
    assert solved("base").kpis["expected_shortfall_t"] == pytest.approx(0.0, abs=1e-6)


def _funded_candidates(portfolio):
    return portfolio[portfolio.funded.astype(bool) & (portfolio.status == "candidate")]


def test_ree_ban_plan_builds_non_concern_ree_capacity_or_stockpiles_it():
    s = solved("china_ree_ban")
    p = s.portfolio
    funded = _funded_candidates(p)
    funded = funded[funded.output.isin(REE) & (funded.region != "CN")]
    bought = s.stockpiles[s.stockpiles.material.isin(REE)].buy_t.sum()
    assert len(funded) > 0 or bought > 0
    assert bought > 0  # the only year to buy before the 2027 ban is 2026, and the plan uses it
    base = solved("base")
    in_base = _funded_candidates(base.portfolio)
    assert funded.capacity_tpy.sum() > in_base[in_base.output.isin(REE)].capacity_tpy.sum()


def _disable_options(base: Path, out: Path) -> Path:
    """A case inheriting from `base` with every candidate project and every stockpile deleted."""
    case = load_case(base)
    cand = set(case.projects[case.projects.status == "candidate"].project)
    rec = case.recipes
    dep = case.dependencies
    sheets = {
        "Projects": [{"project": p, "delete": "Y"} for p in sorted(cand)],
        "Recipes": [{"project": r.project, "material": r.material, "delete": "Y"}
                    for r in rec.itertuples() if r.project in cand],
        "Dependencies": [{"project": d.project, "relation": d.relation, "other": d.other, "delete": "Y"}
                         for d in dep.itertuples() if d.project in cand or d.other in cand],
        "Stockpiles": [{"stockpile": k, "delete": "Y"} for k in sorted(case.stockpiles.stockpile)],
    }
    return write_case(out, {"case_name": "no_options", "base_case": str(base.resolve())},
                      {k: v for k, v in sheets.items() if v})


def test_ree_ban_plan_cuts_shortfall_below_doing_nothing(tmp_path):
    nothing_path = _disable_options(CASES / "china_ree_ban.xlsx", tmp_path / "no_options.xlsx")
    nothing_case = load_case(nothing_path)
    assert (nothing_case.projects.status == "candidate").sum() == 0 and len(nothing_case.stockpiles) == 0
    nothing = solve_case(nothing_case, FAST)
    plan = solved("china_ree_ban")
    assert nothing.status == "optimal"
    assert plan.kpis["expected_shortfall_t"] < nothing.kpis["expected_shortfall_t"]
    assert plan.objective < nothing.objective


def test_doubling_project_vault_never_raises_cost():
    """More budget only relaxes a constraint: the doubled case's bound cannot exceed the plain optimum."""
    plain, doubled = solved("combined_bans"), solved("vault_doubled")
    gap = load_case(CASES / "vault_doubled.xlsx").settings["mip_rel_gap"]
    assert doubled.bound <= plain.objective + 1e-6
    assert doubled.objective <= plain.objective * (1 + gap)


def test_ally_shock_freezes_us_funds_and_delays_us_projects():
    s = solved("ally_shock")
    f = s.funding
    frozen = f[(f.owner == "US") & f.year.isin([2026, 2027])]
    assert len(frozen) > 0
    assert frozen.budget_musd.sum() == 0
    assert (frozen.aid_musd + frozen.acquisitions_musd).sum() == pytest.approx(0.0, abs=1e-6)
    # US candidates need public money that only US funds may give, so none can take FID while the funds are frozen
    p = _funded_candidates(s.portfolio)
    assert len(p[p.region == "US"]) > 0 and p[p.region == "US"].fid_year.min() >= 2028
