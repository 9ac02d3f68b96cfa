"""Sets and parameters derived once from a Case, before any constraint is written.

Everything the constraint modules need is computed here: FID windows W_p,
online coefficients g_p, route resolution, the acquisition cut-off B_k,
release permissions, policies by year, discount factors, and the per-material
quantity scale. The constraint modules then only read these dicts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from model.case.domain import eligible, fid_window
from model.formulation.scenarios import WILDCARD, Effects, effects_from_rows, first_touch_year

if TYPE_CHECKING:
    from model.case.load import Case

USD_PER_MUSD = 1e6  # per-tonne USD prices multiply tonnes; the model counts USD million
PCT = 100.0
MEAN_VALUE = "mean_value"  # name of the single scenario of the mean-value problem


def material_scale(largest_t: float) -> float:
    """Tonnes per model unit for a material whose largest quantity is `largest_t`.

    The one place where quantities are scaled (DESIGN.md "Numerics"): t below
    1e5 t, kt up to 1e8 t, Mt beyond, so that yields like 1e-4 t/t of gallium
    from alumina and cheap bulk ores keep coefficients within about 1e-3..1e6.
    """
    if largest_t <= 0:
        return 1.0
    return 1000.0 ** max(0, math.floor(math.log10(largest_t) / 3.0 - 2.0 / 3.0))


def crf(rate: float, life: int) -> float:
    """Capital recovery factor r / (1 − (1+r)^−n); 1/n when r = 0."""
    return 1.0 / life if rate == 0 else rate / (1.0 - (1.0 + rate) ** (-life))


def _records(case: Case, sheet: str) -> list[dict]:
    return case.tables[sheet].to_dict("records")


@dataclass
class ModelData:
    """Derived sets and parameters of one model (one or more scenarios)."""

    years: list[int]
    start: int
    end: int
    delta: dict[int, float]
    settings: dict
    materials: dict[str, dict]
    regions: dict[str, dict]
    members: list[str]
    concern: set[str]
    projects: dict[str, dict]
    costed: list[str]  # candidates and committed with fid_year ≥ start
    window: dict[str, list[int]]  # W_p for costed projects
    inputs: dict[str, list[tuple[str, float]]]  # p -> [(m, in_{p,m})]
    byproducts: dict[str, list[tuple[str, float]]]  # p -> [(m, by_{p,m})]
    funds: dict[str, dict]
    budget: dict[tuple[str, int], float]
    eligible: dict[str, list[str]]  # p -> project funds that may support it
    supply: dict[tuple[str, str, int], tuple[float, float]]  # (o, m, t) -> (max_t, price_usd_per_t)
    routes: dict[tuple[str, str, str], tuple[float, float]]  # allowed (o, d, m) -> (transport, tariff_pct)
    stockpiles: dict[str, dict]
    buy_until: dict[str, int]  # B_k
    requires: list[tuple[str, str, int]]
    excludes: list[tuple[str, str]]
    policies: dict[tuple[str, str, int], tuple[float | None, float | None]]
    scenarios: list[str]
    weight: dict[str, float]  # π_s renormalised over the modelled scenarios
    effects: dict[str, Effects]
    scale: dict[str, float]  # σ_m: tonnes per model unit
    demand: dict[tuple[str, str, int], float] = field(default_factory=dict)

    def sunk(self, p: str) -> bool:
        return p not in self.window

    def capital_per_year(self, p: str) -> float:
        rec = self.projects[p]
        return rec["capex_musd"] * crf(self.settings["discount_rate"], rec["life_yr"])


def build_data(case: Case, scenarios: list[str] | None = None, mean_value: bool = False) -> ModelData:
    """Derive every set and parameter of the model from `case`.

    `scenarios` restricts the model to some scenarios (weights renormalised);
    `mean_value` builds the single mean-value scenario of DESIGN.md's VSS.
    B_k is always computed from all scenarios of the case.
    """
    st = case.settings
    start, end = int(st["start_year"]), int(st["end_year"])
    years = list(range(start, end + 1))
    rate = float(st["discount_rate"])
    materials = {r["material"]: r for r in _records(case, "Materials")}
    regions = {r["region"]: r for r in _records(case, "Regions")}
    projects = {r["project"]: r for r in _records(case, "Projects")}
    window = _fid_windows(projects, start, end)
    inputs, byproducts = defaultdict(list), defaultdict(list)
    for r in _records(case, "Recipes"):
        (inputs if r["role"] == "input" else byproducts)[r["project"]].append((r["material"], float(r["t_per_t"])))
    funds = {r["fund"]: r for r in _records(case, "Funds")}
    disruptions = _records(case, "Disruptions")
    output = {p: r["output"] for p, r in projects.items()}
    scen_rows = _records(case, "Scenarios")
    prob = {r["scenario"]: float(r["probability"]) for r in scen_rows}
    chosen = [MEAN_VALUE] if mean_value else (list(scenarios) if scenarios else list(prob))
    effects = _scenario_effects(chosen, prob, disruptions, list(regions), list(materials), output, years, mean_value)
    total = sum(prob.get(s, 1.0) for s in chosen) if not mean_value else 1.0
    weight = {s: (1.0 if mean_value else prob[s] / total if total > 0 else 1.0 / len(chosen)) for s in chosen}
    stockpiles = {r["stockpile"]: r for r in _records(case, "Stockpiles")}
    demand = {(r["region"], r["material"], int(r["year"])): float(r["demand_t"]) for r in _records(case, "Demand")}
    supply = {(r["origin"], r["material"], int(r["year"])): (float(r["max_t"]), float(r["price_usd_per_t"]))
              for r in _records(case, "Supply")}
    deps = _records(case, "Dependencies")
    return ModelData(
        years=years, start=start, end=end, delta={t: (1.0 + rate) ** -(t - start) for t in years}, settings=st,
        materials=materials, regions=regions, members=[r for r, v in regions.items() if v["member"]],
        concern={r for r, v in regions.items() if v["bloc"] == "concern"}, projects=projects,
        costed=[p for p in projects if p in window], window=window, inputs=dict(inputs), byproducts=dict(byproducts),
        funds=funds, budget={(r["fund"], int(r["year"])): float(r["budget_musd"]) for r in _records(case, "Budgets")},
        eligible=_eligibility(projects, window, funds), supply=supply,
        routes=_resolve_routes(_records(case, "Routes"), list(regions), list(materials)),
        stockpiles=stockpiles, buy_until=_buy_until(stockpiles, disruptions, output),
        requires=[(d["project"], d["other"], int(d["lag_yr"])) for d in deps if d["relation"] == "requires"],
        excludes=[(d["project"], d["other"]) for d in deps if d["relation"] == "excludes"],
        policies=_policies(_records(case, "Policies"), years), scenarios=chosen, weight=weight, effects=effects,
        scale=_scales(materials, projects, byproducts, demand, supply, stockpiles), demand=demand,
    )


def _fid_windows(projects: dict, start: int, end: int) -> dict[str, list[int]]:
    """W_p for candidates; {fid_year} for committed projects with fid_year ≥ start; others are sunk."""
    w = {}
    for p, r in projects.items():
        if r["status"] == "candidate":
            lo, hi = fid_window(r, start, end)
            w[p] = list(range(lo, hi + 1))
        elif r["status"] == "committed" and int(r["fid_year"]) >= start:
            w[p] = [int(r["fid_year"])]
    return w


def _eligibility(projects: dict, window: dict, funds: dict) -> dict[str, list[str]]:
    """Project funds (grant, loan, equity) that may support each costed project."""
    out = {}
    for p in window:
        rp = projects[p]["region"]
        ok = []
        for f, r in funds.items():
            if r["instrument"] == "stockpile":
                continue
            if eligible(r, rp):
                ok.append(f)
        out[p] = ok
    return out


def _resolve_routes(rows: list[dict], regions: list[str], materials: list[str]) -> dict:
    """Allowed (o, d, m) with o ≠ d -> (transport_usd_per_t, tariff_pct) by the Routes score rule.

    score = 4·[material named] + 2·[origin named] + 1·[destination named]; the
    highest-scoring matching row applies; a flow no row matches is allowed at zero cost.
    """
    by_key = {}
    for r in rows:
        score = 4 * (r["material"] is not None) + 2 * (r["origin"] != WILDCARD) + (r["destination"] != WILDCARD)
        by_key[(r["origin"], r["destination"], r["material"])] = (score, r)
    out = {}
    for o in regions:
        for d in regions:
            if o == d:
                continue
            for m in materials:
                best = None
                for key in ((o, d, m), (WILDCARD, d, m), (o, WILDCARD, m), (WILDCARD, WILDCARD, m),
                            (o, d, None), (WILDCARD, d, None), (o, WILDCARD, None), (WILDCARD, WILDCARD, None)):
                    if key in by_key and (best is None or by_key[key][0] > best[0]):
                        best = by_key[key]
                if best is None:
                    out[o, d, m] = (0.0, 0.0)
                elif best[1]["allowed"]:
                    out[o, d, m] = (float(best[1]["transport_usd_per_t"]), float(best[1]["tariff_pct"]))
    return out


def _buy_until(stockpiles: dict, disruptions: list[dict], output: dict) -> dict[str, int]:
    """B_k = min(buy_until_year_k, first touching year − 1), over all scenarios of the case."""
    out = {}
    for k, r in stockpiles.items():
        first = first_touch_year(disruptions, output, r["material"])
        b = int(r["buy_until_year"])
        out[k] = b if first is None else min(b, first - 1)
    return out


def _policies(rows: list[dict], years: list[int]) -> dict:
    """(n, m, t) -> (max_concern_share, max_single_origin_share) from the row with the largest year_from ≤ t."""
    by_nm = defaultdict(list)
    for r in rows:
        by_nm[r["region"], r["material"]].append(r)
    out = {}
    for (n, m), rs in by_nm.items():
        rs.sort(key=lambda r: r["year_from"])
        for t in years:
            active = [r for r in rs if r["year_from"] <= t]
            if active:
                r = active[-1]
                if r["max_concern_share"] is not None or r["max_single_origin_share"] is not None:
                    out[n, m, t] = (r["max_concern_share"], r["max_single_origin_share"])
    return out


def _scenario_effects(chosen, prob, disruptions, regions, materials, output, years, mean_value) -> dict[str, Effects]:
    if mean_value:
        rows = [(r, prob.get(r["scenario"], 0.0)) for r in disruptions]
        return {MEAN_VALUE: effects_from_rows(rows, regions, materials, output, years, mean_value=True)}
    return {s: effects_from_rows([(r, 1.0) for r in disruptions if r["scenario"] == s], regions, materials, output, years)
            for s in chosen}


def _scales(materials, projects, byproducts, demand, supply, stockpiles) -> dict[str, float]:
    """σ_m from the largest quantity of each material anywhere in the case."""
    big = dict.fromkeys(materials, 0.0)
    for (_, m, _), v in demand.items():
        big[m] = max(big[m], v)
    for (_, m, _), (mx, _) in supply.items():
        big[m] = max(big[m], mx)
    for p, r in projects.items():
        big[r["output"]] = max(big[r["output"]], float(r["capacity_tpy"]))
        for m, y in byproducts.get(p, []):
            big[m] = max(big[m], y * float(r["capacity_tpy"]))
    for r in stockpiles.values():
        big[r["material"]] = max(big[r["material"]], float(r["initial_t"]),
                                  0.0 if r["capacity_t"] is None else float(r["capacity_t"]))  # blank = no limit
    return {m: material_scale(v) for m, v in big.items()}
