"""The rules v2 adds, each on a tiny case whose optimum is derived by hand from DESIGN.md "Mathematics (v2)".

Each test derives the optimum in its docstring from the equations (traced
origin, physical purchases, the terminal credit, the cost curve, the
scenario tree) and checks the objective (relative 1e-6) and the decisions
that make it. Unless a test says otherwise: discount_rate 0 (δ_t = 1), mcpf
0, mip_rel_gap 1e-9; members US and UK; CN a concern region, X a partner and
AU an ally outside the coalition; no Routes rows (every pair allowed at zero
cost). Per-tonne prices are USD/t, divided by 10^6 where they multiply
tonnes: 10 t at 10,000 USD/t cost 0.1 USD m. The magnet `mag` has reference
price 20,000 USD/t, which values tariffs and the terminal credit.
"""

from __future__ import annotations

import pandas as pd
import pytest

from model.case.load import load_case
from tests.test_hand_optima import breakdown, candidate, demand, flat, mag, offer, one

Y = 2026
BASE = {"discount_rate": 0, "mcpf": 0, "mip_rel_gap": 1e-9}
US = {"region": "US", "bloc": "ally", "member": "Y"}
UK = {"region": "UK", "bloc": "ally", "member": "Y"}
CN = {"region": "CN", "bloc": "concern", "member": "N"}
X = {"region": "X", "bloc": "partner", "member": "N"}
AU = {"region": "AU", "bloc": "ally", "member": "N"}
IDLE = {"project": "idle", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}


# ---------------------------------------------------------------- helpers


def solve(path, **options):
    """Load and solve a case; it must reach a proven optimum."""
    from model.solve.solver import solve_case

    sol = solve_case(load_case(path), options or None)
    assert sol.status == "optimal", f"{sol.status}: {sol.message}"
    return sol


def stockpile(**extra) -> dict:
    return {"stockpile": "S", "owner": "US", "location": "US", "material": "mag", **extra}


def settings(**kw) -> dict:
    return {**BASE, **kw}


def supply_row(sol, region, year=Y, material="mag", scenario=None) -> pd.Series:
    match = {"region": region, "material": material, "year": year}
    if scenario is not None:
        match["scenario"] = scenario
    return one(sol.supply, **match)


# ---------------------------------------------------------------- origin: tariffs and blocks


@pytest.mark.parametrize("direct", [{"allowed": "N"}, {"allowed": "Y", "transport_usd_per_t": 3_000}],
                         ids=["direct-closed", "direct-dearer"])
def test_reexported_tonne_pays_the_tariff_of_its_origin(make_case, direct):
    """A CN-made magnet re-exported through UK still pays the US tariff on CN.

    One year, US demands 10 t. CN sells at 10,000 USD/t, X at 16,000. Routes:
    CN→US tariff_pct 25, either closed (allowed N: its tariff still applies
    to CN-origin tonnes) or open with transport 3,000. A tonne of origin
    g ≠ ★ arriving at member d pays the tariff of the (g, d, m) row,
    whoever ships it: 0.25 · 20,000 = 5,000 USD/t on every CN tonne at US,
    however it came. (CN, UK) has no row: 0 at UK.
    - CN → UK → US: 10,000 + 5,000 = 15,000 USD/t.
    - CN → US direct (when open): 10,000 + 3,000 + 5,000 = 18,000.
    - X: 16,000.
    Optimum 10 · 15,000 = 0.15 USD m via UK (external purchases 0.1, tariffs
    0.05). Charging the last shipper's tariff (UK → US, none) would give 0.10.
    """
    routes = [{"origin": "CN", "destination": "US", "tariff_pct": 25, **direct}]
    path = make_case(settings(), Regions=[US, UK, CN, X], Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 10_000, origin="CN") + offer([Y], 16_000), Routes=routes, Projects=[IDLE])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.15, rel=1e-6)
    parts = breakdown(sol)
    assert parts["tariffs"] == pytest.approx(0.05, rel=1e-6)
    assert parts["external_purchases"] == pytest.approx(0.10, rel=1e-6)
    assert supply_row(sol, "US")["imports_concern_t"] == pytest.approx(10, rel=1e-6)
    assert supply_row(sol, "US")["tariffs_musd"] == pytest.approx(0.05, rel=1e-6)
    assert supply_row(sol, "UK")["exports_t"] == pytest.approx(10, rel=1e-6)


@pytest.mark.parametrize(
    "kind, target, objective, concern_t",
    [("route_block", "CN>US", 0.1, 10.0), ("origin_block", "CN>US", 0.3, 0.0), ("origin_block", "CN>*", 0.3, 0.0)],
    ids=["route-block-leaves-reexport-open", "origin-block-to-US", "origin-block-to-every-member"],
)
def test_origin_block_stops_reexports_that_a_route_block_lets_through(make_case, kind, target, objective, concern_t):
    """route_block CN>US only closes the leg; origin_block CN>US (or CN>*) stops every CN tonne reaching US.

    One year, US demands 10 t; CN sells at 10,000 USD/t, X at 30,000. Scenario
    `d` (probability 1) with one row acting in 2026. UK (a member) is open to
    both.
    - route_block CN>US: no ship[CN, US]; CN → UK → US is still open, 0.1.
    - origin_block CN>US: no ship[·, US, mag, CN] on any leg, so X: 0.3.
    - origin_block CN>*: the same for every member: 0.3.
    """
    path = make_case(settings(), Regions=[US, UK, CN, X], Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 10_000, origin="CN") + offer([Y], 30_000), Projects=[IDLE],
                     Scenarios=[{"scenario": "d", "probability": 1}],
                     Disruptions=[{"scenario": "d", "kind": kind, "target": target, "material": "mag", "start_year": Y}])
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    us = supply_row(sol, "US")
    assert us["imports_concern_t"] == pytest.approx(concern_t, abs=1e-6)
    assert us["imports_partner_t"] == pytest.approx(10 - concern_t, abs=1e-6)
    if kind == "route_block":
        assert supply_row(sol, "UK")["exports_t"] == pytest.approx(10, rel=1e-6)


