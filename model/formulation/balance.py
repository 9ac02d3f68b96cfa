"""Material balance: shipments, shortfall, the balance at each region, transshipment and import policies."""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from model.formulation.data import PCT, USD_PER_MUSD, ModelData
from model.formulation.ledger import Ledger, affine


def _holders_and_users(d: ModelData) -> tuple[dict[str, set], dict[str, set]]:
    """Regions that can hold each material (source) and that can use it (sink), members included
    as pass-through on both sides when the material has any source and any use at all."""
    src, use = defaultdict(set), defaultdict(set)
    for o, mat, _ in d.supply:
        src[mat].add(o)
    for p, r in d.projects.items():
        src[r["output"]].add(r["region"])
        for mat, _ in d.byproducts.get(p, []):
            src[mat].add(r["region"])
        for mat, _ in d.inputs.get(p, []):
            use[mat].add(r["region"])
    for r in d.stockpiles.values():
        src[r["material"]].add(r["location"])
    for (n, mat, _), v in d.demand.items():
        if v > 0:
            use[mat].add(n)
    for mat in d.materials:
        if src[mat] and use[mat]:
            src[mat] |= set(d.members)
            use[mat] |= set(d.members)
    return src, use


def add_shipments(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """ship[o,d,m,t,s] ≥ 0 for o ≠ d on allowed, unblocked routes where o can hold m and d can use it;
    cost ship·(transport + tariff_pct/100·price_m·wshock_{m,t,s})."""
    src, use = _holders_and_users(d)
    lanes = [(o, dd, mat) for (o, dd, mat) in d.routes if o in src[mat] and dd in use[mat]]
    idx = [(o, dd, mat, t, s) for o, dd, mat in lanes for s in d.scenarios for t in d.years
           if not d.effects[s].blocked(o, dd, mat, t)]
    m.ship_index = idx
    m.ship = pyo.Var(idx, domain=pyo.NonNegativeReals)
    for (o, dd, mat, t, s), var in m.ship.items():
        transport, tariff = d.routes[o, dd, mat]
        sig = d.scale[mat] / USD_PER_MUSD
        ledger.add("transport", t, s, var, transport * sig)
        if tariff:
            base = float(d.materials[mat]["price_usd_per_t"]) * d.effects[s].wshock.get((mat, t), 1.0)
            ledger.add("tariffs", t, s, var, tariff / PCT * base * sig)


def scenario_demand(d: ModelData, n: str, mat: str, t: int, s: str) -> float:
    """D_{n,m,t,s} = demand_{n,m,t}·Π demand multipliers, in tonnes."""
    return d.demand.get((n, mat, t), 0.0) * d.effects[s].demand_multiplier(n, mat, t)


def add_shortfall(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """0 ≤ short[n,m,t,s] ≤ D_{n,m,t,s}, only where D > 0; cost shortfall_penalty·short."""
    bound = {}
    for n, mat, t in d.demand:
        if t not in d.delta:
            continue
        for s in d.scenarios:
            dem = scenario_demand(d, n, mat, t, s)
            if dem > 0:
                bound[n, mat, t, s] = dem / d.scale[mat]
    m.short_index = list(bound)
    m.short = pyo.Var(m.short_index, domain=pyo.NonNegativeReals, bounds=lambda m, *k: (0, bound[k]))
    for (n, mat, t, s), var in m.short.items():
        pen = float(d.materials[mat]["shortfall_penalty_usd_per_t"]) / USD_PER_MUSD * d.scale[mat]
        ledger.add("shortfall_penalty", t, s, var, pen)


def balance_terms(m: pyo.ConcreteModel, d: ModelData) -> dict:
    """Pre-grouped terms of the balance by (region, material, t, s): local supply, inputs, flows.

    Built once after every variable exists; the balance, no-transshipment and policy rows read it."""
    g = {k: defaultdict(list) for k in ("made", "used", "ship_in", "ship_out", "ext", "rel", "short")}
    for (p, t, s), var in m.prod.items():
        r = d.projects[p]
        reg, sig = r["region"], d.scale[r["output"]]
        g["made"][reg, r["output"], t, s].append((1.0, var))
        for mat, y in d.byproducts.get(p, []):
            g["made"][reg, mat, t, s].append((y * sig / d.scale[mat], var))
        for mat, y in d.inputs.get(p, []):
            g["used"][reg, mat, t, s].append((y * sig / d.scale[mat], var))
    for (o, dd, mat, t, s), var in m.ship.items():
        g["ship_out"][o, mat, t, s].append((1.0, var))
        g["ship_in"][dd, mat, t, s].append((1.0, var))
    for key, var in m.ext.items():
        g["ext"][key].append((1.0, var))
    for (k, t, s), var in m.rel.items():
        r = d.stockpiles[k]
        g["rel"][r["location"], r["material"], t, s].append((1.0, var))
    for key, var in m.short.items():
        g["short"][key].append((1.0, var))
    return g


def _neg(terms):
    return [(-c, v) for c, v in terms]


def add_balance(m: pyo.ConcreteModel, d: ModelData, g: dict) -> None:
    """Σ prod(o_p=m) + Σ by·prod + ext + Σ_o ship[o,r] + Σ rel + short ≥ Σ in·prod + Σ_d ship[r,d] + D
    at every region r and material m (free disposal of surplus)."""
    keys = set(g["used"]) | set(g["ship_out"])
    for n, mat, t in d.demand:
        if t in d.delta:
            keys.update((n, mat, t, s) for s in d.scenarios if scenario_demand(d, n, mat, t, s) > 0)
    supply_side = ("made", "ext", "ship_in", "rel", "short")

    def rule(m, r, mat, t, s):
        key = (r, mat, t, s)
        terms = [x for k in supply_side for x in g[k].get(key, ())]
        terms += _neg(g["used"].get(key, ())) + _neg(g["ship_out"].get(key, ()))
        return (scenario_demand(d, r, mat, t, s) / d.scale[mat], affine(terms), None)

    m.balance = pyo.Constraint(sorted(keys), rule=rule)


def add_no_transshipment(m: pyo.ConcreteModel, d: ModelData, g: dict) -> None:
    """For r ∉ N: Σ_d ship[r,d,m] ≤ Σ prod(o_p=m) + Σ by·prod + ext[r,m]."""
    members = set(d.members)
    keys = sorted(k for k in g["ship_out"] if k[0] not in members)
    m.no_transshipment = pyo.Constraint(keys, rule=lambda m, *k: (None, affine(
        g["ship_out"][k] + _neg(g["made"].get(k, ())) + _neg(g["ext"].get(k, ()))), 0.0))


def add_policies(m: pyo.ConcreteModel, d: ModelData, g: dict) -> None:
    """With U = D + Σ_{p at n} in·prod: Σ_{o∈C} ship[o,n,m] ≤ max_concern_share·U and
    ship[o,n,m] ≤ max_single_origin_share·U for every non-member o."""
    members = set(d.members)
    from_outside = defaultdict(list)  # (n, m, t, s) -> [(o, var)]
    for (o, dd, mat, t, s), var in m.ship.items():
        if o not in members and dd in members and (dd, mat, t) in d.policies:
            from_outside[dd, mat, t, s].append((o, var))

    def share_row(flows, share, n, mat, t, s):
        """flows ≤ share·U  as  flows − share·Σ in·prod ≤ share·D."""
        terms = flows + [(-share * c, v) for c, v in g["used"].get((n, mat, t, s), ())]
        return (None, affine(terms), share * scenario_demand(d, n, mat, t, s) / d.scale[mat])

    conc, single = [], []
    for key, flows in from_outside.items():
        cap_c, cap_1 = d.policies[key[:3]]
        if cap_c is not None and any(o in d.concern for o, _ in flows):
            conc.append(key)
        if cap_1 is not None:
            single.extend((*key, o) for o, _ in flows)
    m.concern_share = pyo.Constraint(conc, rule=lambda m, n, mat, t, s: share_row(
        [(1.0, v) for o, v in from_outside[n, mat, t, s] if o in d.concern], d.policies[n, mat, t][0], n, mat, t, s))
    m.single_origin_share = pyo.Constraint(single, rule=lambda m, n, mat, t, s, o: share_row(
        [(1.0, m.ship[o, n, mat, t, s])], d.policies[n, mat, t][1], n, mat, t, s))
