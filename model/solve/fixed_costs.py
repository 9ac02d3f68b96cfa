"""The present value of costs a case's decisions cannot change: those of existing and committed projects.

The coalition study subtracts K(S), these costs for the projects outside S's
regions, from the optimum of S's case (DESIGN.md "Coalition study"). They
are read from the same derived data and online status the model uses, so
fail and delay scenarios count exactly as they do in the objective.
"""

from __future__ import annotations

from collections.abc import Iterable

from model.formulation.capacity import online_terms
from model.formulation.data import build_data

FIXED_STATUSES = ("existing", "committed")


def fixed_project_costs(case, outside: Iterable[str]) -> float:
    """Expected present value (USD m) of the capital and fixed opex of existing and committed projects in the
    regions `outside`.

    Capital is capex·crf(discount_rate, life) in each planned online year in the horizon of a committed project
    costed in the case (fid_year ≥ start: FID fixed in its year); fixed opex is paid in every year a project
    stands and has not failed, in each scenario:
    K = Σ_s π_s Σ_t δ_t (capital_{p,t} + fixed_opex_p·stands_{p,t,s}) over those projects.
    """
    regions = set(outside)
    d = build_data(case)
    total = 0.0
    for p, r in d.projects.items():
        if r["status"] not in FIXED_STATUSES or r["region"] not in regions:
            continue
        if not d.sunk(p):  # committed with fid_year ≥ start: paid at its planned dates, like a candidate
            first = int(r["fid_year"]) + int(r["lead_time_yr"])
            last = min(d.end, first + int(r["life_yr"]) - 1)
            total += d.capital_per_year(p) * sum(d.delta[t] for t in range(max(first, d.start), last + 1))
        opex = float(r["fixed_opex_musd_per_yr"] or 0.0)
        if not opex:
            continue
        for s in d.scenarios:
            for t in d.years:
                _, stands, terms = online_terms(d, p, t, s)
                stands += sum(st for _, st in terms.values())  # a costed committed project: its one fixed FID
                total += d.weight[s] * d.delta[t] * opex * stands
    return total
