"""The shipped cases validate, solve within their gap, react as a planner expects, and pass the plausibility checks.

The plausibility checks are stated on the shipped data and results, not tuned to them: with no disruption the
coalition's magnets are mostly Chinese-made, as they are today; every allied candidate costs more per tonne than
the cheapest Chinese offer of its output; under the stochastic family the stockpiles buy in several years and in
calm branches; Chinese-made tonnes pay the US tariff whatever route they take.
"""

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
SOLVED = SHIPPED
FAST = {"evpi_vss": False}  # EVPI, VSS and the value of adapting are checked elsewhere; here they only cost time

_solved: dict[str, object] = {}


def solved(name: str):
    """Solve cases/<name>.xlsx once per test session."""
    if name not in _solved:
        _solved[name] = solve_case(load_case(CASES / f"{name}.xlsx"), FAST)
    return _solved[name]


def test_the_expected_cases_are_shipped():
    assert set(SHIPPED) == {"base", "china_controls", "china_controls_full", "vault_doubled", "ally_shock",
                            "eu_crma_65", "allied_concern_cap"}


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


def test_the_stochastic_family_is_generated_from_its_events():
    """china_controls: ree_controls (4 options + none) = 5 scenarios, every combination; china_controls_full adds
    the other events (7 ban timings + none, × six one-option events = 512 combinations) and solves a seeded
    sample of max_scenarios = 12 draws, each with probability 1/12 (no two of these draws coincide)."""
    case = load_case(CASES / "china_controls.xlsx")
    sc = case.scenarios
    assert len(sc) == 5 and not case.sampled
    assert sum(sc.probability) == pytest.approx(1.0)
    assert sc.scenario.iloc[0] == "calm"
    assert set(case.disruptions.scenario) <= {f"{e}={o}" for e, o in zip(case.events.event, case.events.option)}
    full = load_case(CASES / "china_controls_full.xlsx")
    assert full.sampled and full.settings["max_scenarios"] == 12
    assert len(full.scenarios) == 12 and sum(full.scenarios.probability) == pytest.approx(1.0)
    assert set(full.scenarios.probability.round(12)) == {round(1 / 12, 12)}


def test_the_sampled_family_draws_every_event_and_the_whole_family_is_512_combinations():
    """Every event of china_controls_full acts in at least one of the 12 draws (so each kind of disruption the
    family describes is in the solved case), and without the sample limit the family is every combination."""
    full = load_case(CASES / "china_controls_full.xlsx")
    drawn = {pair.split("=")[0] for name in full.scenarios.scenario for pair in name.split("+")}
    assert drawn == set(full.events.event)
    from model.case.families import generate

    whole, sampled = generate(full.events.to_dict("records"), max_scenarios=1000, seed=0)
    assert not sampled and len(whole) == 8 * 2 ** 6 and sum(s["probability"] for s in whole) == pytest.approx(1.0)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_family_has_a_first_year_decided_before_anything_is_known(name):
    """A disruption acting in the first year (a failure dated before the project could deliver, say) would split
    the tree at its root, and the case would have no "decide now": every shipped case shares its first year."""
    from model.formulation.data import build_data

    d = build_data(load_case(CASES / f"{name}.xlsx"))
    assert d.tree.root_years()[:1] == [d.years[0]]


@pytest.mark.parametrize("name", SOLVED)
def test_shipped_case_solves_to_optimality_within_its_gap(name):
    s = solved(name)
    gap = load_case(CASES / f"{name}.xlsx").settings["mip_rel_gap"]
    assert s.status == "optimal", s.message
    assert s.gap is not None and s.gap <= gap + 1e-9


def test_undisrupted_base_meets_every_demand():
    assert solved("base").kpis["expected_shortfall_t"] == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------- plausibility