def test_processing_at_a_member_gives_the_output_a_coalition_origin(make_case):
    """A magnet made in UK from CN oxide is coalition-made: a US concern cap on magnets does not bind.

    One year, US demands 10 t mag; Policies: US mag max_concern_share 0.1.
    Existing plant M in UK: mag, capacity 10, input 1 t ox per t, no cost.
    CN sells ox at 10,000 USD/t; X sells mag at 50,000.
    M's output has origin ★ (last substantial transformation in UK), so the
    10 t reaching US carry no concern origin: 10 t of CN ox = 0.1 USD m.
    (Were CN's content followed into the magnet, US could take 1 t of it and
    9 t from X: 0.01 + 0.45 = 0.46.)
    """
    ox = {"material": "ox", "stage": "oxide", "price_usd_per_t": 10_000, "shortfall_penalty_usd_per_t": 0}
    plant = {"project": "M", "region": "UK", "status": "existing", "output": "mag", "capacity_tpy": 10}
    path = make_case(settings(), Regions=[US, UK, CN, X], Materials=[mag(), ox], Demand=demand([Y]),
                     Supply=offer([Y], 10_000, origin="CN", material="ox") + offer([Y], 50_000),
                     Projects=[plant, IDLE], Recipes=[{"project": "M", "material": "ox", "role": "input", "t_per_t": 1}],
                     Policies=[{"region": "US", "material": "mag", "max_concern_share": 0.1}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.1, rel=1e-6)
    dep = one(sol.dependence, region="US", material="mag", year=Y)
    assert dep["coalition_origin_t"] == pytest.approx(10, rel=1e-6)
    assert dep["concern_share"] == pytest.approx(0, abs=1e-9)
    assert supply_row(sol, "UK")["from_projects_t"] == pytest.approx(10, rel=1e-6)
    assert one(sol.dependence, region="UK", material="ox", year=Y)["concern_origin_t"] == pytest.approx(10, rel=1e-6)


# ---------------------------------------------------------------- stockpiles


def test_stockpile_purchase_competes_with_demand_and_costs_the_suppliers_price(make_case):
    """A purchase comes out of the balance (X's 15 t serve demand and stockpile together), at X's price.

    2026-2027, discount_rate 0.25 (δ_2027 = 0.8), demand 10 t/yr. X offers
    15 t/yr at 10,000 USD/t; scenario `ban` (probability 1) cuts X fully in
    2027. Stockpile S at US: capacity 8, no premium, no fund, releases only
    in a touched year (2027). Shortfall 100,000 USD/t.
    - 2026: 10 t to demand + b t bought ≤ 15 t offered, so b ≤ 5 unless
      2026 runs short (0.1 USD m per t now to save 0.08 later: no).
      b = 5: imports 15 · 10,000 = 0.15.
    - 2027: release 5, short 5: 0.8 · 5 · 100,000 = 0.4.
    Optimum 0.55. (Purchases from nowhere at the reference price would fill
    the 8 t: 0.1 + 0.16 + 0.8 · 0.2 = 0.42; physical tonnes valued at the
    reference price instead of X's would cost 0.1 + 0.1 + 0.4 = 0.6.)
    """
    years = [Y, Y + 1]
    path = make_case(settings(end_year=Y + 1, discount_rate=0.25), Regions=[US, X], Materials=[mag(penalty=100_000)],
                     Demand=demand(years), Supply=offer(years, 10_000, max_t=15), Projects=[IDLE],
                     Stockpiles=[stockpile(capacity_t=8, release_only_in_disruption="Y")],
                     Scenarios=[{"scenario": "ban", "probability": 1}],
                     Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag",
                                   "start_year": Y + 1}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.55, rel=1e-6)
    first, second = one(sol.stockpiles, stockpile="S", year=Y), one(sol.stockpiles, stockpile="S", year=Y + 1)
    assert (first["buy_t"], first["inventory_t"]) == pytest.approx((5, 5), abs=1e-6)
    assert (second["release_t"], second["inventory_t"]) == pytest.approx((5, 0), abs=1e-6)
    assert supply_row(sol, "US")["shortfall_t"] == pytest.approx(0, abs=1e-6)
    assert supply_row(sol, "US", year=Y + 1)["shortfall_t"] == pytest.approx(5, rel=1e-6)
    parts = breakdown(sol)
    assert parts["external_purchases"] == pytest.approx(0.15, rel=1e-6)
    assert parts["shortfall_penalty"] == pytest.approx(0.4, rel=1e-6)


def test_stockpiled_tonnes_keep_their_origin_against_a_concern_cap(make_case):
    """A CN-made initial holding counts as CN when released: it shares the concern cap with CN imports.

    One year, US demands 10 t; Policies: US mag max_concern_share 0.5, so
    CN-origin consumption ≤ 5 t. CN sells at 10,000 USD/t, AU at 30,000.
    Stockpile S: initial 6 t of origin CN, releases allowed (N), no capacity.
    Terminal credit 20,000 · min(initial 6, what is left).
    A released tonne loses 20,000 of credit and is still CN-origin, so the 5
    concern tonnes come cheapest from CN imports (10,000); the other 5 from AU:
    0.05 + 0.15 − 6 · 0.02 = 0.08, the holding kept whole (6 t, all CN).
    (Were released tonnes coalition-made, 5 t released + 5 t from CN:
    0.05 − 1 · 0.02 = 0.03.)
    """
    path = make_case(settings(), Regions=[US, CN, AU], Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 10_000, origin="CN") + offer([Y], 30_000, origin="AU"), Projects=[IDLE | {"region": "AU"}],
                     Stockpiles=[stockpile(initial_t=6, initial_origin="CN", release_only_in_disruption="N")],
                     Policies=[{"region": "US", "material": "mag", "max_concern_share": 0.5}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.08, rel=1e-6)
    assert supply_row(sol, "US")["imports_ally_t"] == pytest.approx(5, rel=1e-6)
    dep = one(sol.dependence, region="US", material="mag", year=Y)
    assert dep["concern_origin_t"] == pytest.approx(5, rel=1e-6)
    assert dep["concern_share"] == pytest.approx(0.5, rel=1e-6)
    end = one(sol.stockpiles, stockpile="S", year=Y)
    assert (end["inventory_t"], end["inventory_concern_t"]) == pytest.approx((6, 6), abs=1e-6)
    assert breakdown(sol)["stockpile_terminal_value"] == pytest.approx(-0.12, rel=1e-6)


