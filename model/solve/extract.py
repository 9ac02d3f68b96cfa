"""Read a solved model into a Solution: plain tables in tonnes and USD million (model/solution.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pandas as pd

from model import tables as R
from model.formulation.balance import scenario_demand
from model.formulation.data import USD_PER_MUSD, ModelData
from model.formulation.financing import acq_coef
from model.solution import Solution

if TYPE_CHECKING:
    import pyomo.environ as pyo

    from model.solve.highs import Outcome


def _v(var) -> float:
    return float(var.value or 0.0)


def extract(m: pyo.ConcreteModel, outcome: Outcome, duals: dict[int, float]) -> Solution:
    """The Solution of a solved model `m` (values loaded); `duals` by id of constraint (may be empty)."""
    d: ModelData = m.data
    costs = m.ledger.evaluate(d.delta, d.weight, d.scenarios)
    cvar = float(m.cvar_term()) if hasattr(m, "cvar_term") else 0.0
    breakdown = pd.DataFrame([{"component": k, "value_musd": v} for k, v in costs["expected"].items()]
                             + [{"component": "cvar_term", "value_musd": cvar}], columns=R.BREAKDOWN.columns)
    portfolio, aid = _portfolio(m, d)
    supply = _supply(m, d)
    scen = _scenarios(m, d, costs)
    s = Solution(outcome.status, outcome.message, objective=outcome.objective, bound=outcome.bound, gap=outcome.gap,
                 breakdown=breakdown, portfolio=portfolio, aid=aid, funding=_funding(m, d, duals), supply=supply,
                 stockpiles=_stockpiles(m, d), stockpile_values=_stockpile_values(m, d, duals),
                 dependence=_dependence(m, d), scenarios=scen)
    s.kpis = _kpis(d, s, costs, cvar)
    s.shortfall_penalty = {mat: float(r["shortfall_penalty_usd_per_t"]) for mat, r in d.materials.items()}
    return s


def _portfolio(m, d: ModelData) -> tuple[pd.DataFrame, pd.DataFrame]:
    fid_year = {p: tau for (p, tau), v in m.fid.items() if _v(v) > 0.5}
    aid_rows = [{"project": p, "fund": f, "year": tau, "aid_musd": _v(v)} for (p, f, tau), v in m.aid.items()
                if _v(v) > 1e-9]
    total = defaultdict(float)
    for r in aid_rows:
        total[r["project"]] += r["aid_musd"]
    rows = []
    for p in d.costed:
        r = d.projects[p]
        tau = fid_year.get(p)
        capex = float(r["capex_musd"] or 0.0)
        rows.append({"project": p, "name": r["name"], "region": r["region"], "status": r["status"], "output": r["output"],
                     "capacity_tpy": r["capacity_tpy"], "capex_musd": capex, "fid_year": tau,
                     "online_year": None if tau is None else tau + int(r["lead_time_yr"]),
                     "aid_musd": total[p], "public_share": total[p] / capex if capex > 0 else 0.0,
                     "funded": tau is not None})
    for p, r in d.projects.items():  # committed before the horizon: sunk, goes ahead, no capex or aid in the model
        if r["status"] == "committed" and p not in d.window:
            rows.append({"project": p, "name": r["name"], "region": r["region"], "status": r["status"],
                         "output": r["output"], "capacity_tpy": r["capacity_tpy"], "capex_musd": r["capex_musd"],
                         "fid_year": int(r["fid_year"]), "online_year": int(r["fid_year"]) + int(r["lead_time_yr"]),
                         "aid_musd": 0.0, "public_share": 0.0, "funded": True})
    return pd.DataFrame(rows, columns=R.PORTFOLIO.columns), pd.DataFrame(aid_rows, columns=R.AID.columns)



def _funding(m, d: ModelData, duals: dict[int, float]) -> pd.DataFrame:
    aid, acq = defaultdict(float), defaultdict(float)
    for (p, f, tau), v in m.aid.items():
        aid[f, tau] += _v(v)
    for (k, t), v in m.buy.items():
        f = d.stockpiles[k]["fund"]
        if f is not None:
            acq[f, t] += acq_coef(d, k) * _v(v)
    rows = []
    budget_rows = dict(m.budget.items())
    for f, r in d.funds.items():
        c_f = float(r["budget_cost_per_musd"] or 0.0)
        for t in d.years:
            con = budget_rows.get((f, t))
            pv = None if not duals else (0.0 - duals.get(id(con), 0.0) if con is not None else 0.0) + 0.0
            carry_in = _v(m.carry[f, t - 1]) if (f, t - 1) in m.carry else 0.0
            carry_out = _v(m.carry[f, t]) if (f, t) in m.carry else 0.0
            rows.append({"fund": f, "year": t, "instrument": r["instrument"], "owner": r["owner"],
                         "budget_musd": d.budget.get((f, t), 0.0), "aid_musd": aid[f, t], "acquisitions_musd": acq[f, t],
                         "budget_use_musd": c_f * (aid[f, t] + acq[f, t]), "carry_in_musd": carry_in,
                         "carry_out_musd": carry_out, "marginal_value": None if pv is None else pv / d.delta[t],
                         "marginal_value_pv": pv})
    return pd.DataFrame(rows, columns=R.FUNDING.columns)



def _supply(m, d: ModelData) -> pd.DataFrame:
    """Members' supply mix in tonnes by scenario, region, material and year."""
    members = set(d.members)
    acc = defaultdict(lambda: dict.fromkeys(R.SUPPLY.value_columns, 0.0))
    for (p, t, s), v in m.prod.items():
        r = d.projects[p]
        if r["region"] in members:
            q = _v(v) * d.scale[r["output"]]
            acc[s, r["region"], r["output"], t]["from_projects_t"] += q
            for mat, y in d.byproducts.get(p, []):
                acc[s, r["region"], mat, t]["byproduct_t"] += y * q
    for (o, mat, t, s), v in m.ext.items():
        if o in members:
            acc[s, o, mat, t]["external_t"] += _v(v) * d.scale[mat]
    for (o, dd, mat, t, s), v in m.ship.items():
        q = _v(v) * d.scale[mat]
        if dd in members:
            acc[s, dd, mat, t][f"imports_{d.regions[o]['bloc']}_t"] += q
        if o in members:
            acc[s, o, mat, t]["exports_t"] += q
    for (k, t, s), v in m.rel.items():
        r = d.stockpiles[k]
        acc[s, r["location"], r["material"], t]["stockpile_release_t"] += _v(v) * d.scale[r["material"]]
    for (n, mat, t, s), v in m.short.items():
        acc[s, n, mat, t]["shortfall_t"] += _v(v) * d.scale[mat]
    for n, mat, t in d.demand:
        if n in members and t in d.delta:
            for s in d.scenarios:
                acc[s, n, mat, t]["demand_t"] = scenario_demand(d, n, mat, t, s)
    rows = [{"scenario": s, "region": n, "material": mat, "year": t, **vals}
            for (s, n, mat, t), vals in sorted(acc.items()) if any(abs(x) > 1e-9 for x in vals.values())]
    return pd.DataFrame(rows, columns=R.SUPPLY.columns)


