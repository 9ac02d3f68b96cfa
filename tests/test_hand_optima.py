"""Tiny cases whose optimum is derived by hand from DESIGN.md's formulation.

Each test builds a case of one to three years with round numbers, derives the
optimum in its docstring from "Mathematics (v1)", and checks the objective
(relative 1e-6) and the decisions that make it. Unless a test says otherwise:
discount_rate 0 (so δ_t = 1), mcpf 0, mip_rel_gap 1e-9, one member ``US``
demanding ``mag``, an outside region ``X`` offering it, and no Routes rows
(every pair allowed at zero cost). Units: per-tonne prices are USD/t and are
divided by 10^6 where they multiply tonnes, so 10 t at 10,000 USD/t cost
0.1 USD m; capital is capex·crf(r, life) in each planned online year within
the horizon, with crf(0, n) = 1/n.
"""

from __future__ import annotations

import pandas as pd
import pytest

from model.case.load import load_case

Y = 2026
BASE = {"discount_rate": 0, "mcpf": 0, "mip_rel_gap": 1e-9}
US = {"region": "US", "bloc": "ally", "member": "Y"}
X = {"region": "X", "bloc": "partner", "member": "N"}


# ---------------------------------------------------------------- helpers


def solve(path):
    """Load and solve a case; it must reach a proven optimum."""
    from model.solve.solver import solve_case

    sol = solve_case(load_case(path))
    assert sol.status == "optimal", f"{sol.status}: {sol.message}"
    return sol


def flat(df: pd.DataFrame) -> pd.DataFrame:
    """A table with its keys as columns, whether they were stored as the index or not."""
    return df if isinstance(df.index, pd.RangeIndex) else df.reset_index()


def one(df: pd.DataFrame, **match) -> pd.Series:
    """The single row of `df` whose columns equal `match`."""
    df = flat(df)
    sel = df
    for col, value in match.items():
        sel = sel[sel[col] == value]
    assert len(sel) == 1, f"expected one row with {match}, found {len(sel)}"
    return sel.iloc[0]


def fid_year(sol, project: str):
    """The project's FID year in the plan, or None when it is not funded."""
    v = one(sol.portfolio, project=project)["fid_year"]
    return None if v is None or pd.isna(v) else int(v)


def breakdown(sol) -> dict[str, float]:
    df = flat(sol.breakdown)
    return dict(zip(df["component"], df["value_musd"].astype(float)))


def mag(price=20_000, penalty=1_000_000, **extra) -> dict:
    return {"material": "mag", "stage": "magnet", "price_usd_per_t": price, "shortfall_penalty_usd_per_t": penalty, **extra}


def demand(years, t=10, region="US", material="mag") -> list[dict]:
    return [{"region": region, "material": material, "year": y, "demand_t": t} for y in years]


def offer(years, price, origin="X", material="mag", max_t=100) -> list[dict]:
    return [{"origin": origin, "material": material, "year": y, "max_t": max_t, "price_usd_per_t": price} for y in years]


def candidate(project, capex, capacity=10, lead=0, life=1, **extra) -> dict:
    return {"project": project, "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": capacity,
            "capex_musd": capex, "lead_time_yr": lead, "life_yr": life, **extra}


def settings(**kw) -> dict:
    return {**BASE, **kw}


# ---------------------------------------------------------------- capacity


def test_lead_time_delays_online_year(make_case):
    """A project with a one-year lead time produces nothing in its FID year.

    2026-2028, demand 10 t/yr; X sells at 50,000 USD/t (0.5 USD m per year of
    demand). Candidate P: capacity 10, lead 1, life 2, capex 0.6, so
    crf(0, 2) = 1/2 and capital is 0.3 in each planned online year in the
    horizon. FID window: 2026 .. end − lead = 2027.
    - FID 2026: online 2027, 2028 (ages 0, 1 < life 2): capital 0.3 + 0.3,
      import 2026: 0.5 → 1.1.
    - FID 2027: online 2028 (2029 is past the horizon): capital 0.3, imports
      2026 and 2027: 1.0 → 1.3.
    - no P: imports 1.5.
    Optimum 1.1: FID 2026, online 2027, no output in 2026.
    """
    years = [Y, Y + 1, Y + 2]
    path = make_case(settings(end_year=Y + 2), Regions=[US, X], Materials=[mag()], Demand=demand(years),
                     Supply=offer(years, 50_000), Projects=[candidate("P", 0.6, lead=1, life=2)])
    sol = solve(path)
    assert sol.objective == pytest.approx(1.1, rel=1e-6)
    assert fid_year(sol, "P") == Y
    assert int(one(sol.portfolio, project="P")["online_year"]) == Y + 1
    assert one(sol.supply, region="US", material="mag", year=Y)["from_projects_t"] == pytest.approx(0, abs=1e-6)
    assert one(sol.supply, region="US", material="mag", year=Y + 1)["from_projects_t"] == pytest.approx(10, rel=1e-6)


def test_ramp_limits_first_year_output_and_fixed_opex_is_paid_while_ramping(make_case):
    """ramp_yr 1 gives half the capacity in the first online year; fixed opex is paid in it anyway.

    2026-2027, demand 10 t/yr, X at 100,000 USD/t (0.01 USD m per t).
    Candidate P: capacity 10, lead 0, ramp 1 (g(0) = min(1, 1/2) = 0.5,
    g(1) = 1), life 2 (crf 1/2), capex 0.2 → capital 0.1 per online year,
    fixed opex 0.05 per online year.
    - FID 2026: 2026 output ≤ 5, import 5 → 0.5; 2027 output 10.
      Capital 0.2 + fixed opex 0.1 + imports 0.5 = 0.8.
    - FID 2027: import 10 in 2026 (1.0), 2027 output ≤ 5, import 5 (0.5),
      capital 0.1, fixed opex 0.05 → 1.65.
    - no P: 2.0.
    Optimum 0.8.
    """
    years = [Y, Y + 1]
    p = candidate("P", 0.2, life=2, ramp_yr=1, fixed_opex_musd_per_yr=0.05)
    path = make_case(settings(end_year=Y + 1), Regions=[US, X], Materials=[mag()], Demand=demand(years),
                     Supply=offer(years, 100_000), Projects=[p])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.8, rel=1e-6)
    assert fid_year(sol, "P") == Y
    assert one(sol.supply, region="US", material="mag", year=Y)["from_projects_t"] == pytest.approx(5, rel=1e-6)
    assert one(sol.supply, region="US", material="mag", year=Y + 1)["from_projects_t"] == pytest.approx(10, rel=1e-6)
    parts = breakdown(sol)
    assert parts["capital"] == pytest.approx(0.2, rel=1e-6)
    assert parts["fixed_opex"] == pytest.approx(0.1, rel=1e-6)


