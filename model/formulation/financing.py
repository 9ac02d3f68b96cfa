"""Decisions at the nodes of the tree: FIDs, aid, acquisitions' funding, carry-over, budgets and dependencies."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from model.formulation.data import PCT, USD_PER_MUSD, ModelData
from model.formulation.ledger import Ledger, affine


def add_decision_vars(m: pyo.ConcreteModel, d: ModelData) -> None:
    """fid[p,τ,ν] ∈ {0,1} (τ ∈ W_p, ν ∈ V^D_τ; fixed to 1 for committed), aid[p,f,τ,ν] ≥ 0,
    buy[k,g,t,ν] ≥ 0 (t ≤ buy_until_year, g ∈ G_{m_k} that can be at l_k), carry[f,t,ν] ≥ 0 (carryover funds)."""
    tree = d.tree
    m.fid_index = [(p, tau, v) for p in d.costed for tau in d.window[p] for v in tree.decision_nodes(tau)]
    m.fid = pyo.Var(m.fid_index, domain=pyo.Binary)
    for p, tau, v in m.fid_index:
        if d.projects[p]["status"] == "committed":
            m.fid[p, tau, v].fix(1)
    m.aid_index = [(p, f, tau, v) for p, tau, v in m.fid_index for f in d.eligible[p]]
    m.aid = pyo.Var(m.aid_index, domain=pyo.NonNegativeReals)
    m.buy_index = [(k, g, t, v) for k, r in d.stockpiles.items() for g in buy_origins(d, k)
                   for t in d.years if t <= int(r["buy_until_year"]) for v in tree.decision_nodes(t)]
    cap = {k: None if r["max_purchase_tpy"] is None else float(r["max_purchase_tpy"]) / d.scale[r["material"]]
           for k, r in d.stockpiles.items()}
    m.buy = pyo.Var(m.buy_index, domain=pyo.NonNegativeReals, bounds=lambda m, k, g, t, v: (0, cap[k]))
    m.carry_index = [(f, t, v) for f, r in d.funds.items() if r["carryover"] for t in d.years for v in tree.decision_nodes(t)]
    m.carry = pyo.Var(m.carry_index, domain=pyo.NonNegativeReals)
    add_purchase_cap(m, d, cap)


def buy_origins(d: ModelData, k: str) -> list[str]:
    """Origins g ∈ G_{m_k} whose tonnes can be at the stockpile's location l_k."""
    r = d.stockpiles[k]
    return [g for g in d.origins.get(r["material"], []) if r["location"] in d.reach.get((r["material"], g), ())]


def add_purchase_cap(m: pyo.ConcreteModel, d: ModelData, cap: dict) -> None:
    """Σ_g buy[k,g,t,ν] ≤ max_purchase_tpy_k (only where more than one origin shares the cap)."""
    groups = defaultdict(list)
    for k, g, t, v in m.buy_index:
        groups[k, t, v].append(m.buy[k, g, t, v])
    idx = [key for key, vs in groups.items() if cap[key[0]] is not None and len(vs) > 1]
    m.purchase_cap = pyo.Constraint(idx)
    for k, t, v in idx:
        m.purchase_cap[k, t, v] = (None, affine([(1.0, x) for x in groups[k, t, v]]), cap[k])


def acq_coef(d: ModelData, k: str, wshock: float = 1.0) -> float:
    """USD m per model unit bought: price_{m_k}·wshock·(1 + premium/100)/10^6·σ_m (what the fund pays)."""
    r = d.stockpiles[k]
    mat = r["material"]
    return float(d.materials[mat]["price_usd_per_t"]) * wshock * (1 + r["purchase_premium_pct"] / PCT) / USD_PER_MUSD \
        * d.scale[mat]


def purchase_valuations(d: ModelData, k: str, t: int, v: str) -> list[tuple[str, float]]:
    """The information nodes μ of year t under decision node v, each with wshock_{m_k,t,μ}."""
    tree, mat = d.tree, d.stockpiles[k]["material"]
    out = []
    for mu in tree.info_nodes(t):
        rep = tree.members(t, mu)[0]
        if tree.decision(rep, t) == v:
            out.append((mu, d.effects[rep].wshock.get((mat, t), 1.0)))
    return out


