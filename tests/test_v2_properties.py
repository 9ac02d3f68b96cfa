"""Properties every v2 optimum must have, on small cases drawn by hypothesis.

The cases (2-3 years) have two members (US, UK), a concern supplier CN and a
partner X, one or two candidate projects with viability gaps, a grant fund
(with or without carry-over), sometimes a stockpile with an initial holding
of CN or coalition origin (sometimes paid by a stockpile fund), sometimes a
CN tariff and a concern cap (of a member or of the coalition), decisions
`adaptive` or `now`, and one to three scenarios whose disruptions (supply
cuts, origin and route blocks, demand, price and world-price shocks) start
in the second or third year, so the tree branches. Objectives are solved to mip_rel_gap 1e-9, so comparisons allow
tol = 1e-6 · max(1, |objective|) USD m: the gap plus the solver's tolerances.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.case.load import load_case
from model.case.writer import write_case
from model.formulation import build_model
from model.formulation.data import COALITION
from model.solve.solver import solve_model, solver_options

START = 2026
FAST = settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=10, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def tol(*values: float) -> float:
    return 1e-6 * max(1.0, *(abs(v) for v in values if v is not None))


# ---------------------------------------------------------------- generated cases

DISRUPTIONS = ("cut", "half_cut", "origin_block", "route_block", "demand", "price", "world_price")


def _disruption(scenario: str, kind: str, start: int) -> dict:
    row = {"scenario": scenario, "material": "mag", "start_year": start}
    if kind == "cut":
        row |= {"kind": "supply_cut", "target": "CN", "magnitude": 1.0}
    elif kind == "half_cut":
        row |= {"kind": "supply_cut", "target": "CN", "magnitude": 0.5}
    elif kind == "origin_block":
        row |= {"kind": "origin_block", "target": "CN>*"}
    elif kind == "route_block":
        row |= {"kind": "route_block", "target": "CN>US"}
    elif kind == "demand":
        row |= {"kind": "demand_shock", "target": "US", "magnitude": 1.5}
    elif kind == "price":
        row |= {"kind": "price_shock", "target": "X", "magnitude": 2.0}
    else:
        row |= {"kind": "price_shock", "target": "*", "magnitude": 1.5}
    return row


@st.composite
def cases(draw, min_scenarios: int = 1, max_scenarios: int = 3, mode: str | None = None):
    """(settings, sheets) of a small v2 case; `mode` fixes Settings decisions (else drawn)."""
    n_years = draw(st.sampled_from([2, 3]))
    years = list(range(START, START + n_years))
    price = draw(st.integers(20, 60)) * 1000
    s = {"start_year": START, "end_year": years[-1], "discount_rate": draw(st.sampled_from([0.0, 0.05])),
         "mcpf": draw(st.sampled_from([0.0, 0.2])), "mip_rel_gap": 1e-9, "risk_weight": 0,
         "decisions": mode or draw(st.sampled_from(["adaptive", "now"]))}
    regions = [{"region": "US", "bloc": "ally", "member": "Y"}, {"region": "UK", "bloc": "ally", "member": "Y"},
               {"region": "CN", "bloc": "concern", "member": "N"}, {"region": "X", "bloc": "partner", "member": "N"}]
    materials = [{"material": "mag", "stage": "magnet", "price_usd_per_t": price, "shortfall_penalty_usd_per_t": 300_000,
                  "holding_cost_usd_per_t_yr": draw(st.sampled_from([0, 1_000]))}]
    demand = [{"region": r, "material": "mag", "year": y, "demand_t": draw(st.integers(3, 15))}
              for r in ("US", "UK") for y in years]
    supply = [{"origin": "CN", "material": "mag", "year": y, "max_t": draw(st.integers(10, 30)),
               "price_usd_per_t": draw(st.integers(8, 20)) * 1000 + 17} for y in years]
    supply += [{"origin": "X", "material": "mag", "year": y, "max_t": draw(st.integers(3, 15)),
                "price_usd_per_t": draw(st.integers(20, 50)) * 1000 + 31} for y in years]
    projects = []
    for i in range(draw(st.integers(1, 2))):
        projects.append({
            "project": f"P{i}", "region": draw(st.sampled_from(["US", "UK"])), "status": "candidate", "output": "mag",
            "capacity_tpy": draw(st.integers(4, 15)), "capex_musd": draw(st.integers(50, 900)) / 1000 + 0.0003 * i,
            "var_cost_usd_per_t": draw(st.integers(1, 30)) * 1000, "lead_time_yr": draw(st.sampled_from([0, 1])),
            "life_yr": draw(st.integers(1, 3)), "min_public_share": draw(st.sampled_from([0.0, 0.5]))})
    sheets = {"Regions": regions, "Materials": materials, "Demand": demand, "Supply": supply, "Projects": projects,
              "Funds": [{"fund": "G", "owner": "US", "instrument": "grant",
                         "carryover": draw(st.sampled_from(["Y", "N"]))}],
              "Budgets": [{"fund": "G", "year": y, "budget_musd": draw(st.integers(0, 60)) / 100} for y in years]}
    if draw(st.booleans()):
        sheets["Stockpiles"] = [{"stockpile": "S", "owner": "US", "location": "US", "material": "mag",
                                 "initial_t": draw(st.integers(0, 5)), "initial_origin": draw(st.sampled_from([None, "CN"])),
                                 "capacity_t": 20, "release_only_in_disruption": draw(st.sampled_from(["Y", "N"]))}]
        if draw(st.booleans()):
            sheets["Stockpiles"][0] |= {"fund": "F", "purchase_premium_pct": draw(st.sampled_from([0, 10]))}
            sheets["Funds"].append({"fund": "F", "owner": "US", "instrument": "stockpile",
                                    "budget_cost_per_musd": draw(st.sampled_from([0.5, 1.0]))})
            sheets["Budgets"] += [{"fund": "F", "year": y, "budget_musd": draw(st.integers(0, 30)) / 100} for y in years]
    if draw(st.booleans()):
        sheets["Routes"] = [{"origin": "CN", "destination": "US", "tariff_pct": 25}]
    if draw(st.booleans()):
        sheets["Policies"] = [{"region": draw(st.sampled_from(["US", "*"])), "material": "mag",
                               "max_concern_share": draw(st.sampled_from([0.3, 0.6]))}]
    n_s = draw(st.integers(min_scenarios, max_scenarios))
    names = [f"s{i}" for i in range(n_s)]
    weights = [draw(st.integers(1, 4)) for _ in names]
    scen = [{"scenario": n, "probability": w / sum(weights)} for n, w in zip(names, weights)]
    scen[-1]["probability"] = 1 - sum(r["probability"] for r in scen[:-1])
    rows = []
    for n in names[1:] if n_s > 1 else names:
        if n_s == 1 and not draw(st.booleans()):
            break
        rows.append(_disruption(n, draw(st.sampled_from(DISRUPTIONS)), draw(st.sampled_from(years[1:]))))
    sheets["Scenarios"] = scen
    if rows:
        sheets["Disruptions"] = rows
    return s, sheets


def _load(s: dict, sheets: dict, **overrides):
    with tempfile.TemporaryDirectory() as tmp:
        return load_case(write_case(Path(tmp) / "case.xlsx", {**s, **overrides}, sheets))


def _solve(case, kpis: bool = False):
    """Solve `case` with its model kept (values loaded), so properties can read the variables."""
    model = build_model(case)
    sol = solve_model(case, model, solver_options(case, {"evpi_vss": kpis}))
    assert sol.status == "optimal", f"{sol.status}: {sol.message}"
    return sol, model


def _same_plan(case, model, sol, base_fids: dict[tuple[str, str], int], scenarios) -> None:
    """The FIDs of `scenarios` in `model` are the base's, or cost exactly as much: two portfolios can tie.

    When they differ, the base's FIDs are fixed on every node those scenarios pass through and the model is
    solved again; its optimum must be `sol`'s. Equal costs are what "changes nothing" can promise: which of two
    equal-cost portfolios HiGHS returns depends on the order of the columns, and a new scenario reorders them.
    """
    fids = {k: y for k, y in _fids(model).items() if k[1] in scenarios}
    if fids == base_fids:
        return
    d = model.data
    for (p, tau, v), x in model.fid.items():
        on = [s for s in scenarios if d.tree.decision(s, tau) == v]
        if on:
            x.fix(1 if base_fids.get((p, on[0])) == tau else 0)
    again = solve_model(case, model, solver_options(case, {"evpi_vss": False}))
    assert again.status == "optimal", f"the base's FIDs are not a plan of the changed case: {again.message}"
    assert again.objective == pytest.approx(sol.objective, abs=tol(sol.objective)), (fids, base_fids)


def _fids(model) -> dict[tuple[str, str], int]:
    """(project, scenario) -> FID year on the scenario's path."""
    d = model.data
    out = {}
    for (p, tau, v), x in model.fid.items():
        if (x.value or 0) > 0.5:
            for s in d.scenarios:
                if d.tree.decision(s, tau) == v:
                    out[p, s] = tau
    return out


