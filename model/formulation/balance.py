"""Material balance by traced origin: shipments, consumption, shortfall steps, the balances, transshipment
and import policies."""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain

import pyomo.environ as pyo

from model.formulation.data import COALITION, PCT, USD_PER_MUSD, ModelData
from model.formulation.financing import buy_origins
from model.formulation.ledger import Ledger, affine


def ship_origins(d: ModelData, o: str, mat: str) -> list[str]:
    """Origins a shipment of mat leaving o may carry: o itself outside the coalition, else every g that can be at o."""
    if o not in d.members:
        return [o]
    return [g for g in d.origins.get(mat, []) if o in d.reach[mat, g]]


def add_shipments(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """ship[o,d,m,g,t,s] ≥ 0 on allowed legs not route-blocked, g = o outside the coalition and g ∈ G_m that can be
    at o inside it, none with g origin-blocked to a member d; cost ship·transport of the leg, and on arrival at a
    member the tariff of (g, d, m) for g ≠ ★ (of the leg for ★): tariff_pct/100·price_m·wshock_{m,t,s}."""
    members = set(d.members)
    idx = []
    tags_of: dict[tuple[str, str], list[str]] = {}
    for o, dd, mat in d.routes:
        if (o, mat) not in tags_of:
            tags_of[o, mat] = ship_origins(d, o, mat)
        tags = tags_of[o, mat]
        for s in d.scenarios:
            e = d.effects[s]
            for t in d.years:
                if e.blocked(o, dd, mat, t):
                    continue
                idx += [(o, dd, mat, g, t, s) for g in tags if not (dd in members and e.origin_blocked(g, dd, mat, t))]
    m.ship_index = idx
    m.ship = pyo.Var(idx, domain=pyo.NonNegativeReals)
    for (o, dd, mat, g, t, s), var in m.ship.items():
        transport, leg_tariff = d.routes[o, dd, mat]
        sig = d.scale[mat] / USD_PER_MUSD
        ledger.add("transport", t, (s,), var, transport * sig)
        # tonnes of origin g re-exported by a member o pay g's tariff into d; o's own tonnes pay the leg's
        tariff = d.route_rules.tariff(g, dd, mat) if dd in members and g not in (COALITION, o) else leg_tariff
        if tariff:
            base = float(d.materials[mat]["price_usd_per_t"]) * d.effects[s].wshock.get((mat, t), 1.0)
            ledger.add("tariffs", t, (s,), var, tariff / PCT * base * sig)


def scenario_demand(d: ModelData, n: str, mat: str, t: int, s: str) -> float:
    """D_{n,m,t,s} = demand_{n,m,t}·Π demand multipliers, in tonnes."""
    return d.demand.get((n, mat, t), 0.0) * d.effects[s].demand_multiplier(n, mat, t)


@dataclass
class Groups:
    """Terms of the balances pre-grouped once: by (region, m, t, s), and by origin where origin matters."""

    made: dict = field(default_factory=lambda: defaultdict(list))  # (r, m, t, s): output, by-products and own offers
    used: dict = field(default_factory=lambda: defaultdict(list))  # (r, m, t, s): project inputs
    ship_in: dict = field(default_factory=lambda: defaultdict(list))  # (r, m, g, t, s)
    ship_out: dict = field(default_factory=lambda: defaultdict(list))  # (r, m, g, t, s)
    rel: dict = field(default_factory=lambda: defaultdict(list))  # (n, m, g, t, s)
    buy: dict = field(default_factory=lambda: defaultdict(list))  # (n, m, g, t, s)
    cons: dict = field(default_factory=lambda: defaultdict(list))  # (n, m, t, s): [(g, coef, var)] what n uses, by origin
    sinks: set = field(default_factory=set)  # (n, m) where nothing leaves: no shipment out, no stockpile of m
    short: dict = field(default_factory=lambda: defaultdict(list))  # (n, m, t, s)


class Uses:
    """What each member uses, by origin: (n, m, t, s) -> [(g, coef, var)], as `Groups.cons` (cons[n,m,g], or at a
    sink the inflow of each origin and what is made there).

    Kept with the model as flat columns: a receiving member has a term per arriving shipment, and a tuple each
    would cost three times as much.
    """

    def __init__(self, groups: dict[tuple, list[tuple[str, float, object]]]):
        self._keys = list(groups)
        self._ends = array("q")
        self._origin: list[str] = []
        self._coef = array("d")
        self._var: list = []
        for terms in groups.values():
            for og, c, v in terms:
                self._origin.append(og)
                self._coef.append(c)
                self._var.append(v)
            self._ends.append(len(self._var))

    def items(self):
        """(key, [(g, coef, var)]) for every key, in the order the terms were grouped."""
        start = 0
        for key, end in zip(self._keys, self._ends):
            yield key, list(zip(self._origin[start:end], self._coef[start:end], self._var[start:end]))
            start = end


def group_terms(m: pyo.ConcreteModel, d: ModelData) -> Groups:
    """Pre-group production, offers, shipments and stockpile flows for the balance rows."""
    g = Groups()
    for (p, t, s), var in m.prod.items():
        r = d.projects[p]
        reg, sig = r["region"], d.scale[r["output"]]
        g.made[reg, r["output"], t, s].append((1.0, var))
        for mat, y in d.byproducts.get(p, []):
            g.made[reg, mat, t, s].append((y * sig / d.scale[mat], var))
        for mat, y in d.inputs.get(p, []):
            g.used[reg, mat, t, s].append((y * sig / d.scale[mat], var))
    for (o, mat, t, s), var in m.ext.items():
        g.made[o, mat, t, s].append((1.0, var))
    for (o, dd, mat, og, t, s), var in m.ship.items():
        g.ship_out[o, mat, og, t, s].append((1.0, var))
        g.ship_in[dd, mat, og, t, s].append((1.0, var))
    rel, buy = dict(m.rel.items()), dict(m.buy.items())
    for k, r in d.stockpiles.items():
        n, mat = r["location"], r["material"]
        origins = buy_origins(d, k)
        for s in d.scenarios:
            for t in d.years:
                for og in origins:
                    x = rel.get((k, og, t, d.tree.node[s, t]))
                    if x is not None:
                        g.rel[n, mat, og, t, s].append((1.0, x))
                    b = buy.get((k, og, t, d.tree.decision(s, t)))
                    if b is not None:
                        g.buy[n, mat, og, t, s].append((1.0, b))
    return g


def find_sinks(d: ModelData, g: Groups) -> None:
    """Members that only receive m: no leg takes m out of n and no stockpile of m stands at n.

    At such a sink every tonne that arrives or is made there is used there or thrown away, so what n uses of
    origin g is what arrives of g: the model writes that inflow in place of cons[n,m,g] and its balance row
    (free disposal makes the two forms equivalent), which keeps a receiving member's columns as in a model
    without origins.
    """
    leaving = {(r, mat) for (r, mat, _og, _t, _s) in g.ship_out}
    stocked = {(k["location"], k["material"]) for k in d.stockpiles.values()}
    g.sinks = {(n, mat) for n in d.members for mat in d.materials if (n, mat) not in leaving | stocked}


def add_consumption(m: pyo.ConcreteModel, d: ModelData, g: Groups) -> None:
    """cons[n,m,g,t,s] ≥ 0 for members n and origins g ∈ G_m whose tonnes can be at n, where n uses m;
    at a sink (see `find_sinks`) the inflow of each origin stands in for cons."""
    idx = []
    for n in d.members:
        for mat in d.materials:
            tags = [og for og in d.origins.get(mat, []) if n in d.reach[mat, og]]
            if not tags:
                continue
            sink = (n, mat) in g.sinks
            for s in d.scenarios:
                for t in d.years:
                    if not (scenario_demand(d, n, mat, t, s) > 0 or g.used.get((n, mat, t, s))):
                        continue
                    if not sink:
                        idx += [(n, mat, og, t, s) for og in tags]
                        continue
                    uses = g.cons[n, mat, t, s]
                    uses += [(COALITION, c, v) for c, v in g.made.get((n, mat, t, s), ())]
                    for og in tags:
                        uses += [(og, c, v) for c, v in g.ship_in.get((n, mat, og, t, s), ())]
    m.cons_index = idx
    m.cons = pyo.Var(idx, domain=pyo.NonNegativeReals)
    for (n, mat, og, t, s), var in m.cons.items():
        g.cons[n, mat, t, s].append((og, 1.0, var))
    m.uses = Uses(g.cons)  # read by the extraction of the Dependence table


def add_shortfall(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger, g: Groups) -> None:
    """0 ≤ short[n,m,t,s,j] ≤ (a_j − a_{j−1})·D_{n,m,t,s}, only where D > 0; cost pen_j·short_j."""
    bound, pen = {}, {}
    for n, mat, t in d.demand:
        if t not in d.delta or n not in d.members:
            continue
        for s in d.scenarios:
            dem = scenario_demand(d, n, mat, t, s)
            if dem > 0:
                for j, (width, p) in enumerate(d.steps[n, mat], start=1):
                    bound[n, mat, t, s, j] = width * dem / d.scale[mat]
                    pen[n, mat, t, s, j] = p
    m.short_index = list(bound)
    m.short = pyo.Var(m.short_index, domain=pyo.NonNegativeReals, bounds=lambda m, *k: (0, bound[k]))
    for (n, mat, t, s, j), var in m.short.items():
        ledger.add("shortfall_penalty", t, (s,), var, pen[n, mat, t, s, j] / USD_PER_MUSD * d.scale[mat])
        g.short[n, mat, t, s].append((1.0, var))


def _neg(terms):
    return [(-c, v) for c, v in terms]


def add_member_balance(m: pyo.ConcreteModel, d: ModelData, g: Groups) -> None:
    """At a member n, for m and each origin g ∈ G_m:
    [g=★]·(Σ prod + Σ by·prod + ext[n,m]) + Σ_k rel_s[k,g] + Σ_o ship[o,n,m,g] ≥ Σ_d ship[n,d,m,g] + Σ_k buy_s[k,g]
    + cons[n,m,g]."""
    cons = {(n, mat, og, t, s): var for (n, mat, og, t, s), var in m.cons.items()}
    rows = {}
    for n in d.members:
        for mat in d.materials:
            if (n, mat) in g.sinks:
                continue
            for og in d.origins.get(mat, []):
                if n not in d.reach[mat, og]:
                    continue
                for s in d.scenarios:
                    for t in d.years:
                        key = (n, mat, og, t, s)
                        terms = list(g.made.get((n, mat, t, s), ())) if og == COALITION else []
                        terms += g.rel.get(key, []) + g.ship_in.get(key, [])
                        out = g.ship_out.get(key, []) + g.buy.get(key, [])
                        if key in cons:
                            out = out + [(1.0, cons[key])]
                        if out:
                            rows[key] = terms + _neg(out)
    m.balance = pyo.Constraint(list(rows))
    for key, terms in rows.items():
        m.balance[key] = (0.0, affine(terms), None)


def add_use(m: pyo.ConcreteModel, d: ModelData, g: Groups) -> None:
    """At a member n: Σ_g cons[n,m,g] + Σ_j short[n,m,j] ≥ D_{n,m} + Σ_{p at n} in_{p,m}·prod (free disposal)."""
    keys = set(g.used) | {(n, mat, t, s) for n, mat, t in d.demand if t in d.delta and n in d.members
                          for s in d.scenarios if scenario_demand(d, n, mat, t, s) > 0}
    keys = sorted(k for k in keys if k[0] in d.members)
    m.use = pyo.Constraint(keys)
    for n, mat, t, s in keys:
        key = (n, mat, t, s)
        terms = chain(((c, v) for _, c, v in g.cons.get(key, ())), g.short.get(key, ()), _neg(g.used.get(key, ())))
        m.use[key] = (scenario_demand(d, n, mat, t, s) / d.scale[mat], affine(terms), None)


def add_nonmember_balance(m: pyo.ConcreteModel, d: ModelData, g: Groups) -> None:
    """At a non-member r: Σ prod + Σ by·prod + ext + Σ_{o,g} ship[o,r,m,g] ≥ Σ in·prod + Σ_d ship[r,d,m,r], and no
    transshipment: Σ_d ship[r,d,m,r] ≤ Σ prod + Σ by·prod + ext[r,m]."""
    members = set(d.members)
    inflow = defaultdict(list)
    for (r, mat, _og, t, s), terms in g.ship_in.items():
        if r not in members:
            inflow[r, mat, t, s] += terms
    keys = sorted(k for k in set(g.used) | set(inflow) if k[0] not in members and g.used.get(k))
    m.nonmember_balance = pyo.Constraint(keys)
    for r, mat, t, s in keys:
        key = (r, mat, t, s)
        m.nonmember_balance[key] = (0.0, affine(g.made.get(key, []) + inflow.get(key, []) + _neg(g.used.get(key, []))
                                                + _neg(g.ship_out.get((r, mat, r, t, s), []))), None)
    out = sorted((r, mat, t, s) for (r, mat, og, t, s) in g.ship_out if r not in members)
    m.no_transshipment = pyo.Constraint(out)
    for r, mat, t, s in out:
        m.no_transshipment[r, mat, t, s] = (None, affine(g.ship_out[r, mat, r, t, s]
                                                         + _neg(g.made.get((r, mat, t, s), []))), 0.0)


def add_policies(m: pyo.ConcreteModel, d: ModelData, g: Groups) -> None:
    """With U = D − Σ_j short_j + Σ in·prod: Σ_{g∈C} cons[n,m,g] ≤ max_concern_share·U and cons[n,m,g] ≤
    max_single_origin_share·U for every non-member g; a `*` row applies the same to Σ over members."""
    def row(fl, share, short, use, dem):
        """flows ≤ share·U  as  flows + share·Σ short − share·Σ in·prod ≤ share·D."""
        terms = list(fl) + [(share * c, v) for c, v in short] + [(-share * c, v) for c, v in use]
        return terms, share * dem

    conc, single = {}, {}
    for (who, mat, t), (cap_c, cap_1) in d.policies.items():
        regions = d.members if who == "*" else [who]
        for s in d.scenarios:
            flows = [(og, c, v) for n in regions for og, c, v in g.cons.get((n, mat, t, s), ())]
            if not flows:
                continue
            dem = sum(scenario_demand(d, n, mat, t, s) for n in regions) / d.scale[mat]
            use = [x for n in regions for x in g.used.get((n, mat, t, s), ())]
            short = [x for n in regions for x in g.short.get((n, mat, t, s), ())]

            if cap_c is not None and any(og in d.concern for og, _, _ in flows):
                conc[who, mat, t, s] = row([(c, v) for og, c, v in flows if og in d.concern], cap_c, short, use, dem)
            if cap_1 is not None:
                for og in sorted({og for og, _, _ in flows if og != COALITION}):
                    single[who, mat, t, s, og] = row([(c, v) for o2, c, v in flows if o2 == og], cap_1, short, use, dem)
    m.concern_share = pyo.Constraint(list(conc))
    for key, (terms, bound) in conc.items():
        m.concern_share[key] = (None, affine(terms), bound)
    m.single_origin_share = pyo.Constraint(list(single))
    for key, (terms, bound) in single.items():
        m.single_origin_share[key] = (None, affine(terms), bound)