def _paths(d: ModelData, p: str, years) -> dict[tuple, str]:
    """Distinct tuples of (τ, ν^D(s,τ)) over `years` along scenario paths, with one scenario for each."""
    out = {}
    for s in d.scenarios:
        out.setdefault(tuple((tau, d.tree.decision(s, tau)) for tau in years), s)
    return out


def add_fid_once(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Σ_{τ∈W_p} fid[p,τ,ν^D(s,τ)] ≤ 1 along every scenario's path, for every candidate p."""
    rows = []
    for p in d.costed:
        if d.projects[p]["status"] == "candidate" and len(d.window[p]) > 1:
            rows += [(p, path) for path in _paths(d, p, d.window[p])]
    m.fid_once = pyo.Constraint(range(len(rows)))
    for i, (p, path) in enumerate(rows):
        m.fid_once[i] = (None, affine([(1.0, m.fid[p, tau, v]) for tau, v in path]), 1.0)


def add_public_share(m: pyo.ConcreteModel, d: ModelData) -> None:
    """min_public_share_p·capex_p·fid[p,τ,ν] ≤ Σ_f aid[p,f,τ,ν] ≤ max_public_share_p·capex_p·fid[p,τ,ν].

    The lower bound is not enforced for committed projects (they go ahead whatever aid they get).
    """
    by_pt = defaultdict(list)
    for p, f, tau, v in m.aid_index:
        by_pt[p, tau, v].append(m.aid[p, f, tau, v])

    def capex(p):
        return float(d.projects[p]["capex_musd"])

    lo_idx = [key for key in m.fid_index if d.projects[key[0]]["status"] == "candidate"
              and d.projects[key[0]]["min_public_share"] > 0 and capex(key[0]) > 0]
    m.public_share_min = pyo.Constraint(lo_idx)
    for p, tau, v in lo_idx:
        m.public_share_min[p, tau, v] = (0.0, affine(
            [(1.0, a) for a in by_pt[p, tau, v]] + [(-d.projects[p]["min_public_share"] * capex(p), m.fid[p, tau, v])]),
            None)
    hi_idx = [key for key in m.fid_index if by_pt.get(key)]
    m.public_share_max = pyo.Constraint(hi_idx)
    for p, tau, v in hi_idx:
        m.public_share_max[p, tau, v] = (None, affine(
            [(1.0, a) for a in by_pt[p, tau, v]] + [(-d.projects[p]["max_public_share"] * capex(p), m.fid[p, tau, v])]),
            0.0)


def add_aid_cap(m: pyo.ConcreteModel, d: ModelData) -> None:
    """aid[p,f,τ,ν] ≤ max_per_project_f·fid[p,τ,ν] for funds with a cap."""
    idx = [key for key in m.aid_index if d.funds[key[1]]["max_per_project_musd"] is not None]
    m.aid_cap = pyo.Constraint(idx)
    for p, f, tau, v in idx:
        m.aid_cap[p, f, tau, v] = m.aid[p, f, tau, v] <= float(d.funds[f]["max_per_project_musd"]) * m.fid[p, tau, v]


def add_fund_budgets(m: pyo.ConcreteModel, d: ModelData) -> None:
    """c_f·(Σ_p aid[p,f,t,ν] + Σ_{k paid by f} acq[k,t,ν,μ]) + carry[f,t,ν] ≤ budget[f,t] + carry[f,t−1,ν′]
    for every fund f, year t and information node μ of t, with ν = ν^D above μ in t and ν′ in t−1."""
    tree = d.tree
    aid = defaultdict(list)
    for p, f, tau, v in m.aid_index:
        aid[f, tau, v].append(m.aid[p, f, tau, v])
    buys = defaultdict(list)
    for k, g, t, v in m.buy_index:
        f = d.stockpiles[k]["fund"]
        if f is not None:
            buys[f, t, v].append((k, m.buy[k, g, t, v]))
    carry = set(m.carry_index)
    rows = {}
    for f, r in d.funds.items():
        c_f = float(r["budget_cost_per_musd"])
        for t in d.years:
            for mu in tree.info_nodes(t):
                rep = tree.members(t, mu)[0]
                v = tree.decision(rep, t)
                prev = tree.decision(rep, t - 1) if t > d.start else None
                terms = [(c_f, a) for a in aid.get((f, t, v), ())]
                terms += [(c_f * acq_coef(d, k, d.effects[rep].wshock.get((d.stockpiles[k]["material"], t), 1.0)), x)
                          for k, x in buys.get((f, t, v), ())]
                if c_f == 0:
                    terms = []  # the fund's money costs its budget nothing
                if (f, t, v) in carry:
                    terms.append((1.0, m.carry[f, t, v]))
                if (f, t - 1, prev) in carry:
                    terms.append((-1.0, m.carry[f, t - 1, prev]))
                if terms:
                    rows[f, t, mu] = terms
    m.budget_index = list(rows)
    m.budget = pyo.Constraint(m.budget_index)
    for (f, t, mu), terms in rows.items():
        m.budget[f, t, mu] = (None, affine(terms), d.budget.get((f, t), 0.0))


def _fid_by(m, d: ModelData, q: str, t: int, s: str) -> list | int:
    """Σ_{τ ≤ t} fid_s[q,τ] as (coef, var) pairs: 1 for a sunk or existing project."""
    if d.sunk(q):
        return 1
    return [(1.0, m.fid[q, tau, d.tree.decision(s, tau)]) for tau in d.window[q] if tau <= t]


def add_dependencies(m: pyo.ConcreteModel, d: ModelData) -> None:
    """requires(p,q,lag): Σ_{τ≤t} fid_s[p,τ] ≤ Σ_{τ≤t−lag} fid_s[q,τ] for t ∈ W_p and every s (one row per
    distinct set of variables); excludes(p,q): Σ_τ fid_s[p,τ] + Σ_τ fid_s[q,τ] ≤ 1, a sunk or committed side
    counting 1."""
    rows = {}
    for p, q, lag in d.requires:
        if d.projects[p]["status"] != "candidate" or d.sunk(q):
            continue
        for t in d.window[p]:
            for s in d.scenarios:
                lhs, rhs = _fid_by(m, d, p, t, s), _fid_by(m, d, q, t - lag, s)
                terms = lhs + [(-c, x) for c, x in rhs]
                rows.setdefault((tuple(sorted((id(x), c) for c, x in terms)), 0.0), (terms, 0.0))
    for p, q in d.excludes:
        if d.projects[p]["status"] != "candidate" and d.projects[q]["status"] != "candidate":
            continue
        for s in d.scenarios:
            terms, const = [], 0.0
            for side in (p, q):
                got = _fid_by(m, d, side, d.end, s)
                if isinstance(got, int) or d.projects[side]["status"] == "committed":
                    const += 1.0
                else:
                    terms += got
            if terms:
                rows.setdefault((tuple(sorted((id(x), c) for c, x in terms)), 1.0 - const), (terms, 1.0 - const))
    m.dependencies = pyo.Constraint(range(len(rows)))
    for i, (terms, bound) in enumerate(rows.values()):
        m.dependencies[i] = (None, affine(terms), bound)


def add_decision_costs(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """capital: capex·crf in years τ+lead .. min(end, τ+lead+life−1) of the planned FID τ; public funds:
    mcpf·c_f·(aid + acq at each information node's wshock); acquisition premium: price·wshock·premium/100·buy."""
    tree = d.tree
    for p, tau, v in m.fid_index:
        r = d.projects[p]
        first = tau + int(r["lead_time_yr"])
        last = min(d.end, first + int(r["life_yr"]) - 1)
        ann = d.capital_per_year(p)
        on = tree.members(tau, v)
        for t in range(max(first, d.start), last + 1):
            ledger.add("capital", t, on, m.fid[p, tau, v], ann)
    mcpf = float(d.settings["mcpf"])
    for p, f, tau, v in m.aid_index:
        ledger.add("public_funds", tau, tree.members(tau, v), m.aid[p, f, tau, v],
                   mcpf * float(d.funds[f]["budget_cost_per_musd"]))
    for k, g, t, v in m.buy_index:
        r = d.stockpiles[k]
        f = r["fund"]
        c_f = float(d.funds[f]["budget_cost_per_musd"]) if f is not None else 0.0
        prem = r["purchase_premium_pct"] / PCT
        for mu, ws in purchase_valuations(d, k, t, v):
            on = tree.members(t, mu)
            full = acq_coef(d, k, ws)
            ledger.add("acquisition_premium", t, on, m.buy[k, g, t, v], full * prem / (1 + prem))
            ledger.add("public_funds", t, on, m.buy[k, g, t, v], mcpf * c_f * full)
