"""Elastic rows for progressive hedging: a plan assembled from different scenarios' solutions always has a cost.

A multi-stage PH engine searches for a plan by fixing each node's shared
decisions at one scenario's values and another node's at another's. Until PH
has converged such a mix can break every row that links decisions of two
nodes, or a decision with a scenario's own state: the stock balance (release
more than the parent node bought), the stockpile's room, the budget (spend at
a child what the parent's branch already spent), "FID at most once", requires
and excludes, the public share, and a purchase that the scenario's own flows
cannot deliver. Every such try would be infeasible and no plan would appear.

`add_elastic` makes those rows elastic in one scenario's model: each may be
missed by σ ≥ 0 at a price far above anything the row could save,

    Σ_g inv = … + σ⁺ − σ⁻ (tonnes made up or written off),
    budget, FID-once, dependencies, public share, aid cap, capacity: row ∓ σ,
    balance at a stockpile's location: supply + σ ≥ use,

and adds ELASTIC_TIMES · (unit price of the row) · σ to the objective. It is a
relaxation (σ = 0 is the original model), so a lower bound computed on it is
a lower bound of the case; with σ = 0 at its optimum it is exact. A plan from
it is never reported as such: its FIDs are fixed in the extensive form, which
recomputes every scenario without any σ.

Inventories, the terminal credit and carry-over then need not be shared
between a node's scenarios (`nodal_vars(m, states=False)`): inventories and
the credit follow from shared purchases and releases, and carrying more is
never worse, so each scenario's own carry-over is as good as a shared one.
"""

from __future__ import annotations

import pyomo.environ as pyo

from model.formulation.data import USD_PER_MUSD, ModelData

ELASTIC_TIMES = 10.0  # a missed unit costs this many times the dearest thing it could stand for
MUSD_PRICE = 100.0  # USD m per USD m of budget, public share or aid cap missed, before ELASTIC_TIMES

# rows whose body is ≤ its bound (σ subtracted) and ≥ its bound (σ added), by component and unit
_UPPER = (("budget", "musd"), ("fid_once", "fid"), ("dependencies", "fid"), ("public_share_max", "musd"),
          ("aid_cap", "musd"), ("inv_capacity", "t"))
_LOWER = (("public_share_min", "musd"),)


def elastic_prices(d: ModelData) -> dict[str, float]:
    """USD m per unit missed: per model unit of each material, per USD m, per FID."""
    prices = {}
    for mat, r in d.materials.items():
        steps = [pen for (_n, mm), curve in d.steps.items() if mm == mat for _w, pen in curve]
        dearest = max([float(r["price_usd_per_t"]), float(r["shortfall_penalty_usd_per_t"]), *steps])
        prices[mat] = ELASTIC_TIMES * dearest / USD_PER_MUSD * d.scale[mat]
    capex = [float(d.projects[p]["capex_musd"] or 0.0) for p in d.costed]
    prices["musd"] = ELASTIC_TIMES * MUSD_PRICE
    prices["fid"] = ELASTIC_TIMES * max([MUSD_PRICE, *capex])
    return prices


def add_elastic(m: pyo.ConcreteModel, d: ModelData) -> int:
    """Make the linking rows of `m` (one scenario's model) elastic; return how many slacks were added."""
    prices = elastic_prices(d)
    stock_at = {(r["location"], r["material"]) for r in d.stockpiles.values()}
    rows: list[tuple[object, float, float]] = []  # (constraint data, sign of σ in the body, price)

    def unit_price(unit: str, index) -> float:
        return prices[d.stockpiles[index[0]]["material"]] if unit == "t" else prices[unit]

    for rule, sign in ((_UPPER, -1.0), (_LOWER, 1.0)):
        for name, unit in rule:
            for index, con in getattr(m, name).items() if hasattr(m, name) else ():
                rows.append((con, sign, unit_price(unit, index)))
    for index, con in m.inventory.items():
        tonne = prices[d.stockpiles[index[0]]["material"]]
        rows += [(con, -1.0, tonne), (con, 1.0, tonne)]  # tonnes made up, tonnes written off
    for (n, mat, *_rest), con in m.balance.items():
        if (n, mat) in stock_at:
            rows.append((con, 1.0, prices[mat]))
    m.elastic = pyo.Var(range(len(rows)), domain=pyo.NonNegativeReals)
    bodies: dict[int, list] = {}
    for i, (con, sign, _price) in enumerate(rows):
        bodies.setdefault(id(con), [con]).append((sign, m.elastic[i]))
    for con, *slacks in bodies.values():
        body = con.body + sum(sign * var for sign, var in slacks)
        con.set_value((con.lower, body, con.upper) if not con.equality else body == con.upper)
    m.elastic_cost = pyo.Expression(expr=sum(p * m.elastic[i] for i, (_c, _s, p) in enumerate(rows)))
    obj = next(m.component_data_objects(pyo.Objective, active=True))
    obj.expr = obj.expr + m.elastic_cost
    return len(rows)
