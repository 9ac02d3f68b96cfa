"""Second stage: what projects can produce (online status) and what external offers can supply."""

from __future__ import annotations

import pyomo.environ as pyo

from model.formulation.data import USD_PER_MUSD, ModelData
from model.formulation.ledger import Ledger, affine


def ramp_factor(j: int, ramp: int, life: int) -> float:
    """g_p(j): 0 before online, (j+1)/(ramp+1) while ramping, 1 at full output, 0 after life."""
    if j < 0 or j >= life:
        return 0.0
    return min(1.0, (j + 1) / (ramp + 1))


def online_terms(d: ModelData, p: str, t: int, s: str) -> tuple[float, float, dict[tuple[int, str], tuple[float, float]]]:
    """on[p,t,s] and 'stands' (for fixed opex) as constant parts and fid terms {(τ, ν): (g, stands)}.

    on = (1 − fail)·Σ_τ fid[p,τ,ν^D(s,τ)]·g_p(t − τ − lead − d_{p,τ,s}); a sunk committed project uses its
    fid_year (and a delay row at it) without variables; an existing one is on (1 − fail) before retire_year.
    """
    r = d.projects[p]
    eff = d.effects[s]
    avail = eff.avail.get((p, t), 1.0)
    life, ramp = int(r["life_yr"]), int(r["ramp_yr"])
    if r["status"] == "existing":
        up = 1.0 if r["retire_year"] is None or t < int(r["retire_year"]) else 0.0
        return avail * up, avail * up, {}
    lead = int(r["lead_time_yr"])
    if d.sunk(p):
        fy = int(r["fid_year"])
        j = t - fy - lead - eff.delay.get((p, fy), 0)
        return avail * ramp_factor(j, ramp, life), avail * (0 <= j < life), {}
    terms = {}
    for tau in d.window[p]:
        j = t - tau - lead - eff.delay.get((p, tau), 0)
        g, stands = ramp_factor(j, ramp, life), float(0 <= j < life)
        if stands:
            terms[tau, d.tree.decision(s, tau)] = (avail * g, avail * stands)
    return 0.0, 0.0, terms


def add_production(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """prod[p,t,s] ≤ capacity_p·on[p,t,s]; fixed opex in every year the project stands and has not failed;
    var_cost·prod. prod is counted in model units of o_p (tonnes / σ_{o_p})."""
    on_terms = {}
    idx, bound = [], {}
    fid = dict(m.fid.items())  # looked up many times below; a dict is much faster than Var.__getitem__
    for p, r in d.projects.items():
        cap = float(r["capacity_tpy"]) / d.scale[r["output"]]
        opex = float(r["fixed_opex_musd_per_yr"])
        for s in d.scenarios:
            one = (s,)
            for t in d.years:
                on_c, stand_c, terms = online_terms(d, p, t, s)
                ledger.add_constant("fixed_opex", t, one, opex * stand_c)
                for key, (_, st) in terms.items():
                    ledger.add("fixed_opex", t, one, fid[(p, *key)], opex * st)
                if cap > 0 and (on_c > 0 or any(g > 0 for g, _ in terms.values())):
                    idx.append((p, t, s))
                    if terms:
                        on_terms[p, t, s] = {key: g for key, (g, _) in terms.items() if g > 0}
                    else:
                        bound[p, t, s] = cap * on_c
    m.prod_index = idx
    m.prod = pyo.Var(idx, domain=pyo.NonNegativeReals, bounds=lambda m, p, t, s: (0, bound.get((p, t, s))))
    prod = dict(m.prod.items())
    m.capacity = pyo.Constraint(list(on_terms))
    for (p, t, s), gs in on_terms.items():
        cap = float(d.projects[p]["capacity_tpy"]) / d.scale[d.projects[p]["output"]]
        m.capacity[p, t, s] = (None, affine([(1.0, prod[p, t, s])] + [(-cap * g, fid[(p, *key)]) for key, g in gs.items()]),
                               0.0)
    for (p, t, s), var in prod.items():
        r = d.projects[p]
        ledger.add("variable_cost", t, (s,), var, float(r["var_cost_usd_per_t"]) / USD_PER_MUSD * d.scale[r["output"]])


def add_external_supply(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger) -> None:
    """0 ≤ ext[o,m,t,s] ≤ max_t·(1 − cut_{o,m,t,s}); cost ext·price_{o,m,t}·pshock_{o,m,t,s}."""
    bound = {}
    for (o, mat, t), (mx, _) in d.supply.items():
        if t not in d.delta:
            continue
        for s in d.scenarios:
            ub = mx * (1.0 - d.effects[s].cut.get((o, mat, t), 0.0)) / d.scale[mat]
            if ub > 0:
                bound[o, mat, t, s] = ub
    m.ext_index = list(bound)
    m.ext = pyo.Var(m.ext_index, domain=pyo.NonNegativeReals, bounds=lambda m, *k: (0, bound[k]))
    for (o, mat, t, s), var in m.ext.items():
        price = d.supply[o, mat, t][1] * d.effects[s].pshock.get((o, mat, t), 1.0)
        ledger.add("external_purchases", t, (s,), var, price / USD_PER_MUSD * d.scale[mat])
