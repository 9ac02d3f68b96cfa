"""Stockpiles: releases, inventories, capacities, holding cost and the value left at the end."""

from __future__ import annotations

import pyomo.environ as pyo

from model.formulation.data import USD_PER_MUSD, ModelData
from model.formulation.ledger import Ledger


def release_allowed(d: ModelData, k: str, t: int, s: str) -> bool:
    """Y: only when a row of s active in t touches m_k; N: never in a buying year (t ≤ B_k)."""
    r = d.stockpiles[k]
    if r["release_only_in_disruption"]:
        return (r["material"], t) in d.effects[s].touched
    return t > d.buy_until[k]


def add_stockpiles(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """0 ≤ rel[k,t,s] ≤ max_release_tpy_k where allowed; inv ≥ 0 (model units of m_k)."""
    rel_ub = {}
    for k, r in d.stockpiles.items():
        sig = d.scale[r["material"]]
        mx = r["max_release_tpy"]
        for s in d.scenarios:
            for t in d.years:
                if release_allowed(d, k, t, s) and (mx is None or mx > 0):
                    rel_ub[k, t, s] = None if mx is None else float(mx) / sig
    m.rel_index = list(rel_ub)
    m.rel = pyo.Var(m.rel_index, domain=pyo.NonNegativeReals, bounds=lambda m, *key: (0, rel_ub[key]))
    m.inv_index = [(k, t, s) for k in d.stockpiles for s in d.scenarios for t in d.years]
    m.inv = pyo.Var(m.inv_index, domain=pyo.NonNegativeReals)
    add_inventory_balance(m, d)
    add_inventory_capacity(m, d)
    for k, r in d.stockpiles.items():
        mat = r["material"]
        hold = float(d.materials[mat]["holding_cost_usd_per_t_yr"]) / USD_PER_MUSD * d.scale[mat]
        value = float(d.materials[mat]["price_usd_per_t"]) / USD_PER_MUSD * d.scale[mat]
        for s in d.scenarios:
            for t in d.years:
                ledger.add("holding", t, s, m.inv[k, t, s], hold)
            # what is left at the end is worth its reference price (price_m, not the purchase price)
            ledger.add("stockpile_terminal_value", d.end, s, m.inv[k, d.end, s], -value)


def add_inventory_balance(m: pyo.ConcreteModel, d: ModelData) -> None:
    """inv[k,t,s] = inv[k,t−1,s] + buy[k,t] − rel[k,t,s]; inv[k,start−1,s] = initial_k."""
    buy, rel = set(m.buy_index), set(m.rel_index)

    def rule(m, k, t, s):
        prev = m.inv[k, t - 1, s] if t > d.start else float(d.stockpiles[k]["initial_t"]) / d.scale[
            d.stockpiles[k]["material"]]
        inflow = m.buy[k, t] if (k, t) in buy else 0
        outflow = m.rel[k, t, s] if (k, t, s) in rel else 0
        return m.inv[k, t, s] == prev + inflow - outflow

    m.inventory = pyo.Constraint(m.inv_index, rule=rule)


def add_inventory_capacity(m: pyo.ConcreteModel, d: ModelData) -> None:
    """inv[k,t,s] ≤ capacity_k, an explicit row so that its dual can be reported."""
    idx = [(k, t, s) for k, t, s in m.inv_index if d.stockpiles[k]["capacity_t"] is not None]
    m.inv_capacity = pyo.Constraint(idx, rule=lambda m, k, t, s: m.inv[k, t, s] <= float(
        d.stockpiles[k]["capacity_t"]) / d.scale[d.stockpiles[k]["material"]])
