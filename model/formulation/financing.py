"""First stage: FIDs, aid, acquisitions, carry-over, budgets and project dependencies."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from model.formulation.data import PCT, USD_PER_MUSD, ModelData
from model.formulation.ledger import Ledger


def add_first_stage_vars(m: pyo.ConcreteModel, d: ModelData) -> None:
    """fid[p,τ] ∈ {0,1} (τ ∈ W_p; fixed to 1 for committed), aid[p,f,τ] ≥ 0, buy[k,t] ≥ 0 (t ≤ B_k),
    carry[f,t] ≥ 0 (carryover funds)."""
    m.fid_index = [(p, tau) for p in d.costed for tau in d.window[p]]
    m.fid = pyo.Var(m.fid_index, domain=pyo.Binary)
    for p in d.costed:
        if d.projects[p]["status"] == "committed":
            m.fid[p, d.window[p][0]].fix(1)
    m.aid_index = [(p, f, tau) for p in d.costed for f in d.eligible[p] for tau in d.window[p]]
    m.aid = pyo.Var(m.aid_index, domain=pyo.NonNegativeReals)
    m.buy_index = [(k, t) for k in d.stockpiles for t in d.years if t <= d.buy_until[k]]
    m.buy = pyo.Var(m.buy_index, domain=pyo.NonNegativeReals)
    m.carry_index = [(f, t) for f, r in d.funds.items() if r["carryover"] for t in d.years]
    m.carry = pyo.Var(m.carry_index, domain=pyo.NonNegativeReals)


def acq_coef(d: ModelData, k: str) -> float:
    """USD m per model unit bought: price_{m_k}·(1 + premium/100)/10^6·σ_m."""
    r = d.stockpiles[k]
    mat = r["material"]
    return float(d.materials[mat]["price_usd_per_t"]) * (1 + r["purchase_premium_pct"] / PCT) / USD_PER_MUSD * d.scale[mat]


def add_fid_once(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Σ_{τ∈W_p} fid[p,τ] ≤ 1 for every candidate p."""
    cands = [p for p in d.costed if d.projects[p]["status"] == "candidate" and len(d.window[p]) > 1]
    m.fid_once = pyo.Constraint(cands, rule=lambda m, p: sum(m.fid[p, tau] for tau in d.window[p]) <= 1)


def add_public_share(m: pyo.ConcreteModel, d: ModelData) -> None:
    """min_public_share_p·capex_p·fid[p,τ] ≤ Σ_f aid[p,f,τ] ≤ max_public_share_p·capex_p·fid[p,τ].

    The lower bound is not enforced for committed projects (they go ahead whatever aid they get).
    """
    by_pt = defaultdict(list)
    for p, f, tau in m.aid_index:
        by_pt[p, tau].append(m.aid[p, f, tau])

    def capex(p):
        return float(d.projects[p]["capex_musd"])

    lo_idx = [(p, tau) for p, tau in m.fid_index
              if d.projects[p]["status"] == "candidate" and d.projects[p]["min_public_share"] > 0 and capex(p) > 0]
    m.public_share_min = pyo.Constraint(lo_idx, rule=lambda m, p, tau: sum(by_pt[p, tau])
                                        >= d.projects[p]["min_public_share"] * capex(p) * m.fid[p, tau])
    hi_idx = [key for key in m.fid_index if by_pt.get(key)]
    m.public_share_max = pyo.Constraint(hi_idx, rule=lambda m, p, tau: sum(by_pt[p, tau])
                                        <= d.projects[p]["max_public_share"] * capex(p) * m.fid[p, tau])


def add_aid_cap(m: pyo.ConcreteModel, d: ModelData) -> None:
    """aid[p,f,τ] ≤ max_per_project_f·fid[p,τ] for funds with a cap."""
    idx = [key for key in m.aid_index if d.funds[key[1]]["max_per_project_musd"] is not None]
    m.aid_cap = pyo.Constraint(idx, rule=lambda m, p, f, tau: m.aid[p, f, tau]
                               <= float(d.funds[f]["max_per_project_musd"]) * m.fid[p, tau])