def test_terminal_credit_stops_at_the_initial_holding(make_case):
    """Tonnes bought above the initial holding earn nothing at the end, even when bought below the reference price.

    One year, US demands 10 t; X sells 100 t at 10,000 USD/t (reference
    price 20,000). Stockpile S: initial 3 t, capacity 20, releases allowed.
    tv ≤ min(initial 3, Σ_g inv_end): credit at most 3 · 0.02 = 0.06.
    Imports 0.1 − 0.06 = 0.04; buying more costs 0.01 per t for no credit
    (releasing and rebuying the initial 3 t nets zero), so the inventory
    ends at exactly 3 t. (A credit on every tonne left would buy 17 t more
    and find 0.04 − 0.17 = −0.13.)
    """
    path = make_case(settings(), Regions=[US, X], Materials=[mag()], Demand=demand([Y]), Supply=offer([Y], 10_000),
                     Projects=[IDLE], Stockpiles=[stockpile(initial_t=3, capacity_t=20, release_only_in_disruption="N")])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.04, rel=1e-6)
    assert breakdown(sol)["stockpile_terminal_value"] == pytest.approx(-0.06, rel=1e-6)
    assert one(sol.stockpiles, stockpile="S", year=Y)["inventory_t"] == pytest.approx(3, abs=1e-6)


# ---------------------------------------------------------------- the scenario tree


def _emergency_case(make_case, decisions):
    """calm (0.5) / ban (0.5: X cut from 2027), 2026-2027; candidate P capacity 10, lead 0, life 1, capex 0.5."""
    years = [Y, Y + 1]
    return make_case(settings(end_year=Y + 1, decisions=decisions), Regions=[US, X], Materials=[mag(penalty=100_000)],
                     Demand=demand(years), Supply=offer(years, 10_000), Projects=[candidate("P", 0.5)],
                     Scenarios=[{"scenario": "calm", "probability": 0.5}, {"scenario": "ban", "probability": 0.5}],
                     Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag",
                                   "start_year": Y + 1}])


def test_emergency_fid_in_the_ban_branch_only_when_decisions_adapt(make_case):
    """adaptive: P is funded in 2027 at the ban node only; now: once for all; their gap is the value of adapting.

    2026-2027, demand 10 t/yr, X at 10,000 USD/t (0.1 USD m per year),
    shortfall 100,000 USD/t (1.0 per year of demand). P (capacity 10, lead 0,
    life 1 → capital 0.5 in its FID year only; FID 2026 would serve 2026
    only, where X is cheaper). The tree splits in 2027.
    - adaptive: 2026 import 0.1 in both. 2027 calm: import 0.1 → Z = 0.2;
      2027 ban: FID P at node `ban` (0.5 < shortfall 1.0) → Z = 0.6.
      Expected 0.4.
    - now: one FID for both: P in 2027: Z = 0.6 in both → 0.6; no P:
      0.5 · 0.2 + 0.5 · 1.1 = 0.65. Optimum 0.6 with P.
    value of adapting = 0.6 − 0.4 = 0.2. WS = 0.5 · 0.2 + 0.5 · 0.6 = 0.4 = RP,
    so EVPI = 0; the mean-value problem (X cut by half in 2027: 50 t ≥ 10)
    decides nothing in 2026, so EEV = RP and VSS = 0.
    """
    sol = solve(_emergency_case(make_case, "adaptive"))
    assert sol.objective == pytest.approx(0.4, rel=1e-6)
    p = one(sol.portfolio, project="P")
    assert p["funded_probability"] == pytest.approx(0.5, rel=1e-6)
    assert int(p["fid_year"]) == Y + 1
    dec = flat(sol.decisions)
    assert one(dec, year=Y + 1, node="ban")["fid"] == "P"
    assert one(dec, year=Y + 1, node="calm")["fid"] == ""
    costs = dict(zip(flat(sol.scenarios)["scenario"], flat(sol.scenarios)["cost_musd"].astype(float)))
    assert costs == pytest.approx({"calm": 0.2, "ban": 0.6}, rel=1e-6)
    k = sol.kpis
    assert k["rp_now_musd"] == pytest.approx(0.6, rel=1e-6)
    assert k["value_of_adapting_musd"] == pytest.approx(0.2, rel=1e-6)
    assert k["evpi_musd"] == pytest.approx(0.0, abs=1e-7)
    assert k["vss_musd"] == pytest.approx(0.0, abs=1e-7)


def test_decisions_now_funds_for_every_branch_at_a_higher_cost(make_case):
    """decisions = now: P's FID is taken in 2027 for both scenarios at once: 0.6 (derivation above)."""
    sol = solve(_emergency_case(make_case, "now"), evpi_vss=False)
    assert sol.objective == pytest.approx(0.6, rel=1e-6)
    p = one(sol.portfolio, project="P")
    assert p["funded_probability"] == pytest.approx(1.0, rel=1e-6)
    assert int(p["fid_year"]) == Y + 1
    assert one(flat(sol.decisions), year=Y + 1, node="all")["fid"] == "P"


@pytest.mark.parametrize("carryover, objective", [("Y", 0.65), ("N", 5.15)])
def test_money_carried_before_the_branch_is_spent_in_one_branch_only(make_case, carryover, objective):
    """A carry-over fund saves 2026's budget at the root and spends it at the 2027 ban node; calm lets it lapse.

    2026-2027, calm (0.5) / ban (0.5: X cut from 2027), demand 10 t/yr, X at
    10,000 USD/t, shortfall 1,000,000 USD/t (10 USD m per year of demand).
    Grant G (c_f 1, mcpf 0) with 0.5 in each year. P: capex 1.0, life 1,
    min_public_share 1, so aid = 1.0 in its FID year.
    - carryover Y: carry[G, 2026, root] = 0.5; at node `ban` of 2027 aid
      1.0 ≤ 0.5 + 0.5: FID P. Z_calm = 0.2, Z_ban = 0.1 + 1.0 = 1.1 →
      0.65. Calm spends nothing (importing at 0.1 beats P at 1.0).
    - carryover N: 0.5 < 1.0 in every year, P never: Z_ban = 0.1 + 10 →
      0.5 · 0.2 + 0.5 · 10.1 = 5.15.
    """
    years = [Y, Y + 1]
    path = make_case(
        settings(end_year=Y + 1), Regions=[US, X], Materials=[mag()], Demand=demand(years),
        Supply=offer(years, 10_000), Projects=[candidate("P", 1.0, min_public_share=1.0)],
        Funds=[{"fund": "G", "owner": "US", "instrument": "grant", "carryover": carryover}],
        Budgets=[{"fund": "G", "year": y, "budget_musd": 0.5} for y in years],
        Scenarios=[{"scenario": "calm", "probability": 0.5}, {"scenario": "ban", "probability": 0.5}],
        Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag", "start_year": Y + 1}],
    )
    sol = solve(path, evpi_vss=False)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    if carryover == "Y":
        fund = flat(sol.funding)
        assert one(fund, fund="G", year=Y, node="calm")["carry_out_musd"] == pytest.approx(0.5, rel=1e-6)
        ban, calm = one(fund, fund="G", year=Y + 1, node="ban"), one(fund, fund="G", year=Y + 1, node="calm")
        assert ban["aid_musd"] == pytest.approx(1.0, rel=1e-6)
        assert ban["carry_in_musd"] == pytest.approx(0.5, rel=1e-6)
        assert calm["aid_musd"] == pytest.approx(0.0, abs=1e-9)
        assert one(sol.portfolio, project="P")["funded_probability"] == pytest.approx(0.5, rel=1e-6)
    else:
        assert one(sol.portfolio, project="P")["funded_probability"] == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------- shortfall curve and policies