def test_discounting_and_crf_charge_capex_as_an_annuity(make_case):
    """With r = 0.1, a project paid by crf over its life costs capex·(1 + r) in present value.

    2026-2027, discount_rate 0.1: δ_2026 = 1, δ_2027 = 1/1.1. Demand 10 t/yr,
    X at 100,000 USD/t (1.0 USD m per year). Candidate P: capex 1, life 2,
    lead 0. crf(0.1, 2) = 0.1 / (1 − 1.1^−2) = 0.121/0.21 = 0.576190...
    - FID 2026: capital crf in 2026 and 2027, PV = crf·(1 + 1/1.1)
      = (0.121/0.21)·(2.1/1.1) = 1.1 exactly.
    - FID 2027: crf/1.1 + import 2026 1.0 = 1.5238...
    - no P: 1 + 1/1.1 = 1.909...
    Optimum 1.1.
    """
    years = [Y, Y + 1]
    path = make_case(settings(end_year=Y + 1, discount_rate=0.1), Regions=[US, X], Materials=[mag()],
                     Demand=demand(years), Supply=offer(years, 100_000), Projects=[candidate("P", 1.0, life=2)])
    sol = solve(path)
    assert sol.objective == pytest.approx(1.1, rel=1e-6)
    assert fid_year(sol, "P") == Y


# ---------------------------------------------------------------- financing