# ---------------------------------------------------------------- properties


@FEW
@given(cases(min_scenarios=2))
def test_evpi_vss_and_value_of_adapting_are_not_negative(case_data):
    """EVPI = RP − WS, VSS = EEV − RP and RP(now) − RP(adaptive) are ≥ 0 up to the solves' gaps.

    WS relaxes the non-anticipativity of RP; RP is the best policy, EEV one
    policy among those RP ranges over; `now` restricts `adaptive` (one
    decision node per year instead of one per information node).
    """
    case = _load(*case_data)
    sol, _ = _solve(case, kpis=True)
    k = sol.kpis
    gap = tol(sol.objective)
    assert k["evpi_musd"] >= -gap
    if case.settings["decisions"] == "adaptive":
        assert k["value_of_adapting_musd"] >= -gap
        assert k["rp_now_musd"] >= sol.objective - gap
    if k.get("vss_musd") is not None:
        assert k["vss_musd"] >= -gap


@FAST
@given(cases(max_scenarios=1, mode="adaptive"))
def test_with_one_scenario_adaptive_and_now_give_the_same_objective(case_data):
    """One scenario: every node holds that scenario, so ν^D = ν and `now` is `adaptive`."""
    adaptive, _ = _solve(_load(*case_data, decisions="adaptive"))
    now, _ = _solve(_load(*case_data, decisions="now"))
    assert now.objective == pytest.approx(adaptive.objective, abs=tol(adaptive.objective))