@pytest.mark.parametrize("max_t, objective, steps", [(6, 1.1, (2, 2)), (100, 0.9, (2, 0))],
                         ids=["scarce-offer-uses-both-steps", "ample-offer-uses-the-cheap-step-only"])
def test_two_step_shortfall_curve_uses_the_cheap_step_first(make_case, max_t, objective, steps):
    """ShortfallCosts (0.2 at 50,000; 0.5 at 200,000; the rest at the Materials 1,000,000) price shortfall by step.

    One year, US demands 10 t; X sells at 100,000 USD/t up to max_t. Steps:
    2 t at 50,000, 3 t at 200,000, 5 t at 1,000,000.
    - max_t 6: short 4 t: step 1 full (2 t, 0.1), step 2 2 t (0.4); imports
      0.6 → 1.1.
    - max_t 100: step 1 (50,000) is cheaper than X (100,000), step 2 dearer:
      short 2 t (0.1), import 8 t (0.8) → 0.9.
    """
    curve = [{"material": "mag", "region": None, "up_to_share": 0.2, "penalty_usd_per_t": 50_000},
             {"material": "mag", "region": None, "up_to_share": 0.5, "penalty_usd_per_t": 200_000}]
    path = make_case(settings(), Regions=[US, X], Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 100_000, max_t=max_t), Projects=[IDLE], ShortfallCosts=curve)
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    short = flat(sol.shortfall)
    got = {int(r.step): float(r.shortfall_t) for r in short.itertuples()}
    assert got.get(1, 0.0) == pytest.approx(steps[0], abs=1e-6)
    assert got.get(2, 0.0) == pytest.approx(steps[1], abs=1e-6)
    assert got.get(3, 0.0) == pytest.approx(0.0, abs=1e-6)
    assert breakdown(sol)["shortfall_penalty"] == pytest.approx(0.05 * steps[0] + 0.2 * steps[1], rel=1e-6)


def test_coalition_wide_policy_caps_the_members_sum(make_case):
    """A `*` Policies row caps the coalition's concern share as a whole; a member's own row applies as well.

    One year, US and UK each demand 10 t. CN sells at 10,000 USD/t, AU at
    30,000. Policies: `*` mag max_concern_share 0.3 (Σ_n concern ≤ 0.3 · 20 = 6)
    and US mag 0.1 (US concern ≤ 1).
    Optimum: 6 concern tonnes (any split with US ≤ 1), 14 from AU:
    0.06 + 0.42 = 0.48. (The `*` cap applied to each member alone: US 1 +
    UK 3 → 0.04 + 0.48 = 0.52; `*` ignored: US 1 + UK 10 → 0.38.)
    """
    path = make_case(settings(), Regions=[US, UK, CN, AU], Materials=[mag()],
                     Demand=demand([Y]) + demand([Y], region="UK"),
                     Supply=offer([Y], 10_000, origin="CN") + offer([Y], 30_000, origin="AU"),
                     Projects=[IDLE | {"region": "AU"}],
                     Policies=[{"region": "*", "material": "mag", "max_concern_share": 0.3},
                               {"region": "US", "material": "mag", "max_concern_share": 0.1}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.48, rel=1e-6)
    coal = one(sol.dependence, region="coalition", material="mag", year=Y)
    assert coal["concern_origin_t"] == pytest.approx(6, rel=1e-6)
    assert coal["concern_share"] == pytest.approx(0.3, rel=1e-6)
    assert one(sol.dependence, region="US", material="mag", year=Y)["concern_origin_t"] <= 1 + 1e-6


def test_single_origin_cap_counts_tonnes_reexported_through_a_member(make_case):
    """max_single_origin_share 0.5 caps X-origin tonnes at US even when they come through UK.

    One year, US demands 10 t; X (partner) sells at 10,000 USD/t but X → US is
    closed; X → UK → US is open. AU sells at 30,000. Each non-member origin
    ≤ 0.5 · 10 = 5 t at US, traced: 5 · 10,000 + 5 · 30,000 = 0.2.
    (Counting the last shipper, UK, would let all 10 t of X through: 0.1.)
    """
    path = make_case(settings(), Regions=[US, UK, X, AU], Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 10_000) + offer([Y], 30_000, origin="AU"), Projects=[IDLE],
                     Routes=[{"origin": "X", "destination": "US", "allowed": "N"}],
                     Policies=[{"region": "US", "material": "mag", "max_single_origin_share": 0.5}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.2, rel=1e-6)
    us = supply_row(sol, "US")
    assert (us["imports_partner_t"], us["imports_ally_t"]) == pytest.approx((5, 5), rel=1e-6)
    # X's 5 t all pass through UK; AU's may too (every leg costs nothing), so UK ships at least 5 t
    assert supply_row(sol, "UK")["exports_t"] >= 5 - 1e-6
    dep = one(sol.dependence, region="US", material="mag", year=Y)
    assert dep["largest_origin_share"] == pytest.approx(0.5, rel=1e-6)


# ---------------------------------------------------------------- more v2 rules


def test_stockpiled_tonnes_may_be_used_during_an_origin_block_of_their_origin(make_case):
    """CN-made tonnes already in a US stockpile have arrived: an origin_block CN>US does not stop their release.

    One year, scenario `ob` (probability 1): origin_block CN>US in 2026 (it
    touches mag, so a release_only_in_disruption stockpile may release).
    US demands 10 t; CN sells at 10,000 USD/t (blocked), X at 30,000.
    Stockpile S: initial 6 t of origin CN. A released tonne loses 20,000 of
    credit, an X tonne costs 30,000: release 6, import 4 from X: 0.12, no
    credit left. (Were the holding blocked too: 10 from X − 0.12 = 0.18.)
    """
    path = make_case(settings(), Regions=[US, CN, X], Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 10_000, origin="CN") + offer([Y], 30_000), Projects=[IDLE],
                     Stockpiles=[stockpile(initial_t=6, initial_origin="CN", release_only_in_disruption="Y")],
                     Scenarios=[{"scenario": "ob", "probability": 1}],
                     Disruptions=[{"scenario": "ob", "kind": "origin_block", "target": "CN>US", "material": "mag",
                                   "start_year": Y}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.12, rel=1e-6)
    assert one(sol.stockpiles, stockpile="S", year=Y)["release_t"] == pytest.approx(6, rel=1e-6)
    us = supply_row(sol, "US")
    assert (us["imports_partner_t"], us["imports_concern_t"]) == pytest.approx((4, 0), abs=1e-6)
    assert one(sol.dependence, region="US", material="mag", year=Y)["concern_origin_t"] == pytest.approx(6, rel=1e-6)


def test_max_purchase_tpy_caps_each_years_buying(make_case):
    """max_purchase_tpy 4 spreads the build-up over two years and still leaves the ban short.

    2026-2028, scenario `ban` (probability 1) cuts X fully in 2028. Demand 10
    t/yr; X sells 100 t/yr at 10,000 USD/t; shortfall 100,000 USD/t.
    Stockpile S (no capacity limit, releases in touched years) may buy at
    most 4 t per year: 4 in 2026 and 4 in 2027, release 8 in 2028, short 2.
    Imports (10 + 4) · 2 = 28 t = 0.28; shortfall 2 · 0.1 = 0.2 → 0.48.
    (Without the cap: 10 t bought, 0.3.)
    """
    years = [Y, Y + 1, Y + 2]
    path = make_case(settings(end_year=Y + 2), Regions=[US, X], Materials=[mag(penalty=100_000)], Demand=demand(years),
                     Supply=offer(years, 10_000), Projects=[IDLE],
                     Stockpiles=[stockpile(max_purchase_tpy=4, release_only_in_disruption="Y")],
                     Scenarios=[{"scenario": "ban", "probability": 1}],
                     Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag",
                                   "start_year": Y + 2}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.48, rel=1e-6)
    bought = [one(sol.stockpiles, stockpile="S", year=y)["buy_t"] for y in years]
    assert bought == pytest.approx([4, 4, 0], abs=1e-6)
    assert one(sol.stockpiles, stockpile="S", year=Y + 2)["release_t"] == pytest.approx(8, rel=1e-6)