@pytest.mark.parametrize(
    "budget, chosen, objective",
    [(1.0, "A", 2.2), (0.8, "B", 2.6)],
    ids=["budget-1.0-funds-A", "budget-0.8-forces-B"],
)
def test_budget_forces_cheaper_project(make_case, budget, chosen, objective):
    """A grant budget too small for the viability gap of the better project forces the cheaper one.

    One year, demand 10 t, mcpf 0.2, shortfall 1,000,000 USD/t (10 USD m).
    Grant fund G (c_f = 1) with `budget` in 2026. Both candidates: capacity
    10, lead 0, life 1 (crf 1), min_public_share 0.5, so aid ≥ 0.5·capex
    and, as public money costs mcpf·c_f per USD m, aid = exactly 0.5·capex.
    - A: capex 2, var 0 → capital 2 + public funds 0.2·1.0 = 2.2; needs aid 1.0.
    - B: capex 1, var 150,000 USD/t → 1.5 + capital 1 + 0.2·0.5 = 2.6; aid 0.5.
    Budget 1.0: A (2.2). Budget 0.8 < 1.0: A cannot go ahead, B (2.6).
    """
    path = make_case(
        settings(mcpf=0.2), Regions=[US], Materials=[mag()], Demand=demand([Y]),
        Projects=[candidate("A", 2.0, min_public_share=0.5),
                  candidate("B", 1.0, min_public_share=0.5, var_cost_usd_per_t=150_000)],
        Funds=[{"fund": "G", "owner": "US", "instrument": "grant"}],
        Budgets=[{"fund": "G", "year": Y, "budget_musd": budget}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    other = "B" if chosen == "A" else "A"
    assert fid_year(sol, chosen) == Y and fid_year(sol, other) is None
    capex = {"A": 2.0, "B": 1.0}[chosen]
    assert one(sol.portfolio, project=chosen)["aid_musd"] == pytest.approx(0.5 * capex, rel=1e-6)
    assert breakdown(sol)["public_funds"] == pytest.approx(0.2 * 0.5 * capex, rel=1e-6)


def test_loan_costs_the_budget_only_its_subsidy_rate(make_case):
    """A loan fund's budget and the deadweight both count c_f per USD m lent.

    One year, demand 10 t, X at 200,000 USD/t (2.0 USD m), mcpf 0.5. Loan
    fund L, c_f = 0.2, budget 0.25. Candidate P: capex 1, life 1, lead 0,
    min_public_share 1 → aid = 1.0 from L, budget use c_f·aid = 0.2 ≤ 0.25.
    P: capital 1.0 + public funds mcpf·c_f·aid = 0.5·0.2·1.0 = 0.1 → 1.1,
    cheaper than importing (2.0). Optimum 1.1.
    """
    path = make_case(
        settings(mcpf=0.5), Regions=[US, X], Materials=[mag()], Demand=demand([Y]), Supply=offer([Y], 200_000),
        Projects=[candidate("P", 1.0, min_public_share=1.0)],
        Funds=[{"fund": "L", "owner": "US", "instrument": "loan", "budget_cost_per_musd": 0.2}],
        Budgets=[{"fund": "L", "year": Y, "budget_musd": 0.25}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(1.1, rel=1e-6)
    assert fid_year(sol, "P") == Y
    row = one(sol.funding, fund="L", year=Y)
    assert row["aid_musd"] == pytest.approx(1.0, rel=1e-6)
    assert row["budget_use_musd"] == pytest.approx(0.2, rel=1e-6)


@pytest.mark.parametrize("carryover, objective, fid", [("Y", 1.5, Y + 1), ("N", 2.0, None)])
def test_carryover_lets_two_years_budgets_fund_one_project(make_case, carryover, objective, fid):
    """Unspent budget carried from 2026 adds to 2027's and funds a project neither year could fund alone.

    2026-2027, demand 10 t/yr, X at 100,000 USD/t (1.0 USD m per year).
    Grant G (c_f 1) with 0.5 in each year. Candidate P: capex 1,
    min_public_share 1 (aid = 1.0 in its FID year), lead 0, life 2 (crf 1/2).
    - FID 2026: aid 1.0 > budget 0.5: infeasible either way.
    - FID 2027 with carryover Y: carry 0.5 out of 2026, aid 1.0 ≤ 0.5 + 0.5;
      import 2026 1.0 + capital 0.5 (2027 only) = 1.5.
    - carryover N: 2027's budget 0.5 < 1.0, P never goes ahead: imports 2.0.
    """
    years = [Y, Y + 1]
    path = make_case(
        settings(end_year=Y + 1), Regions=[US, X], Materials=[mag()], Demand=demand(years),
        Supply=offer(years, 100_000), Projects=[candidate("P", 1.0, life=2, min_public_share=1.0)],
        Funds=[{"fund": "G", "owner": "US", "instrument": "grant", "carryover": carryover}],
        Budgets=[{"fund": "G", "year": y, "budget_musd": 0.5} for y in years],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    assert fid_year(sol, "P") == fid
    if fid is not None:
        assert one(sol.funding, fund="G", year=Y)["carry_out_musd"] == pytest.approx(0.5, rel=1e-6)
        assert one(sol.funding, fund="G", year=Y + 1)["aid_musd"] == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize(
    "lag, objective, fids",
    [(0, 0.5, (Y, Y)), (1, 1.4, (Y, Y + 1)), (2, 2.3, (Y, Y + 2))],
    ids=["lag-0", "lag-1", "lag-2"],
)
def test_requires_with_lag_delays_the_dependent_project(make_case, lag, objective, fids):
    """P requires Q with lag L: P's FID comes at least L years after Q's.

    2026-2028, mag demand 10 t/yr, X at 100,000 USD/t (1.0 USD m per year).
    P: mag, capacity 10, lead 0, life 3 (crf 1/3), capex 0.3 → 0.1 per
    online year in the horizon. Q: an ore plant nobody needs, capex 0.2,
    life 1 → 0.2 in its FID year. requires: Σ_{τ≤t} fid[P,τ] ≤ Σ_{τ≤t−L} fid[Q,τ].
    - L = 0: Q and P in 2026: 0.2 + 0.3 = 0.5.
    - L = 1: Q 2026, P 2027: 0.2 + 0.2 + import 2026 1.0 = 1.4
      (Q 2027, P 2028: 0.2 + 0.1 + 2.0 = 2.3; no P: 3.0).
    - L = 2: Q 2026, P 2028: 0.2 + 0.1 + 2.0 = 2.3 (no P: 3.0).
    """
    years = [Y, Y + 1, Y + 2]
    q = {**candidate("Q", 0.2, capacity=1), "output": "ore"}
    path = make_case(
        settings(end_year=Y + 2), Regions=[US, X],
        Materials=[mag(), {"material": "ore", "stage": "ore", "price_usd_per_t": 0, "shortfall_penalty_usd_per_t": 0}],
        Demand=demand(years), Supply=offer(years, 100_000), Projects=[candidate("P", 0.3, life=3), q],
        Dependencies=[{"project": "P", "relation": "requires", "other": "Q", "lag_yr": lag}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    assert (fid_year(sol, "Q"), fid_year(sol, "P")) == fids


@pytest.mark.parametrize("excludes, objective, funded", [(False, 0.15, {"A", "B"}), (True, 0.55, {"B"})])
def test_excludes_allows_only_one_of_two_projects(make_case, excludes, objective, funded):
    """A excludes B: at most one of them goes ahead, and the cheaper one is kept.

    One year, demand 10 t, X at 100,000 USD/t (0.1 USD m per t). A: capacity
    5, capex 0.1; B: capacity 5, capex 0.05; both life 1, lead 0.
    - no rule: both, 0.15.
    - excludes: B + 5 t imported = 0.05 + 0.5 = 0.55 (A + 5 t: 0.6; none: 1.0).
    """
    deps = [{"project": "A", "relation": "excludes", "other": "B"}] if excludes else []
    sheets = {"Dependencies": deps} if deps else {}
    path = make_case(settings(), Regions=[US, X], Materials=[mag()], Demand=demand([Y]), Supply=offer([Y], 100_000),
                     Projects=[candidate("A", 0.1, capacity=5), candidate("B", 0.05, capacity=5)], **sheets)
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    assert {p for p in ("A", "B") if fid_year(sol, p) is not None} == funded


# ---------------------------------------------------------------- balance


def test_byproduct_meets_second_material_demand(make_case):
    """An alumina refinery is worth building for the gallium it co-produces.

    One year; US demands 100 t alumina and 1 t gallium. X sells alumina at
    1,000 USD/t (0.1 USD m for 100 t) and gallium at 500,000 USD/t (0.5 USD m).
    Candidate R: alumina, capacity 100, capex 0.3, life 1, by-product gallium
    0.01 t/t → 1 t at full output.
    - imports only: 0.6.
    - R: 0.3, meets both demands (alone it would not pay: 0.3 > 0.1).
    Optimum 0.3 with gallium from the by-product.
    """
    materials = [
        {"material": "al", "stage": "oxide", "price_usd_per_t": 1_000, "shortfall_penalty_usd_per_t": 1_000_000},
        {"material": "ga", "stage": "byproduct", "price_usd_per_t": 500_000, "shortfall_penalty_usd_per_t": 10_000_000},
    ]
    r = {**candidate("R", 0.3, capacity=100), "output": "al"}
    path = make_case(
        settings(), Regions=[US, X], Materials=materials,
        Demand=demand([Y], 100, material="al") + demand([Y], 1, material="ga"),
        Supply=offer([Y], 1_000, material="al", max_t=1000) + offer([Y], 500_000, material="ga"),
        Projects=[r], Recipes=[{"project": "R", "material": "ga", "role": "byproduct", "t_per_t": 0.01}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(0.3, rel=1e-6)
    assert fid_year(sol, "R") == Y
    ga = one(sol.supply, region="US", material="ga", year=Y)
    assert ga["byproduct_t"] == pytest.approx(1.0, rel=1e-6)
    assert ga["imports_partner_t"] + ga["shortfall_t"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("tariff_pct, origin, objective", [(0, "X", 0.1), (25, "Y", 0.13)])
def test_tariff_changes_the_chosen_origin(make_case, tariff_pct, origin, objective):
    """A 25 % tariff on X's route makes the dearer ally Y the cheaper landed source.

    One year, demand 10 t, reference price 20,000 USD/t. X (concern) sells at
    10,000 USD/t; Y (ally, not a member) at 12,000 with transport 1,000 USD/t.
    Tariff per t = tariff_pct/100 · 20,000 · wshock (1).
    - no tariff: X 10,000 < Y 13,000 → 0.1.
    - 25 %: X 10,000 + 5,000 = 15,000 > Y 13,000 → 10·13,000 = 0.13
      (external purchases 0.12, transport 0.01, tariffs 0).
    """
    regions = [US, {"region": "X", "bloc": "concern", "member": "N"}, {"region": "Y", "bloc": "ally", "member": "N"}]
    routes = [{"origin": "X", "destination": "US", "tariff_pct": tariff_pct},
              {"origin": "Y", "destination": "US", "transport_usd_per_t": 1_000}]
    path = make_case(settings(), Regions=regions, Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 10_000) + offer([Y], 12_000, origin="Y"), Routes=routes,
                     Projects=[{"project": "none", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}])
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    row = one(sol.supply, region="US", material="mag", year=Y)
    assert row["imports_concern_t"] == pytest.approx(10.0 if origin == "X" else 0.0, abs=1e-6)
    assert row["imports_ally_t"] == pytest.approx(10.0 if origin == "Y" else 0.0, abs=1e-6)
    assert breakdown(sol)["tariffs"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("multiplier, objective, build", [(1.0, 0.1, False), (5.0, 0.3, True)])
def test_price_shock_changes_the_choice(make_case, multiplier, objective, build):
    """A fivefold price shock on X's offer makes the domestic project cheaper than importing.

    One year, demand 10 t, X at 10,000 USD/t · pshock. Candidate P: capex 0.3,
    life 1. Scenario `s` (probability 1) with a price_shock on X.
    - multiplier 1: import 0.1 < 0.3.
    - multiplier 5: import 10·50,000 = 0.5 > 0.3 → build P, 0.3.
    """
    path = make_case(
        settings(), Regions=[US, X], Materials=[mag()], Demand=demand([Y]), Supply=offer([Y], 10_000),
        Projects=[candidate("P", 0.3)], Scenarios=[{"scenario": "s", "probability": 1}],
        Disruptions=[{"scenario": "s", "kind": "price_shock", "target": "X", "material": "mag", "start_year": Y,
                      "magnitude": multiplier}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    assert (fid_year(sol, "P") == Y) is build


@pytest.mark.parametrize("cap, objective, concern_t", [(None, 0.1, 10.0), (0.3, 0.135, 3.0)])
def test_concern_share_policy_caps_imports_from_concern_region(make_case, cap, objective, concern_t):
    """max_concern_share 0.3 limits imports from the concern region to 30 % of consumption.

    One year, demand 10 t (U = D = 10: no project inputs). X (concern) sells
    at 10,000 USD/t, Y (ally, not a member) at 15,000.
    - no policy: all from X, 0.1.
    - cap 0.3: ship from X ≤ 0.3·10 = 3 t; 3·10,000 + 7·15,000 = 135,000 USD = 0.135.
    """
    regions = [US, {"region": "X", "bloc": "concern", "member": "N"}, {"region": "Y", "bloc": "ally", "member": "N"}]
    sheets = {"Policies": [{"region": "US", "material": "mag", "max_concern_share": cap}]} if cap is not None else {}
    path = make_case(settings(), Regions=regions, Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 10_000) + offer([Y], 15_000, origin="Y"),
                     Projects=[{"project": "none", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
                     **sheets)
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    row = one(sol.supply, region="US", material="mag", year=Y)
    assert row["imports_concern_t"] == pytest.approx(concern_t, rel=1e-6)
    assert row["imports_ally_t"] == pytest.approx(10.0 - concern_t, abs=1e-6)
    dep = one(sol.dependence, region="US", material="mag", year=Y)
    assert dep["concern_share"] == pytest.approx(concern_t / 10.0, rel=1e-6)


# ---------------------------------------------------------------- stockpile


def test_stockpile_bought_before_supply_cut_is_released_during_it(make_case):
    """A stockpile filled in 2026 covers a 2027 export cut; in the cut year there is nothing to buy.

    2026-2027, demand 10 t/yr. X sells at 10,000 USD/t. Scenario `ban`
    (probability 1): supply_cut of X's mag from 2027 (magnitude 1). Reference
    price 20,000 USD/t, premium 10 % of it = 2,000 USD/t; holding cost
    1,000 USD/t/yr; shortfall 1,000,000 USD/t. Purchases are physical (v2):
    the stockpile's tonnes come from X's offer at X's price.
    - 2026: import 10 t for demand (0.1) and 10 t for the stockpile (0.1),
      premium 10·2,000 (0.02), hold 10 t (0.01).
    - 2027: X cut to 0, so nothing can be bought; release 10 t; inventory 0,
      so no terminal credit.
    Total 0.23. Buying less leaves shortfall at 1 USD m per t; buying more
    costs 12,000 USD/t and earns no credit (none was held at the start).
    """
    years = [Y, Y + 1]
    path = make_case(
        settings(end_year=Y + 1), Regions=[US, X], Materials=[mag(holding_cost_usd_per_t_yr=1_000)],
        Demand=demand(years), Supply=offer(years, 10_000),
        Projects=[{"project": "none", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Stockpiles=[{"stockpile": "S", "owner": "US", "location": "US", "material": "mag", "purchase_premium_pct": 10,
                     "release_only_in_disruption": "Y"}],
        Scenarios=[{"scenario": "ban", "probability": 1}],
        Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag", "start_year": Y + 1}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(0.23, rel=1e-6)
    first, second = one(sol.stockpiles, stockpile="S", year=Y), one(sol.stockpiles, stockpile="S", year=Y + 1)
    assert (first["buy_t"], first["release_t"], first["inventory_t"]) == pytest.approx((10, 0, 10), abs=1e-6)
    assert (second["buy_t"], second["release_t"], second["inventory_t"]) == pytest.approx((0, 10, 0), abs=1e-6)
    assert one(sol.supply, region="US", material="mag", year=Y + 1)["shortfall_t"] == pytest.approx(0, abs=1e-6)


# ---------------------------------------------------------------- risk


def _ban_case(make_case, penalty, **kw):
    """calm (0.8): X sells 100 t at 10,000 USD/t; ban (0.2): X cut. P: capacity 10, capex 0.5, life 1.

    The ban acts from the first year, so the tree branches at once; `decisions = now` keeps P's FID a choice
    made before the scenario is known, which these derivations assume.
    """
    return make_case(
        settings(decisions="now", **kw), Regions=[US, X], Materials=[mag(penalty=penalty)], Demand=demand([Y]),
        Supply=offer([Y], 10_000), Projects=[candidate("P", 0.5)],
        Scenarios=[{"scenario": "calm", "probability": 0.8}, {"scenario": "ban", "probability": 0.2}],
        Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag", "start_year": Y}],
    )


@pytest.mark.parametrize("risk_weight, objective, build", [(0.0, 0.38, False), (1.0, 1.0, True)])
def test_cvar_picks_the_robust_plan(make_case, risk_weight, objective, build):
    """With risk_weight 1 and cvar_alpha 0.5 the plan that is robust in the tail wins.

    Shortfall penalty 150,000 USD/t. Plans (the only first-stage choice is P):
    - cheap (no P): Z_calm = 10·10,000 = 0.1, Z_ban = 10·150,000 = 1.5;
      expected 0.8·0.1 + 0.2·1.5 = 0.38.
    - robust (P): Z = 0.5 in both; expected 0.5.
    risk_weight 0: cheap, 0.38.
    risk_weight 1, α = 0.5: CVaR = min_η η + 2·Σ_s π_s (Z_s − η)+.
    Cheap: for η ≤ 0.1 it is 0.76 − η, for 0.1 ≤ η ≤ 1.5 it is 0.6 + 0.6η:
    minimum 0.66 at η = 0.1 → 0.38 + 0.66 = 1.04. Robust: η = 0.5, CVaR 0.5
    → 0.5 + 0.5 = 1.0 < 1.04. Optimum 1.0 with P.
    """
    sol = solve(_ban_case(make_case, 150_000, risk_weight=risk_weight, cvar_alpha=0.5))
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    assert (fid_year(sol, "P") == Y) is build
    costs = dict(zip(flat(sol.scenarios)["scenario"], flat(sol.scenarios)["cost_musd"].astype(float)))
    assert costs == pytest.approx({"calm": 0.5, "ban": 0.5} if build else {"calm": 0.1, "ban": 1.5}, rel=1e-6)
    if build:
        assert breakdown(sol)["cvar_term"] == pytest.approx(0.5, rel=1e-6)
        assert sol.kpis["expected_cost_musd"] == pytest.approx(0.5, rel=1e-6)


def test_evpi_and_vss_by_hand(make_case):
    """EVPI and VSS of the two-scenario ban case, derived by hand.

    Shortfall penalty 300,000 USD/t, risk_weight 0.
    - RP: no P costs 0.8·0.1 + 0.2·(10·300,000 = 3.0) = 0.68; P costs 0.5.
      RP = 0.5 (build P).
    - WS: calm alone min(0.1, 0.5) = 0.1; ban alone min(0.5, 3.0) = 0.5;
      WS = 0.8·0.1 + 0.2·0.5 = 0.18. EVPI = RP − WS = 0.32.
    - Mean-value problem: the cut becomes 0.2·1 = 0.2 of X's 100 t, 80 t
      still offered, so importing (0.1) beats P (0.5): its plan builds
      nothing. EEV = that plan in the stochastic problem = 0.68.
      VSS = EEV − RP = 0.18.
    """
    sol = solve(_ban_case(make_case, 300_000))
    assert sol.objective == pytest.approx(0.5, rel=1e-6)
    assert fid_year(sol, "P") == Y
    assert sol.kpis["evpi_musd"] == pytest.approx(0.32, rel=1e-6)
    assert sol.kpis["vss_musd"] == pytest.approx(0.18, rel=1e-6)


def test_stockpile_capacity_limits_cover_and_its_marginal_value(make_case):
    """A 6 t stockpile covers 6 of the 10 t cut; one more tonne of capacity would save 987,000 USD.

    As the stockpile test above (2026-2027, X at 10,000 USD/t cut in 2027,
    premium 2,000 USD/t, holding 1,000 USD/t/yr, shortfall 1,000,000 USD/t),
    with capacity_t 6:
    - 2026: import 10 t for demand (0.1) and 6 t to stock (0.06), premium
      0.012, hold 6 (0.006); 2027: release 6, shortfall 4 (4.0). Total 4.178.
    Given this plan, one more tonne of capacity lets one more tonne be bought
    in 2026 and released in 2027: −10,000 − 2,000 − 1,000 + 1,000,000 =
    987,000 USD/t, the reported −Σ_{t,ν} dual(Σ_g inv ≤ capacity).
    """
    years = [Y, Y + 1]
    path = make_case(
        settings(end_year=Y + 1), Regions=[US, X], Materials=[mag(holding_cost_usd_per_t_yr=1_000)],
        Demand=demand(years), Supply=offer(years, 10_000),
        Projects=[{"project": "idle", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Stockpiles=[{"stockpile": "S", "owner": "US", "location": "US", "material": "mag", "capacity_t": 6,
                     "purchase_premium_pct": 10}],
        Scenarios=[{"scenario": "ban", "probability": 1}],
        Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag", "start_year": Y + 1}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(4.178, rel=1e-6)
    assert one(sol.stockpiles, stockpile="S", year=Y)["buy_t"] == pytest.approx(6, rel=1e-6)
    assert one(sol.supply, region="US", material="mag", year=Y + 1)["shortfall_t"] == pytest.approx(4, rel=1e-6)
    value = one(sol.stockpile_values, stockpile="S")["capacity_marginal_value_usd_per_t"]
    assert value == pytest.approx(987_000, rel=1e-6)


def test_stockpile_fund_budget_limits_acquisitions_and_its_marginal_value(make_case):
    """A stockpile fund of 0.11 USD m buys 5 t; each extra USD of that year's budget saves 987/22 USD.

    As the stockpile test (X at 10,000 USD/t cut in 2027, premium 2,000 USD/t,
    holding 1,000 USD/t/yr, shortfall 1,000,000 USD/t). The fund SF
    (instrument stockpile, c_f 1, budget 0.11 in 2026, none in 2027) pays
    acq = reference price × (1 + premium) = 22,000 USD/t; mcpf 0, so its outlay
    is a transfer and the real costs are X's price and the premium:
    - buy 5 t in 2026 (acq 0.11 = the budget; X's price 0.05, premium 0.01),
      hold 5 (0.005), import 0.1 for demand; 2027: release 5, shortfall 5
      (5.0). Total 5.165.
    Marginal value in 2026: one more USD m buys 1/0.022 t, each saving
    1,000,000 − 10,000 − 2,000 − 1,000 = 987,000 USD: 987/22 = 44.86... USD
    per USD. In 2027 X offers nothing, so budget cannot buy anything: 0.
    """
    years = [Y, Y + 1]
    path = make_case(
        settings(end_year=Y + 1), Regions=[US, X], Materials=[mag(holding_cost_usd_per_t_yr=1_000)],
        Demand=demand(years), Supply=offer(years, 10_000),
        Projects=[{"project": "idle", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Funds=[{"fund": "SF", "owner": "US", "instrument": "stockpile", "budget_cost_per_musd": 1}],
        Budgets=[{"fund": "SF", "year": Y, "budget_musd": 0.11}],
        Stockpiles=[{"stockpile": "S", "owner": "US", "location": "US", "material": "mag", "fund": "SF",
                     "purchase_premium_pct": 10}],
        Scenarios=[{"scenario": "ban", "probability": 1}],
        Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag", "start_year": Y + 1}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(5.165, rel=1e-6)
    assert one(sol.stockpiles, stockpile="S", year=Y)["buy_t"] == pytest.approx(5, rel=1e-6)
    first = one(sol.funding, fund="SF", year=Y)
    assert first["acquisitions_musd"] == pytest.approx(0.11, rel=1e-6)
    assert first["marginal_value"] == pytest.approx(987 / 22, rel=1e-6)
    assert one(sol.funding, fund="SF", year=Y + 1)["marginal_value"] == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("initial, objective", [(0, 0.1), (3, 0.04)])
def test_inventory_left_at_the_end_is_credited_at_the_reference_price(make_case, initial, objective):
    """Initial stock never released is worth its reference price at the end.

    One year, demand 10 t, X at 10,000 USD/t; stockpile S with initial_t
    `initial`, release_only_in_disruption N and no disruption, so
    B_k = end and releases are not allowed in a buying year (rel = 0).
    Objective = import 0.1 − 20,000·initial/10^6: 0.1 for 0 t, 0.04 for 3 t.
    """
    path = make_case(
        settings(), Regions=[US, X], Materials=[mag()], Demand=demand([Y]), Supply=offer([Y], 10_000),
        Projects=[{"project": "idle", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Stockpiles=[{"stockpile": "S", "owner": "US", "location": "US", "material": "mag", "initial_t": initial,
                     "release_only_in_disruption": "N"}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    assert breakdown(sol)["stockpile_terminal_value"] == pytest.approx(-0.02 * initial, abs=1e-9)


def test_failed_project_is_paid_for_but_pays_no_fixed_opex(make_case):
    """A project that may fail is still worth funding; when it fails its capital is paid, its fixed opex is not.

    One year, demand 10 t, X at 100,000 USD/t (1.0 USD m). Candidate P:
    capex 0.3, fixed opex 0.1, life 1. Scenarios ok (0.5) and fail (0.5,
    project_fail P).
    - build P: Z_ok = 0.3 + 0.1 = 0.4; Z_fail = 0.3 + import 1.0 = 1.3;
      expected 0.85.
    - no P: 1.0.
    Optimum 0.85 (a model charging opex on failure would find 0.9). The failure
    acts in the first year, so under `decisions = adaptive` the FID could wait
    for it; `decisions = now` keeps the FID a choice made before it is known.
    """
    path = make_case(
        settings(decisions="now"), Regions=[US, X], Materials=[mag()], Demand=demand([Y]), Supply=offer([Y], 100_000),
        Projects=[candidate("P", 0.3, fixed_opex_musd_per_yr=0.1)],
        Scenarios=[{"scenario": "ok", "probability": 0.5}, {"scenario": "fail", "probability": 0.5}],
        Disruptions=[{"scenario": "fail", "kind": "project_fail", "target": "P", "start_year": Y}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(0.85, rel=1e-6)
    assert fid_year(sol, "P") == Y
    costs = dict(zip(flat(sol.scenarios)["scenario"], flat(sol.scenarios)["cost_musd"].astype(float)))
    assert costs == pytest.approx({"ok": 0.4, "fail": 1.3}, rel=1e-6)


def test_project_delay_postpones_output_but_not_capital(make_case):
    """A one-year delay of an FID taken in 2026 moves the first output to 2027; capital follows the planned dates.

    2026-2027, demand 10 t/yr, X at 100,000 USD/t (1.0 USD m per year).
    Candidate P: capex 0.4, lead 0, life 2 (0.2 per planned online year).
    Scenario `late` (probability 1): project_delay P, 1 year, for FIDs in 2026-2027.
    - FID 2026: planned online 2026-2027 (capital 0.4); delayed, output only
      in 2027, import 2026 (1.0): 1.4.
    - FID 2027: capital 0.2 (planned 2027), output delayed past the horizon,
      imports 2.0: 2.2.  No P: 2.0.
    Optimum 1.4.
    """
    years = [Y, Y + 1]
    path = make_case(
        settings(end_year=Y + 1), Regions=[US, X], Materials=[mag()], Demand=demand(years),
        Supply=offer(years, 100_000), Projects=[candidate("P", 0.4, life=2)],
        Scenarios=[{"scenario": "late", "probability": 1}],
        Disruptions=[{"scenario": "late", "kind": "project_delay", "target": "P", "start_year": Y, "magnitude": 1}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(1.4, rel=1e-6)
    assert fid_year(sol, "P") == Y
    assert one(sol.supply, region="US", material="mag", year=Y)["from_projects_t"] == pytest.approx(0, abs=1e-6)
    assert one(sol.supply, region="US", material="mag", year=Y + 1)["from_projects_t"] == pytest.approx(10, rel=1e-6)
    assert breakdown(sol)["capital"] == pytest.approx(0.4, rel=1e-6)


@pytest.mark.parametrize(
    "kind, target, magnitude, objective",
    [("route_block", "X>US", None, 0.15), ("demand_shock", "US", 1.5, 0.175), ("supply_cut", "X", 0.4, 0.12)],
)
def test_disruption_kinds_act_on_their_target(make_case, kind, target, magnitude, objective):
    """Route blocks, demand shocks and partial supply cuts, one at a time.

    One year, demand 10 t; X sells 10 t at 10,000 USD/t, Y (ally, not a
    member) 100 t at 15,000. Scenario `d` (probability 1) with one row:
    - route_block X>US: all 10 t from Y: 0.15.
    - demand_shock US ×1.5: D = 15 t; X's 10 t (0.1) + 5 t from Y (0.075) = 0.175.
    - supply_cut X 0.4: X offers 6 t: 6·10,000 + 4·15,000 = 0.12.
    """
    regions = [US, X, {"region": "Y", "bloc": "ally", "member": "N"}]
    row = {"scenario": "d", "kind": kind, "target": target, "material": "mag", "start_year": Y}
    if magnitude is not None:
        row["magnitude"] = magnitude
    path = make_case(
        settings(), Regions=regions, Materials=[mag()], Demand=demand([Y]),
        Supply=offer([Y], 10_000, max_t=10) + offer([Y], 15_000, origin="Y"),
        Projects=[{"project": "idle", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Scenarios=[{"scenario": "d", "probability": 1}], Disruptions=[row],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)


@pytest.mark.parametrize("eligible, objective, chosen", [("domestic", 2.0, "A"), ("abroad", 0.5, "B"), (None, 0.5, "B")])
def test_fund_eligibility_decides_which_project_can_get_its_viability_gap(make_case, eligible, objective, chosen):
    """A domestic-only fund cannot close the viability gap of a project abroad.

    One year, US demand 10 t, X sells at 300,000 USD/t (3.0 USD m). Grant G
    (owner US, budget 5) with eligible_regions `eligible`. Both candidates
    need half their capex as aid (min_public_share 0.5), life 1, lead 0:
    - A in US: capex 1.0, var 100,000 USD/t → 1.0 + 1.0 = 2.0.
    - B in AU (partner, not a member): capex 0.5, ships to US at no cost → 0.5.
    domestic: only A can be aided → 2.0; abroad or any: B → 0.5.
    """
    regions = [US, X, {"region": "AU", "bloc": "partner", "member": "N"}]
    fund = {"fund": "G", "owner": "US", "instrument": "grant"}
    if eligible:
        fund["eligible_regions"] = eligible
    path = make_case(
        settings(), Regions=regions, Materials=[mag()], Demand=demand([Y]), Supply=offer([Y], 300_000),
        Projects=[candidate("A", 1.0, min_public_share=0.5, var_cost_usd_per_t=100_000),
                  {**candidate("B", 0.5, min_public_share=0.5), "region": "AU"}],
        Funds=[fund], Budgets=[{"fund": "G", "year": Y, "budget_musd": 5}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    assert fid_year(sol, chosen) == Y
    assert fid_year(sol, "B" if chosen == "A" else "A") is None


@pytest.mark.parametrize("fid, objective", [(Y, 0.5), (Y - 1, 0.0)], ids=["committed-costed", "committed-sunk"])
def test_committed_project_goes_ahead_and_sunk_one_costs_nothing(make_case, fid, objective):
    """A committed project with fid_year ≥ start is costed and built even when importing is cheaper; an earlier one is sunk.

    One year, demand 10 t, X at 1,000 USD/t (0.01 USD m). Committed P:
    capacity 10, capex 0.5, lead 0 (fid 2026) or lead 1 (fid 2025, online
    2026), life 1, min_public_share 1 with no fund (not enforced for committed).
    - fid 2026: fid fixed at 1, capital 0.5, P meets demand at no variable
      cost: 0.5.
    - fid 2025 < start: sunk, no capex; online 2026 (age 2026 − 2025 − 1 = 0): 0.
    """
    p = {**candidate("P", 0.5, lead=Y - fid, min_public_share=1.0), "status": "committed", "fid_year": fid}
    path = make_case(settings(), Regions=[US, X], Materials=[mag()], Demand=demand([Y]), Supply=offer([Y], 1_000),
                     Projects=[p])
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, abs=1e-9)
    assert one(sol.supply, region="US", material="mag", year=Y)["from_projects_t"] == pytest.approx(10, rel=1e-6)


def test_single_origin_share_policy_spreads_imports(make_case):
    """max_single_origin_share 0.65 keeps any one non-member origin to 65 % of consumption.

    One year, demand 10 t; X (partner) sells at 10,000 USD/t, Y (ally, not a
    member) at 15,000. Each origin ≤ 0.65·10 = 6.5 t:
    6.5·10,000 + 3.5·15,000 = 117,500 USD = 0.1175.
    """
    regions = [US, X, {"region": "Y", "bloc": "ally", "member": "N"}]
    path = make_case(
        settings(), Regions=regions, Materials=[mag()], Demand=demand([Y]),
        Supply=offer([Y], 10_000) + offer([Y], 15_000, origin="Y"),
        Projects=[{"project": "idle", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Policies=[{"region": "US", "material": "mag", "max_single_origin_share": 0.65}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(0.1175, rel=1e-6)
    row = one(sol.supply, region="US", material="mag", year=Y)
    assert (row["imports_partner_t"], row["imports_ally_t"]) == pytest.approx((6.5, 3.5), rel=1e-6)


def test_existing_project_stops_in_its_retire_year(make_case):
    """An existing plant with retire_year 2027 produces in 2026 only.

    2026-2027, demand 10 t/yr; existing E in US (capacity 10, var
    20,000 USD/t, no capex); X at 100,000 USD/t.
    2026: E, 0.2; 2027: E retired, import 1.0. Total 1.2.
    """
    years = [Y, Y + 1]
    e = {"project": "E", "region": "US", "status": "existing", "output": "mag", "capacity_tpy": 10,
         "var_cost_usd_per_t": 20_000, "retire_year": Y + 1}
    path = make_case(settings(end_year=Y + 1), Regions=[US, X], Materials=[mag()], Demand=demand(years),
                     Supply=offer(years, 100_000), Projects=[e])
    sol = solve(path)
    assert sol.objective == pytest.approx(1.2, rel=1e-6)
    assert one(sol.supply, region="US", material="mag", year=Y + 1)["from_projects_t"] == pytest.approx(0, abs=1e-6)


def test_project_inputs_count_in_consumption_for_the_concern_share(make_case):
    """A magnet plant's oxide input is bought under the concern-share cap, which counts it as consumption.

    One year, US demands 10 t magnet. Existing plant M in US: magnet,
    capacity 10, input 1.5 t oxide per t (no capex, no variable cost). Oxide:
    X (concern) at 10,000 USD/t, Y (ally, not a member) at 20,000. Magnet
    imports from Y at 100,000 USD/t. Policy: US oxide max_concern_share 0.4.
    Making q t of magnet needs 1.5q t oxide, U = 1.5q, concern ≤ 0.6q:
    0.6q·10,000 + 0.9q·20,000 = 24,000·q USD < 100,000·q for imports, so q = 10:
    6 t from X + 9 t from Y = 60,000 + 180,000 = 0.24 USD m.
    """
    regions = [US, {"region": "X", "bloc": "concern", "member": "N"}, {"region": "Y", "bloc": "ally", "member": "N"}]
    ox = {"material": "ox", "stage": "oxide", "price_usd_per_t": 15_000, "shortfall_penalty_usd_per_t": 0}
    plant = {"project": "M", "region": "US", "status": "existing", "output": "mag", "capacity_tpy": 10}
    path = make_case(
        settings(), Regions=regions, Materials=[mag(), ox], Demand=demand([Y]),
        Supply=offer([Y], 10_000, material="ox") + offer([Y], 20_000, origin="Y", material="ox")
        + offer([Y], 100_000, origin="Y"),
        Projects=[plant], Recipes=[{"project": "M", "material": "ox", "role": "input", "t_per_t": 1.5}],
        Policies=[{"region": "US", "material": "ox", "max_concern_share": 0.4}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(0.24, rel=1e-6)
    row = one(sol.supply, region="US", material="ox", year=Y)
    assert (row["imports_concern_t"], row["imports_ally_t"]) == pytest.approx((6, 9), rel=1e-6)


def test_no_transshipment_through_a_non_member(make_case):
    """A non-member can send on only what it produces or buys at its own offers, not what it receives.

    One year, US demands 10 t. X sells at 10,000 USD/t but its route to US is
    not allowed; X → Z and Z → US are. Y (ally, not a member) sells at
    30,000. Z has an idle magnet plant and an idle plant that would consume
    magnet (both capacity 0), so Z can hold and use magnet: shipments into
    and out of Z exist and only the rule stops them. Without it X → Z → US
    would cost 0.1; with it Z has nothing of its own to send: all 10 t from
    Y, 0.3.
    """
    regions = [US, X, {"region": "Z", "bloc": "partner", "member": "N"}, {"region": "Y", "bloc": "ally", "member": "N"}]
    scrap = {"material": "scrap", "stage": "product", "price_usd_per_t": 0, "shortfall_penalty_usd_per_t": 0}
    path = make_case(
        settings(), Regions=regions, Materials=[mag(), scrap], Demand=demand([Y]),
        Supply=offer([Y], 10_000) + offer([Y], 30_000, origin="Y"),
        Routes=[{"origin": "X", "destination": "US", "allowed": "N"}],
        Projects=[{"project": "idle", "region": "Z", "status": "existing", "output": "mag", "capacity_tpy": 0},
                  {"project": "sink", "region": "Z", "status": "existing", "output": "scrap", "capacity_tpy": 0}],
        Recipes=[{"project": "sink", "material": "mag", "role": "input", "t_per_t": 1}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(0.3, rel=1e-6)
    assert one(sol.supply, region="US", material="mag", year=Y)["imports_ally_t"] == pytest.approx(10, rel=1e-6)


@pytest.mark.parametrize("only_in_disruption, objective", [("N", 0.3), ("Y", 0.42)])
def test_release_rule_lets_a_reserve_be_drawn_in_calm_years_only_with_n(make_case, only_in_disruption, objective):
    """With release_only_in_disruption N, a held reserve may be drawn in a calm year; with Y, never without a disruption.

    2026-2027, demand 10 t/yr, X at 30,000 USD/t, reference price 20,000,
    no premium, holding cost 1,000 USD/t/yr, an initial holding of 10 t, no
    disruption. What is left at the end is credited at the reference price
    up to the initial holding.
    - N: release the 10 t in 2026 (no import that year, nothing held), import
      10 t in 2027 (0.3); nothing left, no credit: 0.3. Releasing in 2027
      instead costs the 2026 holding (0.01) as well; keeping the reserve costs
      0.6 + 0.02 − 0.2 = 0.42.
    - Y: no release ever: import 20 t (0.6), hold 10 t two years (0.02),
      credit 10 t at 20,000 (−0.2): 0.42.
    """
    years = [Y, Y + 1]
    path = make_case(
        settings(end_year=Y + 1), Regions=[US, X], Materials=[mag(holding_cost_usd_per_t_yr=1_000)],
        Demand=demand(years), Supply=offer(years, 30_000),
        Projects=[{"project": "idle", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Stockpiles=[{"stockpile": "S", "owner": "US", "location": "US", "material": "mag", "initial_t": 10,
                     "release_only_in_disruption": only_in_disruption}],
    )
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    released = [one(sol.stockpiles, stockpile="S", year=y)["release_t"] for y in years]
    assert released == pytest.approx([10, 0] if only_in_disruption == "N" else [0, 0], abs=1e-6)
