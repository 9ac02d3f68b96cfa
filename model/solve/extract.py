"""Read a solved model into a Solution: plain tables in tonnes and USD million (model/solution.py)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pandas as pd

from model import tables as R
from model.formulation.balance import scenario_demand
from model.formulation.data import COALITION, USD_PER_MUSD, ModelData
from model.formulation.financing import acq_coef
from model.solution import Solution
from model.solve.plan_words import describe_plan

if TYPE_CHECKING:
    import pyomo.environ as pyo

    from model.solve.highs import Outcome

_TINY = 1e-9
BLOCS = ("coalition", "ally", "partner", "concern")


def _v(var) -> float:
    return float(var.value or 0.0)


def extract(m: pyo.ConcreteModel, outcome: Outcome, duals: dict[int, float]) -> Solution:
    """The Solution of a solved model `m` (values loaded); `duals` by id of constraint (may be empty)."""
    d: ModelData = m.data
    costs = m.ledger.evaluate(d.delta, d.weight, d.scenarios)
    cvar = float(m.cvar_term()) if hasattr(m, "cvar_term") else 0.0
    breakdown = pd.DataFrame([{"component": k, "value_musd": v} for k, v in costs["expected"].items()]
                             + [{"component": "cvar_term", "value_musd": cvar}], columns=R.BREAKDOWN.columns)
    fids = _fids(m, d)
    portfolio, aid = _portfolio(m, d, fids)
    supply, shortfall = _supply(m, d)
    s = Solution(outcome.status, outcome.message, objective=outcome.objective, bound=outcome.bound, gap=outcome.gap,
                 breakdown=breakdown, portfolio=portfolio, aid=aid, funding=_funding(m, d, duals), supply=supply,
                 shortfall=shortfall, stockpiles=_stockpiles(m, d), stockpile_values=_stockpile_values(m, d, duals),
                 dependence=_dependence(m, d), scenarios=_scenarios(m, d, costs, shortfall), decisions=_decisions(m, d))
    s.kpis = _kpis(d, s, costs, cvar)
    s.shortfall_penalty = {mat: float(r["shortfall_penalty_usd_per_t"]) for mat, r in d.materials.items()}
    s.plan_now, s.plan_if = describe_plan(s.decisions, s.portfolio)
    return s


def _fids(m, d: ModelData) -> dict[tuple[str, str], int]:
    """(p, s) -> the FID year of p on scenario s's path (absent when p is not funded there)."""
    taken = {(p, tau, v) for (p, tau, v), x in m.fid.items() if _v(x) > 0.5}
    out = {}
    for p in d.costed:
        for s in d.scenarios:
            for tau in d.window[p]:
                if (p, tau, d.tree.decision(s, tau)) in taken:
                    out[p, s] = tau
                    break
    return out


def when_text(d: ModelData, years_by_s: dict[str, int | None]) -> str:
    """'2026 in every scenario', or one clause per year: '2027 if <what was seen> (30%)'."""
    by_year = defaultdict(list)
    for s, y in years_by_s.items():
        by_year[y].append(s)
    if len(by_year) == 1 and None not in by_year:
        return f"{next(iter(by_year))} in every scenario"
    parts = []
    for y in sorted(y for y in by_year if y is not None):
        ss = by_year[y]
        p = sum(d.weight[s] for s in ss)
        parts.append(f"{y} if {branch_words(d, ss, y)} ({100 * p:.3g}%)")
    return "; ".join(parts) if parts else "never"


def branch_words(d: ModelData, ss: list[str], year: int) -> str:
    """What the scenarios `ss` have seen by `year` that sets them apart, from the tree's nodes."""
    tree = d.tree
    said = []
    for t in tree.years:
        if t > year:
            break
        nodes = {tree.node[s, t] for s in ss}
        if len(nodes) == 1:
            seen = tree.nodes[t, next(iter(nodes))].seen
            if seen:
                said.append(f"{seen} ({t})")
    return ", ".join(said) if said else ("any scenario" if len(ss) == len(d.scenarios) else ", ".join(ss[:3]))


