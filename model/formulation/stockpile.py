"""Stockpiles on the information tree: releases and inventories by origin, capacity, holding cost and the
value left at the end."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from model.formulation.data import COALITION, USD_PER_MUSD, ModelData
from model.formulation.financing import buy_origins
from model.formulation.ledger import Ledger, affine


def release_allowed(d: ModelData, k: str, t: int, mu: str) -> bool:
    """Y: only when a row active in t at node μ touches m_k; N: in any year."""
    r = d.stockpiles[k]
    if not r["release_only_in_disruption"]:
        return True
    rep = d.tree.members(t, mu)[0]
    return (r["material"], t) in d.effects[rep].touched


def add_stockpiles(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """rel[k,g,t,μ] ≥ 0 where allowed, Σ_g rel ≤ max_release_tpy_k; inv[k,g,t,μ] ≥ 0 (model units of m_k)."""
    tree = d.tree
    rel_ub, inv_idx = {}, []
    for k, r in d.stockpiles.items():
        mx = r["max_release_tpy"]
        origins = buy_origins(d, k)
        for t in d.years:
            for mu in tree.info_nodes(t):
                inv_idx += [(k, g, t, mu) for g in origins]
                if release_allowed(d, k, t, mu) and (mx is None or mx > 0):
                    for g in origins:
                        rel_ub[k, g, t, mu] = None if mx is None else float(mx) / d.scale[r["material"]]
    m.rel_index = list(rel_ub)
    m.rel = pyo.Var(m.rel_index, domain=pyo.NonNegativeReals, bounds=lambda m, *key: (0, rel_ub[key]))
    m.inv_index = inv_idx
    m.inv = pyo.Var(m.inv_index, domain=pyo.NonNegativeReals)
    add_release_cap(m, d)
    add_inventory_balance(m, d)
    add_inventory_capacity(m, d)
    add_terminal_value(m, d, ledger)
    for (k, g, t, mu), var in m.inv.items():
        mat = d.stockpiles[k]["material"]
        hold = float(d.materials[mat]["holding_cost_usd_per_t_yr"]) / USD_PER_MUSD * d.scale[mat]
        ledger.add("holding", t, tree.members(t, mu), var, hold)


def _by_node(var, index) -> dict:
    groups = defaultdict(list)
    for k, g, t, mu in index:
        groups[k, t, mu].append(var[k, g, t, mu])
    return groups


def add_release_cap(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Σ_g rel[k,g,t,μ] ≤ max_release_tpy_k where several origins share the cap (one origin: its bound)."""
    groups = _by_node(m.rel, m.rel_index)
    idx = [key for key, vs in groups.items() if d.stockpiles[key[0]]["max_release_tpy"] is not None and len(vs) > 1]
    m.release_cap = pyo.Constraint(idx)
    for k, t, mu in idx:
        m.release_cap[k, t, mu] = (None, affine([(1.0, x) for x in groups[k, t, mu]]),
                                   float(d.stockpiles[k]["max_release_tpy"]) / d.scale[d.stockpiles[k]["material"]])


def initial_holding(d: ModelData, k: str, g: str) -> float:
    """inv[k,g,start−1] in model units: initial_k for g = the holding's origin, else 0."""
    r = d.stockpiles[k]
    origin = r["initial_origin"] if r["initial_origin"] not in (None, *d.members) else COALITION
    return float(r["initial_t"]) / d.scale[r["material"]] if g == origin else 0.0


def add_inventory_balance(m: pyo.ConcreteModel, d: ModelData) -> None:
    """inv[k,g,t,μ] = inv[k,g,t−1,μ′] + buy[k,g,t,ν_b] − rel[k,g,t,μ]; inv[k,g,start−1] = initial_k for
    g = initial_origin_k, else 0 (μ′ the parent of μ, ν_b the decision node above μ in t)."""
    tree = d.tree
    buy, rel = dict(m.buy.items()), dict(m.rel.items())

    m.inventory = pyo.Constraint(m.inv_index)
    for k, g, t, mu in m.inv_index:
        terms = [(1.0, m.inv[k, g, t, mu])]
        const = 0.0
        if t > d.start:
            terms.append((-1.0, m.inv[k, g, t - 1, tree.nodes[t, mu].parent]))
        else:
            const = initial_holding(d, k, g)
        b = buy.get((k, g, t, tree.decision(tree.members(t, mu)[0], t)))
        if b is not None:
            terms.append((-1.0, b))
        x = rel.get((k, g, t, mu))
        if x is not None:
            terms.append((1.0, x))
        m.inventory[k, g, t, mu] = (const, affine(terms), const)


def add_inventory_capacity(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Σ_g inv[k,g,t,μ] ≤ capacity_k, an explicit row so that its dual can be reported."""
    groups = _by_node(m.inv, m.inv_index)
    idx = [key for key in groups if d.stockpiles[key[0]]["capacity_t"] is not None]
    m.inv_capacity = pyo.Constraint(idx)
    for k, t, mu in idx:
        m.inv_capacity[k, t, mu] = (None, affine([(1.0, x) for x in groups[k, t, mu]]),
                                    float(d.stockpiles[k]["capacity_t"]) / d.scale[d.stockpiles[k]["material"]])


def add_terminal_value(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """0 ≤ tv[k,μ] ≤ initial_k, tv[k,μ] ≤ Σ_g inv[k,g,end,μ]; credit −price_{m_k}·tv at the end nodes μ."""
    groups = _by_node(m.inv, m.inv_index)
    idx = [(k, mu) for k, r in d.stockpiles.items() if float(r["initial_t"]) > 0 for mu in d.tree.info_nodes(d.end)
           if groups.get((k, d.end, mu))]
    m.tv_index = idx
    m.tv = pyo.Var(idx, domain=pyo.NonNegativeReals, bounds=lambda m, k, mu: (
        0, float(d.stockpiles[k]["initial_t"]) / d.scale[d.stockpiles[k]["material"]]))
    m.terminal_value = pyo.Constraint(idx)
    for k, mu in idx:
        m.terminal_value[k, mu] = (None, affine([(1.0, m.tv[k, mu])] + [(-1.0, x) for x in groups[k, d.end, mu]]), 0.0)
    for k, mu in idx:
        mat = d.stockpiles[k]["material"]
        value = float(d.materials[mat]["price_usd_per_t"]) / USD_PER_MUSD * d.scale[mat]
        ledger.add("stockpile_terminal_value", d.end, d.tree.members(d.end, mu), m.tv[k, mu], -value)