@pytest.mark.parametrize("step, objective, fid", [(1, 1.2, Y + 1), (2, 2.1, Y + 2)])
def test_fid_step_allows_fids_only_every_kth_year_from_start(make_case, step, objective, fid):
    """fid_step_yr 2 allows FIDs in 2026 and 2028 only; with earliest_fid_year 2027 that leaves 2028.

    2026-2028, demand 10 t/yr, X at 100,000 USD/t (1.0 USD m per year).
    P: capacity 10, lead 0, life 3 (0.1 per planned online year), capex 0.3,
    earliest_fid_year 2027.
    - step 1: W = {2027, 2028}; FID 2027: import 2026 (1.0) + 0.2 = 1.2.
    - step 2: W = {2028}; FID 2028: 2.0 + 0.1 = 2.1 (no P: 3.0).
    """
    years = [Y, Y + 1, Y + 2]
    path = make_case(settings(end_year=Y + 2, fid_step_yr=step), Regions=[US, X], Materials=[mag()],
                     Demand=demand(years), Supply=offer(years, 100_000),
                     Projects=[candidate("P", 0.3, life=3, earliest_fid_year=Y + 1)])
    sol = solve(path)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    assert int(one(sol.portfolio, project="P")["fid_year"]) == fid


def test_a_members_own_shortfall_rows_replace_the_common_ones(make_case):
    """UK's own ShortfallCosts rows price its shortfall; US, without rows of its own, uses the blank-region rows.

    One year, US and UK each demand 10 t and nothing can supply them (an idle
    plant only). Rows: (blank, 1.0, 100,000); (UK, 0.5, 10,000); (UK, 1.0, 50,000).
    US: 10 t at 100,000 = 1.0. UK: 5 t at 10,000 + 5 t at 50,000 = 0.3.
    Objective 1.3 (had UK used the common row: 2.0; had US fallen back to the
    Materials penalty, 1,000,000: 10.3).
    """
    curve = [{"material": "mag", "region": None, "up_to_share": 1.0, "penalty_usd_per_t": 100_000},
             {"material": "mag", "region": "UK", "up_to_share": 0.5, "penalty_usd_per_t": 10_000},
             {"material": "mag", "region": "UK", "up_to_share": 1.0, "penalty_usd_per_t": 50_000}]
    path = make_case(settings(), Regions=[US, UK, X], Materials=[mag()], Demand=demand([Y]) + demand([Y], region="UK"),
                     Projects=[IDLE], ShortfallCosts=curve)
    sol = solve(path)
    assert sol.objective == pytest.approx(1.3, rel=1e-6)
    short = flat(sol.shortfall)
    uk = {int(r.step): (float(r.shortfall_t), float(r.penalty_usd_per_t)) for r in short[short.region == "UK"].itertuples()}
    us = {int(r.step): (float(r.shortfall_t), float(r.penalty_usd_per_t)) for r in short[short.region == "US"].itertuples()}
    assert uk == {1: pytest.approx((5, 10_000)), 2: pytest.approx((5, 50_000))}
    assert us == {1: pytest.approx((10, 100_000))}