@FAST
@given(cases(max_scenarios=2, mode="adaptive"), st.sampled_from(DISRUPTIONS), st.sampled_from([START + 1, START + 2]))
def test_a_scenario_of_probability_zero_changes_no_decision_in_the_others(case_data, kind, start):
    """Adding a scenario with π = 0 (added last, so no node changes name) leaves the objective and the FIDs on
    every other scenario's path unchanged: its costs carry no weight, and the nodes it shares with others have
    the same data, so their rows do not change either."""
    s, sheets = case_data
    base_sol, base_model = _solve(_load(s, sheets))
    start = min(start, s["end_year"])
    more = {**sheets, "Scenarios": [*sheets["Scenarios"], {"scenario": "zero", "probability": 0}],
            "Disruptions": [*sheets.get("Disruptions", []), _disruption("zero", kind, start)]}
    case = _load(s, more)
    sol, model = _solve(case)
    assert sol.objective == pytest.approx(base_sol.objective, abs=tol(base_sol.objective))
    _same_plan(case, model, sol, _fids(base_model), [r["scenario"] for r in sheets["Scenarios"]])


@FAST
@given(cases(max_scenarios=2, mode="adaptive"), st.data())
def test_duplicating_a_scenario_changes_nothing(case_data, data):
    """Splitting a scenario into two identical halves (π/2 each): same tree data, same objective, the same FIDs
    or FIDs that cost exactly as much (see test_a_tie_between_two_fid_years_is_the_same_plan), and the copy takes
    every decision of its original."""
    s, sheets = case_data
    base_sol, base_model = _solve(_load(s, sheets))
    scen = sheets["Scenarios"]
    i = data.draw(st.integers(0, len(scen) - 1))
    name = scen[i]["scenario"]
    halves = [dict(r) for r in scen]
    halves[i]["probability"] = scen[i]["probability"] / 2
    halves.append({"scenario": "copy", "probability": scen[i]["probability"] / 2})
    rows = list(sheets.get("Disruptions", []))
    rows += [{**r, "scenario": "copy"} for r in rows if r["scenario"] == name]
    more = {**sheets, "Scenarios": halves, **({"Disruptions": rows} if rows else {})}
    case = _load(s, more)
    sol, model = _solve(case)
    assert sol.objective == pytest.approx(base_sol.objective, abs=tol(base_sol.objective))
    fids = _fids(model)
    assert {p: y for (p, sc), y in fids.items() if sc == "copy"} == {p: y for (p, sc), y in fids.items() if sc == name}
    _same_plan(case, model, sol, _fids(base_model), [r["scenario"] for r in scen])
    assert all(model.data.tree.node["copy", t] == model.data.tree.node[name, t] for t in model.data.years)