def _portfolio(m, d: ModelData, fids: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    aid_rows = [{"project": p, "fund": f, "year": tau, "node": v, "probability": d.node_weight(d.tree.members(tau, v)),
                 "aid_musd": _v(x)} for (p, f, tau, v), x in m.aid.items() if _v(x) > _TINY]
    expected_aid = defaultdict(float)
    for r in aid_rows:
        expected_aid[r["project"]] += r["aid_musd"] * d.node_weight(d.tree.members(r["year"], r["node"]))
    rows = []
    for p in d.costed:
        r = d.projects[p]
        years = {s: fids.get((p, s)) for s in d.scenarios}
        prob = sum(d.weight[s] for s, y in years.items() if y is not None)
        funded_years = sorted({y for y in years.values() if y is not None})
        lead = int(r["lead_time_yr"])
        capex = float(r["capex_musd"])
        rows.append({"project": p, "name": r["name"], "region": r["region"], "status": r["status"], "output": r["output"],
                     "capacity_tpy": r["capacity_tpy"], "capex_musd": capex, "funded": prob > _TINY,
                     "funded_probability": prob, "fid_year": funded_years[0] if funded_years else None,
                     "online_year": funded_years[0] + lead if funded_years else None,
                     "fid_when": when_text(d, years),
                     "online_when": when_text(d, {s: None if y is None else y + lead for s, y in years.items()}),
                     "aid_musd": expected_aid[p], "public_share": expected_aid[p] / (capex * prob)
                     if capex > 0 and prob > _TINY else 0.0})
    for p, r in d.projects.items():  # committed before the horizon: sunk, goes ahead, no capex or aid in the model
        if r["status"] == "committed" and p not in d.window:
            fy, lead = int(r["fid_year"]), int(r["lead_time_yr"])
            rows.append({"project": p, "name": r["name"], "region": r["region"], "status": r["status"],
                         "output": r["output"], "capacity_tpy": r["capacity_tpy"], "capex_musd": r["capex_musd"],
                         "funded": True, "funded_probability": 1.0, "fid_year": fy, "online_year": fy + lead,
                         "fid_when": f"{fy} (before the horizon)", "online_when": f"{fy + lead} as planned",
                         "aid_musd": 0.0, "public_share": 0.0})
    return pd.DataFrame(rows, columns=R.PORTFOLIO.columns), pd.DataFrame(aid_rows, columns=R.AID.columns)


def _funding(m, d: ModelData, duals: dict[int, float]) -> pd.DataFrame:
    """Fund × year × information node: budget, aid, acquisitions, carry-over, marginal value of one more USD."""
    tree = d.tree
    aid, acq = defaultdict(float), defaultdict(float)
    for (p, f, tau, v), x in m.aid.items():
        aid[f, tau, v] += _v(x)
    for (k, g, t, v), x in m.buy.items():
        f = d.stockpiles[k]["fund"]
        if f is None:
            continue
        for mu in tree.info_nodes(t):
            rep = tree.members(t, mu)[0]
            if tree.decision(rep, t) == v:
                ws = d.effects[rep].wshock.get((d.stockpiles[k]["material"], t), 1.0)
                acq[f, t, mu] += acq_coef(d, k, ws) * _v(x)
    budget_rows = dict(m.budget.items())
    carry = dict(m.carry.items())
    rows = []
    for f, r in d.funds.items():
        c_f = float(r["budget_cost_per_musd"])
        for t in d.years:
            nodes = tree.info_nodes(t)
            year_dual = sum(duals.get(id(budget_rows[f, t, mu]), 0.0) for mu in nodes if (f, t, mu) in budget_rows)
            for mu in nodes:
                rep = tree.members(t, mu)[0]
                v = tree.decision(rep, t)
                prev = tree.decision(rep, t - 1) if t > d.start else None
                con = budget_rows.get((f, t, mu))
                pi = d.node_weight(tree.members(t, mu))
                dual = -duals.get(id(con), 0.0) if con is not None else 0.0
                known = bool(duals)
                rows.append({
                    "fund": f, "year": t, "node": mu, "probability": pi, "instrument": r["instrument"],
                    "owner": r["owner"], "budget_musd": d.budget.get((f, t), 0.0), "aid_musd": aid[f, t, v],
                    "acquisitions_musd": acq[f, t, mu], "budget_use_musd": c_f * (aid[f, t, v] + acq[f, t, mu]),
                    "carry_in_musd": _v(carry[f, t - 1, prev]) if (f, t - 1, prev) in carry else 0.0,
                    "carry_out_musd": _v(carry[f, t, v]) if (f, t, v) in carry else 0.0,
                    "marginal_value": dual / (d.delta[t] * pi) if known and pi > _TINY else None,
                    "marginal_value_year": -year_dual / d.delta[t] if known else None,
                    "marginal_value_pv": dual if known else None})
    return pd.DataFrame(rows, columns=R.FUNDING.columns)


def _supply(m, d: ModelData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members' supply mix in tonnes by scenario, region, material and year; shortfall by step of the cost curve."""
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
    for (o, dd, mat, g, t, s), v in m.ship.items():
        q = _v(v) * d.scale[mat]
        if q <= _TINY:
            continue
        if dd in members:
            row = acc[s, dd, mat, t]
            row[f"imports_{d.bloc(g)}_t"] += q
            rate = d.route_rules.tariff(g, dd, mat) if g not in (COALITION, o) else d.routes[o, dd, mat][1]
            if rate:
                price = float(d.materials[mat]["price_usd_per_t"]) * d.effects[s].wshock.get((mat, t), 1.0)
                row["tariffs_musd"] += q * rate / 100 * price / USD_PER_MUSD
        if o in members:
            acc[s, o, mat, t]["exports_t"] += q
    for (k, g, t, mu), v in m.rel.items():
        r = d.stockpiles[k]
        for s in d.tree.members(t, mu):
            acc[s, r["location"], r["material"], t]["stockpile_release_t"] += _v(v) * d.scale[r["material"]]
    for (k, g, t, v), x in m.buy.items():
        r = d.stockpiles[k]
        for s in d.tree.members(t, v):
            acc[s, r["location"], r["material"], t]["stockpile_buy_t"] += _v(x) * d.scale[r["material"]]
    steps = []
    for (n, mat, t, s, j), v in m.short.items():
        q = _v(v) * d.scale[mat]
        if q <= _TINY:
            continue
        _width, pen = d.steps[n, mat][j - 1]
        row = acc[s, n, mat, t]
        row["shortfall_t"] += q
        row["shortfall_cost_musd"] += q * pen / USD_PER_MUSD
        steps.append({"scenario": s, "region": n, "material": mat, "year": t, "step": j,
                      "up_to_share": sum(w for w, _ in d.steps[n, mat][:j]), "penalty_usd_per_t": pen, "shortfall_t": q})
    for n, mat, t in d.demand:
        if n in members and t in d.delta:
            for s in d.scenarios:
                acc[s, n, mat, t]["demand_t"] = scenario_demand(d, n, mat, t, s)
    rows = [{"scenario": s, "region": n, "material": mat, "year": t, **vals}
            for (s, n, mat, t), vals in sorted(acc.items()) if any(abs(x) > _TINY for x in vals.values())]
    return pd.DataFrame(rows, columns=R.SUPPLY.columns), pd.DataFrame(steps, columns=R.SHORTFALL.columns)


def _stockpiles(m, d: ModelData) -> pd.DataFrame:
    """Stockpile × year × scenario: purchases, releases, inventory in total and by origin bloc."""
    tree = d.tree
    buy, rel, inv = defaultdict(float), defaultdict(float), defaultdict(lambda: defaultdict(float))
    for (k, g, t, v), x in m.buy.items():
        buy[k, t, v] += _v(x)
    for (k, g, t, mu), x in m.rel.items():
        rel[k, t, mu] += _v(x)
    for (k, g, t, mu), x in m.inv.items():
        inv[k, t, mu][d.bloc(g)] += _v(x)
    rows = []
    for k, r in d.stockpiles.items():
        sig = d.scale[r["material"]]
        for s in d.scenarios:
            for t in d.years:
                mu, v = tree.node[s, t], tree.decision(s, t)
                by = inv[k, t, mu]
                rows.append({"scenario": s, "stockpile": k, "year": t, "node": mu, "material": r["material"],
                             "location": r["location"], "buy_t": buy[k, t, v] * sig, "release_t": rel[k, t, mu] * sig,
                             "inventory_t": sum(by.values()) * sig,
                             **{f"inventory_{b}_t": by.get(b, 0.0) * sig for b in BLOCS}, "capacity_t": r["capacity_t"]})
    return pd.DataFrame(rows, columns=R.STOCKPILES.columns)


def _stockpile_values(m, d: ModelData, duals: dict[int, float]) -> pd.DataFrame:
    """−Σ_t Σ_ν dual(Σ_g inv ≤ capacity) per extra tonne, in USD per tonne (None without a capacity or duals)."""
    total = defaultdict(float)
    for (k, t, mu), con in m.inv_capacity.items():
        total[k] += -duals.get(id(con), 0.0)
    rows = [{"stockpile": k, "capacity_marginal_value_usd_per_t":
             total[k] * USD_PER_MUSD / d.scale[r["material"]] if duals and r["capacity_t"] is not None else None}
            for k, r in d.stockpiles.items()]
    return pd.DataFrame(rows, columns=R.STOCKPILE_VALUES.columns)


def _dependence(m, d: ModelData) -> pd.DataFrame:
    """Consumption by traced origin, the concern-origin share, the largest non-member origin, and the limits,
    per member and for the coalition as a whole."""
    use = defaultdict(float)
    by_origin = defaultdict(lambda: defaultdict(float))
    for n, mat, t in d.demand:
        if n in d.members and t in d.delta:
            for s in d.scenarios:
                use[s, n, mat, t] += scenario_demand(d, n, mat, t, s)
    for (n, mat, t, s, j), v in m.short.items():
        use[s, n, mat, t] -= _v(v) * d.scale[mat]
    for (p, t, s), v in m.prod.items():
        r = d.projects[p]
        if r["region"] in d.members:
            for mat, y in d.inputs.get(p, []):
                use[s, r["region"], mat, t] += y * _v(v) * d.scale[r["output"]]
    for (n, mat, t, s), terms in m.uses.items():
        for g, c, v in terms:
            by_origin[s, n, mat, t][g] += c * _v(v) * d.scale[mat]
    for (s, n, mat, t), u in list(use.items()):
        use[s, "coalition", mat, t] += u
        for g, q in by_origin[s, n, mat, t].items():
            by_origin[s, "coalition", mat, t][g] += q
    rows = []
    for key in sorted(k for k, u in use.items() if u > _TINY):
        s, n, mat, t = key
        u = use[key]
        origins = by_origin[key]
        conc = sum(q for g, q in origins.items() if g in d.concern)
        outside = {g: q for g, q in origins.items() if g != COALITION}
        top = max(outside, key=lambda g: (outside[g], g), default=None)
        limit = d.policies.get(("*" if n == "coalition" else n, mat, t), (None, None))
        rows.append({"scenario": s, "region": n, "material": mat, "year": t, "consumption_t": u,
                     **{f"{b}_origin_t": sum(q for g, q in origins.items() if d.bloc(g) == b) for b in BLOCS},
                     "concern_share": conc / u, "largest_origin": top,
                     "largest_origin_share": outside[top] / u if top else 0.0,
                     "limit_concern_share": limit[0], "limit_single_origin_share": limit[1]})
    return pd.DataFrame(rows, columns=R.DEPENDENCE.columns)


def _scenarios(m, d: ModelData, costs: dict, shortfall: pd.DataFrame) -> pd.DataFrame:
    short = shortfall.groupby("scenario")["shortfall_t"].sum().to_dict() if len(shortfall) else {}
    short_cost = defaultdict(float)
    for r in shortfall.itertuples():
        short_cost[r.scenario] += d.delta[r.year] * r.shortfall_t * r.penalty_usd_per_t / USD_PER_MUSD
    rows = [{"scenario": s, "probability": d.weight[s], "cost_musd": sum(costs["scenario"][s].values()),
             "shortfall_t": short.get(s, 0.0), "shortfall_cost_musd": short_cost[s], "path": _path_text(d, s),
             "options": " + ".join(d.options.get(s, ())) or None}
            for s in d.scenarios]
    return pd.DataFrame(rows, columns=R.SCENARIOS.columns)


def _path_text(d: ModelData, s: str) -> str:
    """The nodes scenario s passes through: 'base 2026–2027, ree_2027 2028–2040'."""
    parts, prev, first = [], None, None
    for t in d.years:
        v = d.tree.node[s, t]
        if v != prev:
            if prev is not None:
                parts.append(f"{prev} {first}–{t - 1}" if t - 1 > first else f"{prev} {first}")
            prev, first = v, t
    parts.append(f"{prev} {first}–{d.end}" if d.end > first else f"{prev} {first}")
    return ", ".join(parts)


def _decisions(m, d: ModelData) -> pd.DataFrame:
    """One row per node of the tree and its decisions (FIDs, aid, purchases and releases by origin, carry-over)."""
    tree = d.tree
    fid, aid, buy, rel, carry = (defaultdict(list) for _ in range(5))
    for (p, tau, v), x in m.fid.items():
        if _v(x) > 0.5:
            fid[tau, v].append(p)
    for (p, f, tau, v), x in m.aid.items():
        if _v(x) > _TINY:
            aid[tau, v].append(f"{f}→{p} {_v(x):,.1f}")
    for (k, g, t, v), x in m.buy.items():
        q = _v(x) * d.scale[d.stockpiles[k]["material"]]
        if q > 1e-6:
            buy[t, v].append(f"{k} {_fmt_t(q)} t {d.bloc(g) if g == COALITION else g}")
    for (k, g, t, mu), x in m.rel.items():
        q = _v(x) * d.scale[d.stockpiles[k]["material"]]
        if q > 1e-6:
            rel[t, mu].append(f"{k} {_fmt_t(q)} t {d.bloc(g) if g == COALITION else g}")
    for (f, t, v), x in m.carry.items():
        if _v(x) > _TINY:
            carry[t, v].append(f"{f} {_v(x):,.1f}")
    rows = []
    for t in d.years:
        nodes = [(v, tree.nodes[t, v]) for v in tree.info_nodes(t)]
        if tree.mode == "now":
            rows.append({"year": t, "node": "all", "kind": "decision", "scenarios": len(d.scenarios),
                         "first_scenario": d.scenarios[0], "probability": 1.0, "parent": "all" if t > d.start else None,
                         "seen": "", "fid": ", ".join(fid[t, "all"]), "aid_musd": "; ".join(aid[t, "all"]),
                         "purchases": "; ".join(buy[t, "all"]), "releases": "", "carry_musd": "; ".join(carry[t, "all"])})
        for v, n in nodes:
            own = tree.mode != "now"
            rows.append({"year": t, "node": v, "kind": "information", "scenarios": len(n.scenarios),
                         "first_scenario": n.scenarios[0], "probability": d.node_weight(n.scenarios), "parent": n.parent,
                         "seen": n.seen, "fid": ", ".join(fid[t, v]) if own else "",
                         "aid_musd": "; ".join(aid[t, v]) if own else "", "purchases": "; ".join(buy[t, v]) if own else "",
                         "releases": "; ".join(rel[t, v]), "carry_musd": "; ".join(carry[t, v]) if own else ""})
    return pd.DataFrame(rows, columns=R.DECISIONS.columns)


def _fmt_t(q: float) -> str:
    return f"{q:,.0f}" if q >= 100 else f"{q:.3g}"


def _kpis(d: ModelData, s: Solution, costs: dict, cvar: float) -> dict:
    expected = sum(costs["expected"].values())
    sc = s.scenarios
    fund = s.funding
    w = fund["probability"] if len(fund) else 0.0
    st = s.stockpiles
    return {
        "objective_musd": s.objective, "expected_cost_musd": expected, "cvar_term_musd": cvar,
        "public_spend_musd": float(((fund["aid_musd"] + fund["acquisitions_musd"]) * w).sum()) if len(fund) else 0.0,
        "public_cost_musd": float((fund["budget_use_musd"] * w).sum()) if len(fund) else 0.0,
        "expected_shortfall_t": float((sc["probability"] * sc["shortfall_t"]).sum()),
        "expected_shortfall_cost_musd": float((sc["probability"] * sc["shortfall_cost_musd"]).sum()),
        "worst_scenario_cost_musd": float(sc["cost_musd"].max()) if len(sc) else None,
        "projects_funded": int(s.portfolio["funded"].sum()) if len(s.portfolio) else 0,
        "expected_projects_funded": float(s.portfolio["funded_probability"].sum()) if len(s.portfolio) else 0.0,
        "stockpile_acquired_t": float((st["buy_t"] * st["scenario"].map(d.weight)).sum()) if len(st) else 0.0,
        "scenario_tree_nodes": d.tree.count(),
        "first_branching_year": d.tree.first_branch if d.tree.first_branch is not None else "never",
    }
