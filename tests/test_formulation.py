"""The planning model: sizes, hand-derived optima, duals, outcomes, determinism, EVPI/VSS, numerics."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from benchmarks.synthetic import synthetic_sheets
from model import solution as sol
from model.case.load import load_case
from model.formulation import build_model, decision_vars
from model.formulation.data import build_data
from model.solve.highs import HighsRun
from model.solve.solver import solve_case, solve_model, solver_options

REL = 1e-6


def _region(r, bloc="ally", member="Y"):
    return {"region": r, "bloc": bloc, "member": member}


def _mag(penalty=5000, price=1000):
    return {"material": "mag", "stage": "magnet", "price_usd_per_t": price, "shortfall_penalty_usd_per_t": penalty}


def _count(m, kind) -> int:
    return sum(len(c) for c in m.component_objects(kind, active=True))


@pytest.fixture
def sizing_case(make_case):
    """One member, an existing plant, a candidate (lead 1, min public share 0.5), a grant fund, a stockpile."""
    return make_case(
        {"start_year": 2026, "end_year": 2028},
        Regions=[_region("US")], Materials=[_mag()],
        Demand=[{"region": "US", "material": "mag", "year": y, "demand_t": 30} for y in (2026, 2027, 2028)],
        Projects=[{"project": "old", "region": "US", "status": "existing", "output": "mag", "capacity_tpy": 10},
                  {"project": "new", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": 20,
                   "capex_musd": 10, "lead_time_yr": 1, "min_public_share": 0.5}],
        Funds=[{"fund": "g", "owner": "US", "instrument": "grant"}],
        Budgets=[{"fund": "g", "year": 2026, "budget_musd": 3}, {"fund": "g", "year": 2027, "budget_musd": 6}],
        Stockpiles=[{"stockpile": "k", "owner": "US", "location": "US", "material": "mag", "capacity_t": 100}],
    )


def test_model_size_matches_hand_count(sizing_case):
    """Hand count (one scenario, so one node a year). W_new = 2026..2027 (latest = end − lead): fid 2, aid 2 (one
    fund); origins of mag: only coalition-made (no non-member makes it), so buy 3 (buy_until = end) and inv 3 at
    one origin; prod: old 3 years + new 2027 (FID 2026) and 2028 = 5; cons 3 (US uses mag every year, one
    origin); short 3 (one step of the cost curve, D > 0 every year); no rel (release only in disruption, none),
    no tv (no initial holding), no ext, no ship (one region): 21 variables, 2 binary.
    Rows: fid_once 1, public share min 2 and max 2, budget 2 (years with aid), capacity 2 (new in 2027, 2028),
    inventory 3, inventory capacity 3, balance 3 (one origin), use 3: 21."""
    case = load_case(sizing_case)
    m = build_model(case)
    assert _count(m, pyo.Var) == 21
    assert sum(1 for v in m.component_data_objects(pyo.Var) if v.is_binary()) == 2
    assert _count(m, pyo.Constraint) == 21
    assert {k: len(getattr(m, k)) for k in ("fid_once", "public_share_min", "public_share_max", "budget", "capacity",
                                             "inventory", "inv_capacity", "balance", "use")} == {
        "fid_once": 1, "public_share_min": 2, "public_share_max": 2, "budget": 2, "capacity": 2, "inventory": 3,
        "inv_capacity": 3, "balance": 3, "use": 3}
    run = HighsRun(m, solver_options(case))
    assert run.sizes["variables"] == 21 and run.sizes["binaries"] == 2 and run.sizes["constraints"] == 21
    names = {v.parent_component().name for v in decision_vars(m)}
    assert names == {"fid", "aid", "buy"}


def _stockpile_case(make_case, budget_2027=0.005, capacity=None, budget_2026=None):
    """US holds a mag stockpile paid by fund sf (c_f = 1); demand 10 t only in 2028, when a supply_cut of X
    touches mag (so release is allowed in 2028 and X offers nothing to buy). X offers mag at 1000 USD/t, the
    reference price, in 2026-2027: a purchase costs X's price and the fund's deadweight, as v1's purchase at the
    reference price did. Discount 0.1, mcpf 0.2, penalty 5000 USD/t."""
    stock = {"stockpile": "k", "owner": "US", "location": "US", "material": "mag", "fund": "sf"}
    if capacity is not None:
        stock["capacity_t"] = capacity
    return make_case(
        {"start_year": 2026, "end_year": 2028, "discount_rate": 0.1, "mcpf": 0.2},
        Regions=[_region("US"), _region("X", "concern", "N")], Materials=[_mag()],
        Demand=[{"region": "US", "material": "mag", "year": 2028, "demand_t": 10}],
        Projects=[{"project": "old", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Supply=[{"origin": "X", "material": "mag", "year": y, "max_t": 1e4, "price_usd_per_t": 1000} for y in (2026, 2027)],
        Funds=[{"fund": "sf", "owner": "US", "instrument": "stockpile", "budget_cost_per_musd": 1}],
        Budgets=[{"fund": "sf", "year": 2027, "budget_musd": budget_2027}]
        + ([{"fund": "sf", "year": 2026, "budget_musd": budget_2026}] if budget_2026 else []),
        Stockpiles=[stock],
        Disruptions=[{"scenario": "base", "kind": "supply_cut", "target": "X", "material": "mag", "start_year": 2028}],
        Scenarios=[{"scenario": "base", "probability": 1}],
    )


def test_budget_binds_and_its_marginal_value_is_derived_by_hand(make_case):
    """Budget 2026 = 0.001 USD m buys 1 t and budget 2027 = 0.005 buys 5 t (1000 USD/t); in 2028 6 t are
    released and 4 t are short. Objective = 1·(0.001 + 0.2·0.001) + δ27·(0.005 + 0.2·0.005) + δ28·4·0.005
    = 0.0012 + 0.006/1.1 + 0.02/1.21. Both budgets bind with tonnes bought, so their duals are unique:
    one more USD m in 2027 buys 1000 t more, each saving δ28·5000 − δ27·1200 USD: the marginal value is
    1000·(0.005/1.21 − 0.0012/1.1) = 3.041322 in present value, 3.345455 per USD of 2027 money.
    In 2026 (δ = 1): 1000·(0.005/1.21 − 0.0012) = 2.932231. (With no money at all in 2026 the budget row
    and the purchase's bound are both tight at zero and the dual is not unique: that case is not asserted.)"""
    s = solve_case(load_case(_stockpile_case(make_case, budget_2026=0.001)))
    assert s.status == sol.OPTIMAL
    assert s.objective == pytest.approx(0.0012 + 0.006 / 1.1 + 0.02 / 1.21, rel=REL)
    f = s.funding.set_index("year")
    assert f.loc[2027, "marginal_value_pv"] == pytest.approx(5 / 1.21 - 1.2 / 1.1, rel=1e-6)
    assert f.loc[2027, "marginal_value"] == pytest.approx((5 / 1.21 - 1.2 / 1.1) * 1.1, rel=1e-6)
    assert f.loc[2026, "marginal_value_pv"] == pytest.approx(5 / 1.21 - 1.2, rel=1e-6)
    assert f.loc[2027, "acquisitions_musd"] == pytest.approx(0.005, rel=REL)
    assert s.kpis["expected_shortfall_t"] == pytest.approx(4, rel=REL)


def test_stockpile_capacity_marginal_value_is_derived_by_hand(make_case):
    """Capacity 3 t binds in 2027 (budget 0.005 would buy 5 t): one more tonne saves
    δ28·5000 − δ27·1000·(1 + mcpf) = 5000/1.21 − 1200/1.1 USD; the budget no longer binds."""
    s = solve_case(load_case(_stockpile_case(make_case, capacity=3)))
    assert s.stockpile_values.set_index("stockpile").loc["k", "capacity_marginal_value_usd_per_t"] == pytest.approx(
        5000 / 1.21 - 1200 / 1.1, rel=1e-6)
    assert s.funding.set_index("year").loc[2027, "marginal_value_pv"] == pytest.approx(0, abs=1e-9)


def test_breakdown_and_scenarios_add_up_to_the_objective(make_case):
    """Breakdown sums to the objective; Σ_s π_s·cost_s is the expected cost (a 3-scenario synthetic case)."""
    settings, sheets = synthetic_sheets(n_projects=8, n_materials=3, n_regions=4, n_years=6, n_scenarios=3)
    s = solve_case(load_case(make_case(settings, **sheets)), {"evpi_vss": False})
    assert s.status == sol.OPTIMAL
    assert s.breakdown["value_musd"].sum() == pytest.approx(s.objective, rel=1e-7)
    sc = s.scenarios
    assert (sc["probability"] * sc["cost_musd"]).sum() == pytest.approx(s.kpis["expected_cost_musd"], rel=1e-9)
    assert s.kpis["expected_cost_musd"] == pytest.approx(s.objective, rel=1e-7)


def test_cvar_term_is_the_worst_tail_cost(make_case):
    """No decisions: demand 10 t in one year, nothing to meet it. Scenario a (π 0.5) is short 10 t
    (0.05 USD m), scenario b has demand ×2 (0.10). With cvar_alpha 0.5 and risk_weight 1 the CVaR is the
    mean of the worst half, 0.10: objective = 0.075 + 0.10."""
    path = make_case(
        {"start_year": 2026, "end_year": 2026, "risk_weight": 1, "cvar_alpha": 0.5},
        Regions=[_region("US")], Materials=[_mag()],
        Demand=[{"region": "US", "material": "mag", "year": 2026, "demand_t": 10}],
        Projects=[{"project": "old", "region": "US", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Scenarios=[{"scenario": "a", "probability": 0.5}, {"scenario": "b", "probability": 0.5}],
        Disruptions=[{"scenario": "b", "kind": "demand_shock", "target": "US", "start_year": 2026, "magnitude": 2}],
    )
    s = solve_case(load_case(path), {"evpi_vss": False})
    assert s.objective == pytest.approx(0.175, rel=1e-7)
    parts = s.breakdown.set_index("component")["value_musd"]
    assert parts["cvar_term"] == pytest.approx(0.10, rel=1e-7)
    assert parts.sum() == pytest.approx(s.objective, rel=1e-9)


def test_evpi_and_vss_match_a_hand_derivation(make_case):
    """US needs 10 t in 2027. Importing from X costs 0.01 USD m, a plant (FID 2026, life 1) costs 0.02.
    Scenario blocked (π 0.4) blocks X>US in 2027: importing then leaves 10 t short (0.05).
    RP: build 0.02 < import 0.6·0.01 + 0.4·0.05 = 0.026. WS = 0.4·0.02 + 0.6·0.01 = 0.014: EVPI 0.006.
    Mean value drops the block (π < 0.5) and imports; EEV = 0.026: VSS 0.006."""
    path = make_case(
        {"start_year": 2026, "end_year": 2027, "discount_rate": 0},
        Regions=[_region("US"), _region("X", "partner", "N")], Materials=[_mag()],
        Demand=[{"region": "US", "material": "mag", "year": 2027, "demand_t": 10}],
        Projects=[{"project": "plant", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": 10,
                   "capex_musd": 0.02, "lead_time_yr": 1, "life_yr": 1}],
        Supply=[{"origin": "X", "material": "mag", "year": 2027, "max_t": 100, "price_usd_per_t": 1000}],
        Scenarios=[{"scenario": "calm", "probability": 0.6}, {"scenario": "blocked", "probability": 0.4}],
        Disruptions=[{"scenario": "blocked", "kind": "route_block", "target": "X>US", "start_year": 2027}],
    )
    s = solve_case(load_case(path))
    assert s.objective == pytest.approx(0.02, rel=1e-7)
    assert s.kpis["ws_musd"] == pytest.approx(0.014, rel=1e-7)
    assert s.kpis["evpi_musd"] == pytest.approx(0.006, rel=1e-6)
    assert s.kpis["eev_musd"] == pytest.approx(0.026, rel=1e-7)
    assert s.kpis["vss_musd"] == pytest.approx(0.006, rel=1e-6)


def test_infeasible_model_returns_infeasible_without_raising(sizing_case):
    """A contradictory row (shortfall above its bound D) makes the model infeasible: the outcome says so."""
    case = load_case(sizing_case)
    m = build_model(case)
    key = next(iter(m.short))
    m.contradiction = pyo.Constraint(expr=m.short[key] >= 2 * m.short[key].ub + 1)
    s = solve_model(case, m, solver_options(case), say=lambda _m: None)
    assert s.status == sol.INFEASIBLE and not s.has_plan and s.message


def test_rows_broken_by_fixed_variables_return_infeasible(sizing_case):
    """A row left with no free variable and violated is caught while compiling, not raised."""
    case = load_case(sizing_case)
    m = build_model(case)
    m.fid["new", 2026, "base"].fix(1)
    m.fid["new", 2027, "base"].fix(1)  # fid_once: 2 ≤ 1
    s = solve_model(case, m, solver_options(case), say=lambda _m: None)
    assert s.status == sol.INFEASIBLE


def test_same_case_twice_gives_identical_tables(make_case):
    settings, sheets = synthetic_sheets(n_projects=8, n_materials=3, n_regions=4, n_years=6, n_scenarios=2, seed=3)
    case = load_case(make_case(settings, **sheets))
    a, b = solve_case(case, {"evpi_vss": False}), solve_case(case, {"evpi_vss": False})
    for name in ("breakdown", "portfolio", "aid", "funding", "supply", "stockpiles", "dependence", "scenarios"):
        assert getattr(a, name).equals(getattr(b, name)), name
    assert a.objective == b.objective


def test_routes_use_the_highest_score_and_skip_self_shipments(make_case):
    """Score 4·material + 2·origin + 1·destination: the (A, *, mag) row beats (A, B, blank); a blank-material
    ban on * > B forbids other materials; A>A is never a route."""
    path = make_case(
        {"start_year": 2026, "end_year": 2026},
        Regions=[_region("A"), _region("B")],
        Materials=[_mag(), {"material": "ore", "stage": "ore", "price_usd_per_t": 10, "shortfall_penalty_usd_per_t": 1}],
        Demand=[{"region": "A", "material": "mag", "year": 2026, "demand_t": 1}],
        Projects=[{"project": "old", "region": "A", "status": "existing", "output": "mag", "capacity_tpy": 1}],
        Routes=[{"origin": "A", "destination": "*", "material": "mag", "transport_usd_per_t": 7},
                {"origin": "A", "destination": "B", "transport_usd_per_t": 3},
                {"origin": "*", "destination": "B", "allowed": "N"}],
    )
    d = build_data(load_case(path))
    routes = d.routes  # the legs that can carry something: mag is made at A and used at A (B passes it on)
    assert routes[("A", "B", "mag")] == (7.0, 0.0)
    assert ("B", "A", "mag") in routes and ("A", "A", "mag") not in routes
    assert d.route_rules.leg("A", "B", "ore") == (3.0, 0.0)  # nobody holds ore, but the rule still resolves
    assert d.route_rules.leg("X", "B", "ore") is None and d.route_rules.leg("A", "X", "ore") == (0.0, 0.0)


def test_small_byproduct_yield_keeps_coefficients_in_range(make_case):
    """Alumina 1e6 t/yr with gallium 1e-4 t/t: scaled per material, matrix and cost coefficients stay
    within 1e-3..1e6. The refinery runs only for the 900 kt of alumina demanded (it has a variable cost), so
    it yields 90 t of gallium, which covers the 80 t demanded."""
    path = make_case(
        {"start_year": 2026, "end_year": 2027},
        Regions=[_region("AU")],
        Materials=[{"material": "alumina", "stage": "oxide", "price_usd_per_t": 400, "shortfall_penalty_usd_per_t": 800},
                   {"material": "gallium", "stage": "byproduct", "price_usd_per_t": 500_000,
                    "shortfall_penalty_usd_per_t": 2_000_000}],
        Demand=[{"region": "AU", "material": "gallium", "year": y, "demand_t": 80} for y in (2026, 2027)]
        + [{"region": "AU", "material": "alumina", "year": y, "demand_t": 900_000} for y in (2026, 2027)],
        Projects=[{"project": "refinery", "region": "AU", "status": "existing", "output": "alumina",
                   "capacity_tpy": 1_000_000, "var_cost_usd_per_t": 250}],
        Recipes=[{"project": "refinery", "material": "gallium", "role": "byproduct", "t_per_t": 1e-4}],
    )
    case = load_case(path)
    m = build_model(case)
    run = HighsRun(m, solver_options(case))
    lp = run.h.getLp()
    a = np.abs(np.asarray(lp.a_matrix_.value_))
    cost = np.abs(np.asarray(lp.col_cost_))
    cost = cost[cost != 0]
    assert 1e-3 <= a.min() and a.max() <= 1e6
    assert 1e-3 <= cost.min() and cost.max() <= 1e6
    s = solve_case(case)
    supply = s.supply.set_index(["material", "year"])
    assert supply.loc[("gallium", 2026), "byproduct_t"] == pytest.approx(90, rel=1e-7)
    assert supply.loc[("gallium", 2026), "shortfall_t"] == pytest.approx(0, abs=1e-6)


def test_solver_options_reach_highs_by_their_own_names(sizing_case):
    """Settings overridden by options arrive in HiGHS under HiGHS's names (a misspelt name would be ignored)."""
    case = load_case(sizing_case)
    opts = solver_options(case, {"mip_rel_gap": 0.01, "time_limit_s": 30, "threads": 1, "random_seed": 7})
    run = HighsRun(build_model(case), opts)
    got = {name: run.h.getOptionValue(name)[1] for name in ("mip_rel_gap", "time_limit", "threads", "random_seed")}
    assert got == {"mip_rel_gap": 0.01, "time_limit": 30, "threads": 1, "random_seed": 7}
    s = solve_case(case, {"random_seed": 7})
    assert s.options["random_seed"] == 7 and s.options["mip_rel_gap"] == case.settings["mip_rel_gap"]


def test_a_refused_option_is_a_solver_failure_not_an_exception(sizing_case):
    s = solve_case(load_case(sizing_case), {"time_limit_s": -5})
    assert s.status == sol.FAILED and "time_limit" in s.message


def test_mean_value_scenario_takes_the_probability_weighted_means_of_the_derived_data():
    """DESIGN.md's mean-value problem: in each year the π-weighted mean of cut, pshock, wshock, demand
    multipliers and availability; delays ⌊Σ π·d + ½⌋; a route block where its probability is ≥ 0.5.
    Scenarios a (0.4), b (0.35), c (0.25): a cuts X by 0.8 (c: X by 0.4), shocks prices ×3 (`*`), halves US
    demand, delays p by 3 and blocks X>* ; b fails q and blocks Y>US; c blocks Y>US too.
    cut X = 0.4·0.8 + 0.25·0.4 = 0.42; pshock = wshock = 0.4·3 + 0.6·1 = 1.8; demand 0.4·0.5 + 0.6 = 0.8;
    delay ⌊0.4·3 + ½⌋ = 1; availability of q 0.65; X>* blocked with 0.4 (no), Y>US with 0.6 (yes)."""
    from model.formulation.scenarios import effects_from_rows, mean_effects

    def row(kind, target, magnitude=None, material=None):
        return {"kind": kind, "target": target, "material": material, "start_year": 2026, "end_year": 2026,
                "magnitude": magnitude}

    rows = {"a": [row("supply_cut", "X", 0.8, "mag"), row("price_shock", "*", 3.0, "mag"),
                  row("demand_shock", "US", 0.5), row("project_delay", "p", 3), row("route_block", "X>*")],
            "b": [row("project_fail", "q"), row("route_block", "Y>US")],
            "c": [row("supply_cut", "X", 0.4, "mag"), row("route_block", "Y>US")]}
    weight = {"a": 0.4, "b": 0.35, "c": 0.25}
    each = {s: effects_from_rows(r, ["US", "X", "Y"], ["mag"], {"p": "mag", "q": "mag"}, [2026]) for s, r in rows.items()}
    e = mean_effects(each, weight)
    assert e.cut[("X", "mag", 2026)] == pytest.approx(0.42)
    assert e.pshock[("Y", "mag", 2026)] == pytest.approx(1.8) and e.wshock[("mag", 2026)] == pytest.approx(1.8)
    assert e.dshock[("US", "mag", 2026)] == pytest.approx(0.8)
    assert e.delay[("p", 2026)] == 1
    assert e.avail[("q", 2026)] == pytest.approx(0.65)
    assert not e.blocked("X", "US", "mag", 2026) and e.blocked("Y", "US", "mag", 2026)


def test_solves_with_different_thread_counts_in_one_process(make_case):
    """HiGHS fixes its thread scheduler at the first solve in a process; later solves with another count still solve."""
    from model.case.load import load_case
    from model.solve.solver import solve_case
    from tests.conftest import minimal_sheets

    case = load_case(make_case(**minimal_sheets()))
    objectives = [solve_case(case, {"threads": n, "evpi_vss": False}) for n in (2, 1, 2)]
    assert [s.status for s in objectives] == ["optimal"] * 3
    assert len({round(s.objective, 9) for s in objectives}) == 1