def test_single_origin_cap_never_counts_coalition_made_tonnes(make_case):
    """max_single_origin_share caps non-member origins only: UK-made magnets may be all of US's use.

    One year, US demands 10 t; existing plant E in UK (capacity 10, var
    10,000 USD/t); X sells at 50,000. US max_single_origin_share 0.3.
    All 10 t from E: 0.1. (Were ★ capped like a country: 3 from E, 7 from X:
    0.03 + 0.35 = 0.38.)
    """
    plant = {"project": "E", "region": "UK", "status": "existing", "output": "mag", "capacity_tpy": 10,
             "var_cost_usd_per_t": 10_000}
    path = make_case(settings(), Regions=[US, UK, X], Materials=[mag()], Demand=demand([Y]), Supply=offer([Y], 50_000),
                     Projects=[plant, IDLE], Policies=[{"region": "US", "material": "mag", "max_single_origin_share": 0.3}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.1, rel=1e-6)
    assert one(sol.dependence, region="US", material="mag", year=Y)["coalition_origin_t"] == pytest.approx(10, rel=1e-6)


def test_coalition_made_tonnes_pay_the_tariff_of_the_leg(make_case):
    """A UK-made magnet arriving at US pays the UK→US row's tariff; a CN magnet pays CN's, via any leg.

    One year, US demands 10 t. Existing plant E in UK: capacity 10, var
    10,000 USD/t. CN sells at 10,000. Routes: UK→US tariff 10 % (2,000 USD/t
    on ★ tonnes: the leg's row), CN→US tariff 25 % (5,000 on CN tonnes).
    UK-made: 12,000 < CN: 15,000. Optimum 10 · 12,000 = 0.12, tariffs 0.02.
    """
    plant = {"project": "E", "region": "UK", "status": "existing", "output": "mag", "capacity_tpy": 10,
             "var_cost_usd_per_t": 10_000}
    routes = [{"origin": "UK", "destination": "US", "tariff_pct": 10},
              {"origin": "CN", "destination": "US", "tariff_pct": 25}]
    path = make_case(settings(), Regions=[US, UK, CN], Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 10_000, origin="CN"), Projects=[plant], Routes=routes)
    sol = solve(path)
    assert sol.objective == pytest.approx(0.12, rel=1e-6)
    assert breakdown(sol)["tariffs"] == pytest.approx(0.02, rel=1e-6)
    assert supply_row(sol, "US")["imports_coalition_t"] == pytest.approx(10, rel=1e-6)


def test_world_price_shock_scales_the_tariff_base(make_case):
    """A `*` price_shock ×2 doubles every offer and the tariff base (wshock): CN's 25 % becomes 10,000 USD/t.

    One year, scenario `p` (probability 1) with price_shock `*` ×2 on mag.
    US demands 10 t; CN offers at 10,000 → 20,000, X at 16,000 → 32,000.
    Tariff on CN at US: 0.25 · 20,000 · 2 = 10,000. CN landed 30,000 < X
    32,000: 0.3 (external 0.2, tariffs 0.1). (An unscaled base: 0.25.)
    """
    path = make_case(settings(), Regions=[US, CN, X], Materials=[mag()], Demand=demand([Y]),
                     Supply=offer([Y], 10_000, origin="CN") + offer([Y], 16_000), Projects=[IDLE],
                     Routes=[{"origin": "CN", "destination": "US", "tariff_pct": 25}],
                     Scenarios=[{"scenario": "p", "probability": 1}],
                     Disruptions=[{"scenario": "p", "kind": "price_shock", "target": "*", "material": "mag",
                                   "start_year": Y, "magnitude": 2}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.3, rel=1e-6)
    parts = breakdown(sol)
    assert parts["tariffs"] == pytest.approx(0.1, rel=1e-6)
    assert parts["external_purchases"] == pytest.approx(0.2, rel=1e-6)


@pytest.mark.parametrize("decisions, objective, bought", [("adaptive", 2.75, {"calm": 10, "p": 5}),
                                                          ("now", 5.225, {"calm": 5, "p": 5})])
def test_now_purchases_must_fit_the_budget_at_every_world_price(make_case, decisions, objective, bought):
    """Under `now` one purchase must fit the stockpile fund's budget row of every information node, each valued at
    its own world price; under `adaptive` each node buys what its own row allows.

    2026-2027; calm (0.5) and p (0.5: `*` price_shock ×2 on mag in 2026);
    both cut X fully in 2027, so the tree splits in 2026. Demand 10 t/yr; X
    sells at 10,000 USD/t (20,000 in p's 2026); shortfall 1,000,000 USD/t.
    Stockpile S paid by stockpile fund F (c_f 1, budget 0.2 in 2026, mcpf 0):
    acq = 20,000 · wshock · b / 10^6 ≤ 0.2, so b ≤ 10 at calm, ≤ 5 at p.
    - adaptive: calm buys 10: 20 t · 10,000 = 0.2, 2027 released, Z = 0.2;
      p buys 5: 15 t · 20,000 = 0.3, 2027 short 5 (5.0), Z = 5.3 → 2.75.
    - now: one b ≤ min(10, 5) = 5: Z_calm = 0.15 + 5.0 = 5.15, Z_p = 5.3
      → 5.225.
    """
    years = [Y, Y + 1]
    cut = {"kind": "supply_cut", "target": "X", "material": "mag", "start_year": Y + 1}
    path = make_case(
        settings(end_year=Y + 1, decisions=decisions), Regions=[US, X], Materials=[mag()], Demand=demand(years),
        Supply=offer(years, 10_000), Projects=[IDLE],
        Funds=[{"fund": "F", "owner": "US", "instrument": "stockpile", "budget_cost_per_musd": 1}],
        Budgets=[{"fund": "F", "year": Y, "budget_musd": 0.2}],
        Stockpiles=[stockpile(fund="F", release_only_in_disruption="Y")],
        Scenarios=[{"scenario": "calm", "probability": 0.5}, {"scenario": "p", "probability": 0.5}],
        Disruptions=[{"scenario": "calm", **cut}, {"scenario": "p", **cut},
                     {"scenario": "p", "kind": "price_shock", "target": "*", "material": "mag", "start_year": Y,
                      "end_year": Y, "magnitude": 2}])
    sol = solve(path, evpi_vss=False)
    assert sol.objective == pytest.approx(objective, rel=1e-6)
    for s, b in bought.items():
        assert one(sol.stockpiles, stockpile="S", year=Y, scenario=s)["buy_t"] == pytest.approx(b, rel=1e-6)
    fund = flat(sol.funding)
    assert one(fund, fund="F", year=Y, node="p")["budget_use_musd"] == pytest.approx(0.2, rel=1e-6)
    assert one(fund, fund="F", year=Y, node="calm")["acquisitions_musd"] == pytest.approx(0.02 * bought["calm"], rel=1e-6)


def test_evpi_and_vss_of_a_lead_time_decision_taken_before_the_ban_is_known(make_case):
    """P (lead 1) must be decided in 2026, before a 2027 ban is seen: EVPI 0.2, VSS 0.05, value of adapting 0.

    2026-2027; calm (0.5) / ban (0.5: X cut from 2027). Demand 10 t/yr, X at
    10,000 USD/t (0.1 per year), shortfall 100,000 USD/t (1.0 per year).
    P: capacity 10, lead 1, life 1, capex 0.5, latest_fid_year 2026 (online
    2027 only).
    - RP: with P, Z = 0.1 + 0.5 in both → 0.6; without, 0.5 · 0.2 +
      0.5 · 1.1 = 0.65. RP = 0.6, P at the root.
    - WS: calm alone 0.2, ban alone 0.6 → 0.4; EVPI = 0.2.
    - Mean value: X cut by 0.5 in 2027 (50 t ≥ 10): no P. EEV fixes no P at
      the root: 0.65; VSS = 0.05.
    - now: the only decision is at the root, which both modes share: RP(now)
      = 0.6, value of adapting 0.
    """
    years = [Y, Y + 1]
    path = make_case(settings(end_year=Y + 1), Regions=[US, X], Materials=[mag(penalty=100_000)], Demand=demand(years),
                     Supply=offer(years, 10_000), Projects=[candidate("P", 0.5, lead=1, latest_fid_year=Y)],
                     Scenarios=[{"scenario": "calm", "probability": 0.5}, {"scenario": "ban", "probability": 0.5}],
                     Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag",
                                   "start_year": Y + 1}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.6, rel=1e-6)
    assert one(sol.portfolio, project="P")["funded_probability"] == pytest.approx(1.0, rel=1e-6)
    k = sol.kpis
    assert (k["ws_musd"], k["evpi_musd"]) == pytest.approx((0.4, 0.2), rel=1e-6)
    assert (k["eev_musd"], k["vss_musd"]) == pytest.approx((0.65, 0.05), rel=1e-6)
    assert k["rp_now_musd"] == pytest.approx(0.6, rel=1e-6)
    assert k["value_of_adapting_musd"] == pytest.approx(0.0, abs=1e-7)