TIE = ({"start_year": 2026, "end_year": 2028, "discount_rate": 0.0, "mcpf": 0.0, "mip_rel_gap": 1e-9, "risk_weight": 0,
        "decisions": "adaptive"},
       {"Regions": [{"region": "US", "bloc": "ally", "member": "Y"}, {"region": "UK", "bloc": "ally", "member": "Y"},
                    {"region": "CN", "bloc": "concern", "member": "N"}, {"region": "X", "bloc": "partner", "member": "N"}],
        "Materials": [{"material": "mag", "stage": "magnet", "price_usd_per_t": 20000,
                       "shortfall_penalty_usd_per_t": 300000, "holding_cost_usd_per_t_yr": 0}],
        "Demand": [{"region": r, "material": "mag", "year": y, "demand_t": t}
                   for r, ts in (("US", (3, 3, 3)), ("UK", (3, 4, 4))) for y, t in zip((2026, 2027, 2028), ts)],
        "Supply": [{"origin": o, "material": "mag", "year": y, "max_t": n, "price_usd_per_t": p}
                   for o, n, p in (("CN", 10, 8017), ("X", 3, 20031)) for y in (2026, 2027, 2028)],
        "Projects": [{"project": "P0", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": 4,
                      "capex_musd": 0.05, "var_cost_usd_per_t": 1000, "lead_time_yr": 0, "life_yr": 1,
                      "min_public_share": 0.0}],
        "Funds": [{"fund": "G", "owner": "US", "instrument": "grant", "carryover": "Y"}],
        "Budgets": [{"fund": "G", "year": y, "budget_musd": 0.0} for y in (2026, 2027, 2028)],
        "Scenarios": [{"scenario": "s0", "probability": 1}],
        "Disruptions": [{"scenario": "s0", "material": "mag", "start_year": 2027, "kind": "supply_cut", "target": "CN",
                         "magnitude": 1.0}]})


@pytest.mark.parametrize("year", [2027, 2028])
def test_a_tie_between_two_fid_years_is_the_same_plan(year):
    """A case hypothesis found where two FID years cost exactly the same, so "same FIDs" cannot be asked of it.

    CN is cut from 2027; demand is 6 t in 2026 and 7 t in 2027 and 2028; X sells 3 t a year at 20,031 USD/t. P0
    (4 t/yr, a life of one year, 0.05 USD m, 1,000 USD/t) saves 4 t of shortfall in the one year it runs:
    4 × (300,000 − 1,000) − 50,000 USD > 0, so it is built, in 2027 or in 2028, and without discounting or
    holding costs the two are worth the same. In 2026 CN's 8,017 USD/t is cheaper than P0 running then
    (4 × 7,017 < 50,000). Either year costs 6 × 8,017 + 2 × 3 × 20,031 + 4 × 1,000 + 50,000 + 4 × 300,000 USD
    = 1.422288 USD m, and splitting s0 into halves leaves that optimum alone. Building it in 2026 costs more.
    """
    case = _load(*TIE)
    model = build_model(case)
    for (p, tau, _v), x in model.fid.items():
        x.fix(1 if tau == year else 0)
    sol = solve_model(case, model, solver_options(case, {"evpi_vss": False}))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(1.422288, abs=1e-6)
    s, sheets = TIE
    halves = {**sheets, "Scenarios": [{"scenario": "s0", "probability": 0.5}, {"scenario": "copy", "probability": 0.5}],
              "Disruptions": [*sheets["Disruptions"], {**sheets["Disruptions"][0], "scenario": "copy"}]}
    split = _load(s, halves)
    split_sol, split_model = _solve(split)
    assert split_sol.objective == pytest.approx(1.422288, abs=1e-6)
    _same_plan(split, split_model, split_sol, {("P0", "s0"): year}, ["s0"])
    other_sol, other_model = _solve(split)  # a year that does cost more is caught
    with pytest.raises(AssertionError):
        _same_plan(split, other_model, other_sol, {("P0", "s0"): 2026}, ["s0"])