def test_with_no_disruption_the_coalitions_magnets_are_mostly_chinese_made_in_the_first_year():
    """Traced concern-origin share of coalition ndfeb_magnet consumption in 2026, base case.

    China makes ~94% of the world's magnets (facts.md), so the coalition's share cannot sensibly exceed 0.95;
    from below it is at least 1 − (magnets the coalition can get from elsewhere) / consumption, where
    "elsewhere" is every existing or committed magnet plant outside China plus every non-Chinese Supply offer
    of magnets in 2026 (read from the case data, not the solution): a cheaper-than-China source does not exist
    in the data, so the bound is what is physically available, and the solution must not beat it. Today's
    figure for the coalition (its members' own plants, ~16 kt, against ~103 kt of use) is about 84%: we accept
    0.75..0.95 as "close to today's".
    """
    case = load_case(CASES / "base.xlsx")
    dep = solved("base").dependence
    row = dep[(dep.region == "coalition") & (dep.material == "ndfeb_magnet") & (dep.year == 2026)]
    assert len(row) == 1
    share = float(row.concern_share.iloc[0])
    used = float(row.consumption_t.iloc[0])
    pr = case.projects
    made = pr[(pr.output == "ndfeb_magnet") & pr.status.isin(["existing", "committed"]) & (pr.region != "CN")]
    available = sum(float(c) for c, s, fy, lead in zip(made.capacity_tpy, made.status, made.fid_year, made.lead_time_yr)
                    if s == "existing" or (fy or 0) + (lead or 0) <= 2026)
    sup = case.supply
    offers = sup[(sup.material == "ndfeb_magnet") & (sup.year == 2026) & (sup.origin != "CN")]
    available += float(offers.max_t.sum())
    held = case.stockpiles[case.stockpiles.material == "ndfeb_magnet"]
    available += float(held.initial_t.sum())  # a release is allowed only in a disruption, but bound it anyway
    assert share >= 1 - available / used - 1e-6
    assert 0.75 <= share <= 0.95


def _crf(rate: float, life: int) -> float:
    return rate / (1 - (1 + rate) ** -life) if rate > 0 else 1 / life


def test_allied_supply_costs_more_than_chinese_supply_before_any_ban():
    """Every candidate's full unit cost exceeds the cheapest Chinese offer of its output in the first year.

    Full unit cost per tonne = var_cost + inputs at the cheapest offer or reference price (whichever is lower)
    + (capex · crf(discount_rate, life) + fixed opex) / capacity − by-products credited at their reference
    price: a lower bound on what the plant needs, so the comparison favours the allied plant. Candidates whose
    output China does not offer (ore, concentrates, zinc) have nothing to compare with.
    """
    case = load_case(CASES / "base.xlsx")
    start, rate = case.settings["start_year"], case.settings["discount_rate"]
    price = dict(zip(case.materials.material, case.materials.price_usd_per_t))
    sup = case.supply[case.supply.year == start]
    cheapest: dict[str, float] = {}
    chinese: dict[str, float] = {}
    for o, m, p in zip(sup.origin, sup.material, sup.price_usd_per_t):
        cheapest[m] = min(cheapest.get(m, price[m]), p, price[m])
        if o == "CN":
            chinese[m] = min(chinese.get(m, float("inf")), p)
    compared, cheaper = 0, []
    for p in case.projects[case.projects.status == "candidate"].itertuples():
        if p.output not in chinese:
            continue
        rec = case.recipes[case.recipes.project == p.project]
        inputs = sum(t * cheapest.get(m, price[m]) for m, t, role in zip(rec.material, rec.t_per_t, rec.role)
                     if role == "input")
        credit = sum(t * price[m] for m, t, role in zip(rec.material, rec.t_per_t, rec.role) if role == "byproduct")
        fixed = (p.capex_musd * _crf(rate, p.life_yr) + p.fixed_opex_musd_per_yr) * 1e6 / p.capacity_tpy
        unit = p.var_cost_usd_per_t + inputs + fixed - credit
        compared += 1
        if unit <= chinese[p.output]:
            cheaper.append(f"{p.project}: {unit:,.0f} ≤ CN {chinese[p.output]:,.0f} USD/t")
    assert compared >= 20
    assert cheaper == []


def test_under_the_stochastic_family_stockpiles_buy_in_several_years_and_in_calm_branches():
    """china_controls: purchases happen in more than one year, and in the calm scenario after the tree branches.

    A stockpile sized by one budget year (v1's answer) or bought only once trouble is seen would fail this.
    """
    s = solved("china_controls")
    st = s.stockpiles
    buying = st[st.buy_t > 1e-6]
    assert buying.year.nunique() >= 2, buying[["stockpile", "year", "buy_t"]]
    dec = s.decisions
    info = dec[dec.kind == "information"] if "kind" in dec else dec
    per_year = info.groupby("year").node.nunique()
    first_branch = int(per_year[per_year > 1].index.min())
    calm = buying[(buying.scenario == "calm") & (buying.year >= first_branch)]
    assert len(calm) > 0, "no purchase in the calm branch once the tree has branched"