def add_fund_budgets(m: pyo.ConcreteModel, d: ModelData) -> None:
    """c_f·(Σ_p aid[p,f,t] + Σ_{k paid by f} acq[k,t]) + carry[f,t] ≤ budget[f,t] + carry[f,t−1]
    for every fund f and year t (carry[f,start−1] = 0)."""
    spend = defaultdict(list)
    for p, f, tau in m.aid_index:
        spend[f, tau].append((1.0, m.aid[p, f, tau]))
    for k, t in m.buy_index:
        f = d.stockpiles[k]["fund"]
        if f is not None:
            spend[f, t].append((acq_coef(d, k), m.buy[k, t]))
    carry = set(m.carry_index)
    # A carry-over fund needs its row even in a year it spends nothing: it passes money on.
    idx = [(f, t) for f in d.funds for t in d.years if spend.get((f, t)) or (f, t) in carry]

    def rule(m, f, t):
        c_f = float(d.funds[f]["budget_cost_per_musd"])
        lhs = c_f * sum(a * v for a, v in spend.get((f, t), []))
        if (f, t) in carry:
            lhs += m.carry[f, t]
        rhs = d.budget.get((f, t), 0.0)
        if (f, t - 1) in carry:
            rhs += m.carry[f, t - 1]
        if isinstance(lhs, int | float):  # c_f = 0 and no carry: the fund's money costs its budget nothing
            return pyo.Constraint.Skip
        return lhs <= rhs

    m.budget = pyo.Constraint(idx, rule=rule)


def _fid_by(m, d: ModelData, q: str, t: int):
    """Σ_{τ ≤ t} fid[q,τ]: 1 for a sunk project, its variables (or fixed fid) otherwise."""
    if d.sunk(q):
        return 1
    return sum(m.fid[q, tau] for tau in d.window[q] if tau <= t)


def add_dependencies(m: pyo.ConcreteModel, d: ModelData) -> None:
    """requires(p,q,lag): Σ_{τ≤t} fid[p,τ] ≤ Σ_{τ≤t−lag} fid[q,τ] for t ∈ W_p (it then holds for all t);
    excludes(p,q): Σ_τ fid[p,τ] + Σ_τ fid[q,τ] ≤ 1, a sunk or committed side counting 1."""
    req = [(p, q, lag, t) for p, q, lag in d.requires
           if d.projects[p]["status"] == "candidate" and not d.sunk(q) for t in d.window[p]]
    m.requires = pyo.Constraint(range(len(req)), rule=lambda m, i: _requires(m, d, *req[i]))
    exc = [(p, q) for p, q in d.excludes
           if d.projects[p]["status"] == "candidate" or d.projects[q]["status"] == "candidate"]
    m.excludes = pyo.Constraint(range(len(exc)), rule=lambda m, i: _excludes(m, d, *exc[i]))


def _requires(m, d, p, q, lag, t):
    lhs = _fid_by(m, d, p, t)
    rhs = _fid_by(m, d, q, t - lag)
    if isinstance(rhs, int | float) and isinstance(lhs, int | float):
        return pyo.Constraint.Skip
    return lhs <= rhs


def _excludes(m, d, p, q):
    total = _fid_by(m, d, p, d.end) + _fid_by(m, d, q, d.end)
    return pyo.Constraint.Skip if isinstance(total, int | float) else total <= 1


def add_first_stage_costs(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """capital: capex·crf in years τ+lead .. min(end, τ+lead+life−1) of the planned FID τ;
    public funds: mcpf·c_f·(aid + acq); acquisitions: acq[k,t]."""
    for p, tau in m.fid_index:
        r = d.projects[p]
        first = tau + int(r["lead_time_yr"])
        last = min(d.end, first + int(r["life_yr"]) - 1)
        ann = d.capital_per_year(p)
        for t in range(max(first, d.start), last + 1):
            ledger.add("capital", t, None, m.fid[p, tau], ann)
    mcpf = float(d.settings["mcpf"])
    for p, f, tau in m.aid_index:
        ledger.add("public_funds", tau, None, m.aid[p, f, tau], mcpf * float(d.funds[f]["budget_cost_per_musd"]))
    for k, t in m.buy_index:
        a = acq_coef(d, k)
        ledger.add("acquisitions", t, None, m.buy[k, t], a)
        f = d.stockpiles[k]["fund"]
        if f is not None:
            ledger.add("public_funds", t, None, m.buy[k, t], mcpf * float(d.funds[f]["budget_cost_per_musd"]) * a)