@FAST
@given(cases())
def test_probability_weighted_scenario_costs_equal_the_objective(case_data):
    """risk_weight 0: the objective is Σ_s π_s Z_s, and the Scenarios table's cost_musd is Z_s."""
    sol, _ = _solve(_load(*case_data))
    sc = sol.scenarios
    assert float((sc["probability"] * sc["cost_musd"]).sum()) == pytest.approx(sol.objective, abs=tol(sol.objective))
    assert float(sc["probability"].sum()) == pytest.approx(1.0, abs=1e-9)


@FAST
@given(cases())
def test_more_budget_never_raises_cost(case_data):
    """Doubling every budget only relaxes the budget rows: the optimum cannot rise."""
    s, sheets = case_data
    base, _ = _solve(_load(s, sheets))
    richer = {**sheets, "Budgets": [{**r, "budget_musd": 2 * r["budget_musd"]} for r in sheets["Budgets"]]}
    more, _ = _solve(_load(s, richer))
    assert more.objective <= base.objective + tol(base.objective)


@FAST
@given(cases())
def test_origin_is_conserved_at_every_member(case_data):
    """Per member n, material m, origin g, year t and scenario s, on the solved model's variables (× σ_m):

        Σ_o ship[o,n,m,g] + [g = ★]·(made at n) + Σ_k rel[k,g,t,ν(s,t)]
            ≥ Σ_d ship[n,d,m,g] + Σ_k buy[k,g,t,ν^D(s,t)] + cons[n,m,g]

    (what n uses of origin g is `m.uses`: cons[n,m,g], or the inflow of g where n only receives m).

    (DESIGN's member balance: no tonne leaves, is stocked or used with an origin it did not arrive, get made or
    get released with). Without a stockpile every tonne that enters a balance was paid for (positive prices and
    variable costs), so none is thrown away and the two sides are equal.
    """
    s, sheets = case_data
    _, m = _solve(_load(s, sheets))
    d = m.data
    inflow, outflow = defaultdict(float), defaultdict(float)
    members = set(d.members)
    for (o, dd, mat, g, t, sc), x in m.ship.items():
        q = (x.value or 0.0) * d.scale[mat]
        if dd in members:
            inflow[dd, mat, g, t, sc] += q
        if o in members:
            outflow[o, mat, g, t, sc] += q
    for (p, t, sc), x in m.prod.items():
        r = d.projects[p]
        if r["region"] in members:
            q = (x.value or 0.0) * d.scale[r["output"]]
            inflow[r["region"], r["output"], COALITION, t, sc] += q
            for mat, y in d.byproducts.get(p, []):
                inflow[r["region"], mat, COALITION, t, sc] += y * q
    for (o, mat, t, sc), x in m.ext.items():
        if o in members:
            inflow[o, mat, COALITION, t, sc] += (x.value or 0.0) * d.scale[mat]
    for (n, mat, t, sc), terms in m.uses.items():  # cons[n,m,g], or at a member that only receives, its inflow
        for g, c, x in terms:
            outflow[n, mat, g, t, sc] += c * (x.value or 0.0) * d.scale[mat]
    for k, r in d.stockpiles.items():
        n, mat, sig = r["location"], r["material"], d.scale[r["material"]]
        for sc in d.scenarios:
            for t in d.years:
                for g in d.origins.get(mat, []):
                    rel_key, buy_key = (k, g, t, d.tree.node[sc, t]), (k, g, t, d.tree.decision(sc, t))
                    if rel_key in m.rel:
                        inflow[n, mat, g, t, sc] += (m.rel[rel_key].value or 0.0) * sig
                    if buy_key in m.buy:
                        outflow[n, mat, g, t, sc] += (m.buy[buy_key].value or 0.0) * sig
    assert outflow, "the case moves no tonne"
    for key in set(inflow) | set(outflow):
        assert key[2] in d.origins[key[1]], key
        slack = inflow[key] - outflow[key]
        assert slack >= -1e-6 * max(1.0, inflow[key]), (key, inflow[key], outflow[key])
        if "Stockpiles" not in sheets:
            assert slack == pytest.approx(0.0, abs=1e-6 * max(1.0, inflow[key])), (key, inflow[key], outflow[key])