def _stockpiles(m, d: ModelData) -> pd.DataFrame:
    rows = []
    for k, t, s in m.inv_index:
        r = d.stockpiles[k]
        sig = d.scale[r["material"]]
        rows.append({"scenario": s, "stockpile": k, "year": t, "material": r["material"], "location": r["location"],
                     "buy_t": _v(m.buy[k, t]) * sig if (k, t) in m.buy else 0.0,
                     "release_t": _v(m.rel[k, t, s]) * sig if (k, t, s) in m.rel else 0.0,
                     "inventory_t": _v(m.inv[k, t, s]) * sig, "capacity_t": r["capacity_t"]})
    return pd.DataFrame(rows, columns=R.STOCKPILES.columns)


def _stockpile_values(m, d: ModelData, duals: dict[int, float]) -> pd.DataFrame:
    """−Σ_{t,s} dual(inv ≤ capacity) per extra tonne, in USD per tonne (None without a capacity or duals)."""
    total = defaultdict(float)
    for (k, t, s), con in m.inv_capacity.items():
        total[k] += -duals.get(id(con), 0.0)
    rows = [{"stockpile": k, "capacity_marginal_value_usd_per_t":
             total[k] * USD_PER_MUSD / d.scale[r["material"]] if duals and r["capacity_t"] is not None else None}
            for k, r in d.stockpiles.items()]
    return pd.DataFrame(rows, columns=R.STOCKPILE_VALUES.columns)