def test_chinese_made_magnets_pay_the_us_tariff_whatever_route_they_take(tmp_path):
    """With the direct CN>US magnet leg blocked, Chinese magnets reach the US only through other members.

    Every tonne made in CN that arrives in the US must still pay the 25% Routes tariff (CN, US, ndfeb_magnet) on
    the reference price; no other origin pays a tariff on magnets into the US in the data, so
    tariffs_musd = imports_concern_t · 25% · price / 10^6 in every year. The base case is checked the same way.
    """
    base = load_case(CASES / "base.xlsx")
    rt = base.routes
    rate = float(rt[(rt.origin == "CN") & (rt.destination == "US") & (rt.material == "ndfeb_magnet")].tariff_pct.iloc[0])
    price = float(base.materials.set_index("material").price_usd_per_t["ndfeb_magnet"])
    path = write_case(tmp_path / "detour.xlsx", {"case_name": "detour", "base_case": str((CASES / "base.xlsx").resolve())},
                      {"Disruptions": [{"scenario": "*", "kind": "route_block", "target": "CN>US",
                                        "material": "ndfeb_magnet", "start_year": 2026}]})
    detour = solve_case(load_case(path), FAST)
    assert detour.status == "optimal"
    for sol, rerouted in ((solved("base"), False), (detour, True)):
        sup = sol.supply
        us = sup[(sup.region == "US") & (sup.material == "ndfeb_magnet")]
        assert us.imports_concern_t.sum() > 1000
        expected = us.imports_concern_t * rate / 100 * price / 1e6
        assert list(us.tariffs_musd) == pytest.approx(list(expected), rel=1e-6, abs=1e-6)
        if rerouted:  # the tonnes came through other members: they exported Chinese-made magnets
            others = sup[(sup.region != "US") & (sup.material == "ndfeb_magnet")]
            assert others.exports_t.sum() >= us.imports_concern_t.sum() - 1e-3


# ---------------------------------------------------------------- how plans react


def _funded_candidates(portfolio):
    return portfolio[portfolio.funded.astype(bool) & (portfolio.status == "candidate")]


def test_under_chinese_controls_the_plan_builds_or_stockpiles_non_chinese_rare_earths():
    """The stochastic family funds more non-Chinese rare-earth capacity than the undisrupted base, and buys some."""
    s = solved("china_controls")
    funded = _funded_candidates(s.portfolio)
    funded = funded[funded.output.isin(REE) & (funded.region != "CN")]
    bought = s.stockpiles[s.stockpiles.material.isin(REE)].buy_t.sum()
    assert bought > 0
    in_base = _funded_candidates(solved("base").portfolio)
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
        "Disruptions": [{"scenario": d.scenario, "kind": d.kind, "target": d.target, "material": d.material,
                         "start_year": d.start_year, "delete": "Y"}
                        for d in case.disruptions.itertuples() if d.target in cand],
    }
    return write_case(out, {"case_name": "no_options", "base_case": str(base.resolve())},
                      {k: v for k, v in sheets.items() if v})


def test_the_stochastic_plan_cuts_shortfall_below_doing_nothing(tmp_path):
    nothing_case = load_case(_disable_options(CASES / "china_controls.xlsx", tmp_path / "no_options.xlsx"))
    assert (nothing_case.projects.status == "candidate").sum() == 0 and len(nothing_case.stockpiles) == 0
    nothing = solve_case(nothing_case, FAST)
    plan = solved("china_controls")
    assert nothing.status == "optimal"
    assert plan.kpis["expected_shortfall_t"] < nothing.kpis["expected_shortfall_t"]
    assert plan.objective < nothing.objective


def test_doubling_project_vault_never_raises_cost():
    """More budget and purchase room only relax constraints: the doubled case's bound cannot exceed the plain optimum."""
    plain, doubled = solved("china_controls"), solved("vault_doubled")
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