def test_concern_cap_is_a_share_of_what_is_used_after_shortfall(make_case):
    """The cap is max_concern_share · U with U = D − shortfall: going short does not make room for concern tonnes.

    One year, US demands 10 t; CN sells at 10,000 USD/t, AU at 150,000;
    shortfall 100,000 USD/t; US mag max_concern_share 0.5. With c CN, a AU
    and s short, U = c + a, so c ≤ a: a pair (1 CN + 1 AU) costs 160,000
    for 2 t, 80,000 per t < 100,000, so c = a = 5, s = 0: 0.05 + 0.75 = 0.8.
    (A cap on D = 10 instead would allow 5 CN + 5 short: 0.55.)
    """
    path = make_case(settings(), Regions=[US, CN, AU], Materials=[mag(penalty=100_000)], Demand=demand([Y]),
                     Supply=offer([Y], 10_000, origin="CN") + offer([Y], 150_000, origin="AU"),
                     Projects=[IDLE | {"region": "AU"}],
                     Policies=[{"region": "US", "material": "mag", "max_concern_share": 0.5}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.8, rel=1e-6)
    us = supply_row(sol, "US")
    assert (us["imports_concern_t"], us["imports_ally_t"], us["shortfall_t"]) == pytest.approx((5, 5, 0), abs=1e-6)


def test_coalition_wide_single_origin_cap(make_case):
    """A `*` max_single_origin_share caps each non-member origin's share of the members' summed use.

    One year, US demands 10 t and UK 30 t; X sells at 10,000 USD/t, AU at
    30,000. `*` mag max_single_origin_share 0.5: X ≤ 20 t and AU ≤ 20 t of
    the 40 t: 20 · 10,000 + 20 · 30,000 = 0.8 (any split between members).
    (Caps per member would give the same only by chance; without a cap 0.4.)
    """
    path = make_case(settings(), Regions=[US, UK, X, AU], Materials=[mag()],
                     Demand=demand([Y]) + demand([Y], 30, region="UK"),
                     Supply=offer([Y], 10_000) + offer([Y], 30_000, origin="AU"), Projects=[IDLE],
                     Policies=[{"region": "*", "material": "mag", "max_single_origin_share": 0.5}])
    sol = solve(path)
    assert sol.objective == pytest.approx(0.8, rel=1e-6)
    coal = one(sol.dependence, region="coalition", material="mag", year=Y)
    assert (coal["partner_origin_t"], coal["ally_origin_t"]) == pytest.approx((20, 20), rel=1e-6)


def test_requires_holds_along_the_branch_that_funds_the_emergency_plant(make_case):
    """P requires Q (lag 0): in the ban branch both get their FID in 2027 at node `ban`; calm funds neither.

    2026-2027, calm (0.5) / ban (0.5: X cut from 2027). Demand 10 t/yr, X at
    10,000 USD/t, shortfall 100,000 USD/t (1.0 per year). P: mag, capacity
    10, lead 0, life 1, capex 0.5. Q: an ore plant nobody needs, capex 0.1,
    life 2 (0.05 per planned online year).
    - ban: FID Q and P in 2027: 0.1 + 0.5 + 0.05 = 0.65 (short instead: 1.1).
    - calm: imports, 0.2. Expected 0.425.
    (Q at the root in 2026 would cost 0.1 in both scenarios: 0.475.)
    """
    years = [Y, Y + 1]
    ore = {"material": "ore", "stage": "ore", "price_usd_per_t": 0, "shortfall_penalty_usd_per_t": 0}
    q = {**candidate("Q", 0.1, capacity=1, life=2), "output": "ore"}
    path = make_case(settings(end_year=Y + 1), Regions=[US, X], Materials=[mag(penalty=100_000), ore],
                     Demand=demand(years), Supply=offer(years, 10_000), Projects=[candidate("P", 0.5), q],
                     Dependencies=[{"project": "P", "relation": "requires", "other": "Q", "lag_yr": 0}],
                     Scenarios=[{"scenario": "calm", "probability": 0.5}, {"scenario": "ban", "probability": 0.5}],
                     Disruptions=[{"scenario": "ban", "kind": "supply_cut", "target": "X", "material": "mag",
                                   "start_year": Y + 1}])
    sol = solve(path, evpi_vss=False)
    assert sol.objective == pytest.approx(0.425, rel=1e-6)
    dec = flat(sol.decisions)
    assert set(one(dec, year=Y + 1, node="ban")["fid"].split(", ")) == {"P", "Q"}
    assert one(dec, year=Y + 1, node="calm")["fid"] == ""
    assert one(dec, year=Y, node="calm")["fid"] == ""


def _late_committed_case(make_case):
    """ontime (0.5) / late (0.5: project_delay of committed C from its fid_year 2025, before the horizon)."""
    years = [Y, Y + 1]
    c = {**candidate("C", 1.0, lead=1, life=5), "status": "committed", "fid_year": Y - 1}
    return make_case(settings(end_year=Y + 1), Regions=[US, X], Materials=[mag()], Demand=demand(years),
                     Supply=offer(years, 100_000), Projects=[c],
                     Scenarios=[{"scenario": "ontime", "probability": 0.5}, {"scenario": "late", "probability": 0.5}],
                     Disruptions=[{"scenario": "late", "kind": "project_delay", "target": "C", "start_year": Y - 1,
                                   "magnitude": 1}])


def test_delay_row_may_start_at_a_committed_projects_fid_year_before_the_horizon(make_case):
    """DESIGN's validation: years outside the horizon are errors except a project_delay row's start_year when
    it targets a committed project at its fid_year (here 2025 < start 2026)."""
    from model.case.load import check_case

    _, problems = check_case(_late_committed_case(make_case))
    assert [str(p) for p in problems.errors] == []


def test_slip_of_a_sunk_committed_project_is_learned_when_it_should_have_come_online(make_case):
    """A committed project (FID 2025, lead 1) delayed a year: the slip is learned in 2026 and costs a year of imports.

    2026-2027, ontime (0.5) / late (0.5: project_delay C, start_year 2025 =
    its fid_year, end blank, 1 year). Demand 10 t/yr, X at 100,000 USD/t
    (1.0 per year). C: committed, fid 2025 < start (sunk: no capex),
    capacity 10, lead 1, so on = g(t − 2025 − 1 − d).
    ontime: C online 2026-2027, Z = 0. late: online from 2027, import 2026:
    Z = 1.0. Expected 0.5; the tree splits in 2026 = fid_year + lead.
    The case is read without validation (see the test above: the validator
    does not yet accept this start_year), so the formulation is checked alone.
    """
    from model.case.load import build_case, check_case
    from model.formulation.data import build_data
    from model.solve.solver import solve_case

    path = _late_committed_case(make_case)
    merged, _ = check_case(path)
    case = build_case(path, merged)
    tree = build_data(case).tree
    assert tree.node["late", Y] == "late" and tree.first_branch == Y
    sol = solve_case(case, {"evpi_vss": False})
    assert sol.status == "optimal", sol.message
    assert sol.objective == pytest.approx(0.5, rel=1e-6)
    costs = dict(zip(flat(sol.scenarios)["scenario"], flat(sol.scenarios)["cost_musd"].astype(float)))
    assert costs == pytest.approx({"ontime": 0.0, "late": 1.0}, abs=1e-7)
    assert supply_row(sol, "US", scenario="late")["from_projects_t"] == pytest.approx(0, abs=1e-6)
    assert supply_row(sol, "US", scenario="late", year=Y + 1)["from_projects_t"] == pytest.approx(10, rel=1e-6)


def test_vss_under_now_fixes_the_mean_value_plan_in_every_year(make_case):
    """decisions = now: EEV fixes fid, aid and carry at the mean-value plan's values in every year, not only before
    the first branching.

    The emergency case (derivation in test_emergency_fid_in_the_ban_branch_only_when_decisions_adapt) under
    `now`: RP = 0.6 (P in 2027 for both). WS = 0.4, so EVPI = 0.2. The
    mean-value problem (X cut by half in 2027: 50 t ≥ 10 t) funds no P; EEV
    fixes fid[P, 2027, all] = 0 as well: 0.5 · 0.2 + 0.5 · 1.1 = 0.65, so
    VSS = 0.05. (Fixing only the root year 2026 would re-optimise P: EEV 0.6,
    VSS 0.)
    """
    sol = solve(_emergency_case(make_case, "now"))
    assert sol.objective == pytest.approx(0.6, rel=1e-6)
    k = sol.kpis
    assert k["evpi_musd"] == pytest.approx(0.2, rel=1e-6)
    assert k["eev_musd"] == pytest.approx(0.65, rel=1e-6)
    assert k["vss_musd"] == pytest.approx(0.05, rel=1e-6)


def test_vss_under_now_is_reported_when_the_first_year_branches(make_case):
    """VSS is "n/a" only under adaptive when the first year branches; under `now` every year is fixed.

    The price-shock case of test_now_purchases_must_fit_the_budget_at_every_world_price under `now`:
    RP = 5.225. It has no project and no carry-over fund, so EEV fixes
    nothing and re-optimises the purchases: EEV = RP, VSS = 0 (reported, not
    None).
    """
    years = [Y, Y + 1]
    cut = {"kind": "supply_cut", "target": "X", "material": "mag", "start_year": Y + 1}
    path = make_case(
        settings(end_year=Y + 1, decisions="now"), Regions=[US, X], Materials=[mag()], Demand=demand(years),
        Supply=offer(years, 10_000), Projects=[IDLE],
        Funds=[{"fund": "F", "owner": "US", "instrument": "stockpile", "budget_cost_per_musd": 1}],
        Budgets=[{"fund": "F", "year": Y, "budget_musd": 0.2}],
        Stockpiles=[stockpile(fund="F", release_only_in_disruption="Y")],
        Scenarios=[{"scenario": "calm", "probability": 0.5}, {"scenario": "p", "probability": 0.5}],
        Disruptions=[{"scenario": "calm", **cut}, {"scenario": "p", **cut},
                     {"scenario": "p", "kind": "price_shock", "target": "*", "material": "mag", "start_year": Y,
                      "end_year": Y, "magnitude": 2}])
    sol = solve(path)
    assert sol.objective == pytest.approx(5.225, rel=1e-6)
    assert sol.kpis["vss_musd"] is not None
    assert sol.kpis["vss_musd"] == pytest.approx(0.0, abs=1e-6)