def _dependence(m, d: ModelData) -> pd.DataFrame:
    """Concern share of consumption U = D + inputs, and the largest single non-member origin's share."""
    members = set(d.members)
    use, conc = defaultdict(float), defaultdict(float)
    by_origin = defaultdict(lambda: defaultdict(float))
    for n, mat, t in d.demand:
        if n in members and t in d.delta:
            for s in d.scenarios:
                use[s, n, mat, t] += scenario_demand(d, n, mat, t, s)
    for (p, t, s), v in m.prod.items():
        r = d.projects[p]
        if r["region"] in members:
            for mat, y in d.inputs.get(p, []):
                use[s, r["region"], mat, t] += y * _v(v) * d.scale[r["output"]]
    for (o, dd, mat, t, s), v in m.ship.items():
        if dd in members and o not in members:
            q = _v(v) * d.scale[mat]
            by_origin[s, dd, mat, t][o] += q
            if o in d.concern:
                conc[s, dd, mat, t] += q
    rows = []
    for key in sorted(k for k, u in use.items() if u > 1e-9):
        u = use[key]
        top = max(by_origin[key].values(), default=0.0) if key in by_origin else 0.0
        rows.append({"scenario": key[0], "region": key[1], "material": key[2], "year": key[3], "consumption_t": u,
                     "concern_imports_t": conc[key], "concern_share": conc[key] / u, "max_single_origin_share": top / u})
    return pd.DataFrame(rows, columns=R.DEPENDENCE.columns)


def _scenarios(m, d: ModelData, costs: dict) -> pd.DataFrame:
    short, short_cost = defaultdict(float), defaultdict(float)
    for (n, mat, t, s), v in m.short.items():
        q = _v(v) * d.scale[mat]
        short[s] += q
        short_cost[s] += d.delta[t] * q * float(d.materials[mat]["shortfall_penalty_usd_per_t"]) / USD_PER_MUSD
    rows = [{"scenario": s, "probability": d.weight[s], "cost_musd": sum(costs["scenario"][s].values()),
             "shortfall_t": short[s], "shortfall_cost_musd": short_cost[s]} for s in d.scenarios]
    return pd.DataFrame(rows, columns=R.SCENARIOS.columns)


def _kpis(d: ModelData, s: Solution, costs: dict, cvar: float) -> dict:
    expected = sum(costs["expected"].values())
    sc = s.scenarios
    return {
        "objective_musd": s.objective, "expected_cost_musd": expected, "cvar_term_musd": cvar,
        "public_spend_musd": float(s.funding["aid_musd"].sum() + s.funding["acquisitions_musd"].sum()),
        "public_cost_musd": float(s.funding["budget_use_musd"].sum()),
        "expected_shortfall_t": float((sc["probability"] * sc["shortfall_t"]).sum()),
        "worst_scenario_cost_musd": float(sc["cost_musd"].max()) if len(sc) else None,
        "projects_funded": int(s.portfolio["funded"].sum()) if len(s.portfolio) else 0,
        "stockpile_acquired_t": float(s.stockpiles.drop_duplicates(["stockpile", "year"])["buy_t"].sum())
        if len(s.stockpiles) else 0.0,
    }
