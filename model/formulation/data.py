"""Sets and parameters derived once from a Case, before any constraint is written.

Everything the constraint modules need is computed here: FID windows W_p,
route resolution (legs and origin tariffs), the scenario tree, origins G_m
and where each origin's tonnes can be, shortfall cost steps, release
permissions, policies by year, discount factors, and the per-material
quantity scale. The constraint modules then only read these dicts.
"""

from __future__ import annotations

import math
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from model.case.domain import eligible, fid_window
from model.case.routes import RouteRules
from model.formulation.scenarios import Effects, applies, effects_from_rows, mean_effects
from model.formulation.tree import ADAPTIVE, Tree, build_tree, restrict

if TYPE_CHECKING:
    from model.case.load import Case
from model.problems import RunError

USD_PER_MUSD = 1e6  # per-tonne USD prices multiply tonnes; the model counts USD million
PCT = 100.0
MEAN_VALUE = "mean_value"  # name of the single scenario of the mean-value problem
COALITION = "coalition"  # the origin ★ of everything made or offered inside the coalition


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
    return case.tables[sheet].to_dict("records") if sheet in case.tables else []


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
    routes: dict[tuple[str, str, str], tuple[float, float]]  # allowed legs (o, d, m) -> (transport, tariff_pct)
    route_rules: RouteRules  # the Routes rule for any (o, d, m), e.g. the tariff of an origin whoever ships it
    holders: dict[str, set]  # m -> regions that can hold m
    users: dict[str, set]  # m -> regions that can use m
    stockpiles: dict[str, dict]
    requires: list[tuple[str, str, int]]
    excludes: list[tuple[str, str]]
    policies: dict[tuple[str, str, int], tuple[float | None, float | None]]  # (member or *, m, t)
    scenarios: list[str]
    weight: dict[str, float]  # π_s renormalised over the modelled scenarios
    effects: dict[str, Effects]
    tree: Tree
    origins: dict[str, list[str]]  # G_m: non-member makers of m that can reach the coalition, then COALITION
    reach: dict[tuple[str, str], set[str]]  # (m, g) -> members where tonnes of m of origin g can be
    steps: dict[tuple[str, str], list[tuple[float, float]]]  # (n, m) -> [(a_j − a_{j−1}, pen_j USD/t)]
    scale: dict[str, float]  # σ_m: tonnes per model unit
    demand: dict[tuple[str, str, int], float] = field(default_factory=dict)
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)  # s -> its event=option labels, sheet order

    def sunk(self, p: str) -> bool:
        return p not in self.window

    def capital_per_year(self, p: str) -> float:
        rec = self.projects[p]
        return rec["capex_musd"] * crf(self.settings["discount_rate"], rec["life_yr"])

    def node_weight(self, members: tuple[str, ...]) -> float:
        """π of a node over the modelled scenarios (renormalised like `weight`)."""
        return sum(self.weight[s] for s in members)

    def bloc(self, g: str) -> str:
        """How reports call an origin: coalition, or the bloc of a non-member origin."""
        return COALITION if g == COALITION else self.regions[g]["bloc"]


def build_data(case: Case, scenarios: list[str] | None = None, mean_value: bool = False,
               mode: str | None = None) -> ModelData:
    """Derive every set and parameter of the model from `case`.

    `scenarios` restricts the model to some scenarios (weights renormalised;
    the tree is the whole case's tree seen from them); `mean_value` builds the
    single mean-value scenario of DESIGN.md's VSS; `mode` overrides Settings
    `decisions` (adaptive or now).
    """
    st = case.settings
    start, end = int(st["start_year"]), int(st["end_year"])
    years = list(range(start, end + 1))
    rate = float(st["discount_rate"])
    materials = {r["material"]: r for r in _records(case, "Materials")}
    regions = {r["region"]: r for r in _records(case, "Regions")}
    members = [r for r, v in regions.items() if v["member"]]
    projects = {r["project"]: r for r in _records(case, "Projects")}
    window = _fid_windows(projects, start, end, int(st.get("fid_step_yr") or 1))
    inputs, byproducts = defaultdict(list), defaultdict(list)
    for r in _records(case, "Recipes"):
        (inputs if r["role"] == "input" else byproducts)[r["project"]].append((r["material"], float(r["t_per_t"])))
    funds = {r["fund"]: r for r in _records(case, "Funds")}
    mode = mode or st.get("decisions") or ADAPTIVE
    whole = _whole_case(case, mode, list(regions), list(materials), {p: r["output"] for p, r in projects.items()},
                        projects, window, years)
    prob, order, all_effects, learn = whole.prob, whole.order, whole.effects, whole.learn
    if mean_value:
        chosen = [MEAN_VALUE]
        effects = {MEAN_VALUE: mean_effects(all_effects, prob)}
        weight = {MEAN_VALUE: 1.0}
        tree = build_tree(years, chosen, weight, {MEAN_VALUE: effects[MEAN_VALUE].year_data(learn)}, mode)
    else:
        chosen = list(scenarios) if scenarios else order
        total = sum(prob[s] for s in chosen)
        weight = {s: prob[s] / total if total > 0 else 1.0 / len(chosen) for s in chosen}
        effects = {s: all_effects[s] for s in chosen}
        full = whole.tree()
        _check_size(full, int(st["max_nodes"]), bool(len(case.tables["Stockpiles"])))
        tree = full if chosen == order else restrict(full, chosen)
    stockpiles = {r["stockpile"]: r for r in _records(case, "Stockpiles")}
    demand = {(r["region"], r["material"], int(r["year"])): float(r["demand_t"]) for r in _records(case, "Demand")}
    supply = {(r["origin"], r["material"], int(r["year"])): (float(r["max_t"]), float(r["price_usd_per_t"]))
              for r in _records(case, "Supply")}
    rules = RouteRules.from_table(case.tables["Routes"]) if "Routes" in case.tables else RouteRules(*[()] * 6)
    src, use = holders_and_users(projects, inputs, byproducts, supply, stockpiles, demand, materials, members)
    routes = rules.legs(src, use)
    origins, reach = _origins(materials, regions, members, projects, byproducts, supply, routes, stockpiles)
    deps = _records(case, "Dependencies")
    return ModelData(
        years=years, start=start, end=end, delta={t: (1.0 + rate) ** -(t - start) for t in years}, settings=st,
        materials=materials, regions=regions, members=members,
        concern={r for r, v in regions.items() if v["bloc"] == "concern"}, projects=projects,
        costed=[p for p in projects if p in window], window=window, inputs=dict(inputs), byproducts=dict(byproducts),
        funds=funds, budget={(r["fund"], int(r["year"])): float(r["budget_musd"]) for r in _records(case, "Budgets")},
        eligible=_eligibility(projects, window, funds), supply=supply, routes=routes, route_rules=rules,
        holders=src, users=use,
        stockpiles=stockpiles,
        requires=[(d["project"], d["other"], int(d["lag_yr"])) for d in deps if d["relation"] == "requires"],
        excludes=[(d["project"], d["other"]) for d in deps if d["relation"] == "excludes"],
        policies=_policies(_records(case, "Policies"), years), scenarios=chosen, weight=weight, effects=effects,
        tree=tree, origins=origins, reach=reach,
        steps=_steps(_records(case, "ShortfallCosts"), materials, members),
        scale=_scales(materials, projects, byproducts, demand, supply, stockpiles), demand=demand,
        options={r["scenario"]: tuple(r.get("options") or ()) for r in _records(case, "Scenarios")},
    )


@dataclass
class _WholeCase:
    """What every model of one case shares, whichever scenarios it holds: each scenario's derived data, the
    years slips are learned, and the whole case's tree (built on first use)."""

    prob: dict[str, float]
    order: list[str]
    effects: dict
    learn: dict
    build: object
    _tree: Tree | None = None

    def tree(self) -> Tree:
        if self._tree is None:
            self._tree = self.build()
        return self._tree


# One entry per live case and mode: a progressive-hedging rank builds each of its scenarios' models from the same
# case, and deriving every scenario's data (and the whole tree) again for each would cost O(scenarios²).
_WHOLE: dict[tuple[int, str], tuple[weakref.ref, _WholeCase]] = {}


def _whole_case(case: Case, mode: str, regions, materials, output, projects, window, years) -> _WholeCase:
    key = (id(case), mode)
    hit = _WHOLE.get(key)
    if hit is not None and hit[0]() is case:
        return hit[1]
    for k in [k for k, (ref, _w) in _WHOLE.items() if ref() is None]:
        del _WHOLE[k]
    prob = {r["scenario"]: float(r["probability"]) for r in _records(case, "Scenarios")}
    order = list(prob)
    # a generated scenario (Events sheet) lists its event=option labels; Disruptions rows naming one act in it
    labels = {r["scenario"]: frozenset(r.get("options") or ()) for r in _records(case, "Scenarios")}
    disruptions = _records(case, "Disruptions")
    effects = {s: effects_from_rows([r for r in disruptions if applies(r["scenario"], s, labels.get(s, frozenset()))],
                                    regions, materials, output, years) for s in order}
    learn = _learn_years(projects, window, int(years[0]))

    def build() -> Tree:
        words = {s: _seen_words(disruptions, s, labels.get(s, frozenset()), years, projects, learn) for s in order}
        return build_tree(years, order, prob, {s: effects[s].year_data(learn) for s in order}, mode, words)

    whole = _WholeCase(prob, order, effects, learn, build)
    _WHOLE[key] = (weakref.ref(case), whole)
    return whole


def _check_size(tree: Tree, limit: int, stockpiles: bool) -> None:
    """Refuse a tree with more nodes carrying variables than Settings max_nodes.

    Under `adaptive` every information node carries decisions; under `now` the decisions sit at one node a
    year, and the information nodes carry only stockpile releases and inventories.
    """
    nodes = tree.count() if tree.mode == ADAPTIVE or stockpiles else len(tree.years)
    if nodes > limit:
        raise RunError(f"the scenario tree has {tree.count():,} nodes over all years, more than Settings max_nodes "
                       f"({limit:,}): set decisions = now (with no stockpiles, its decisions need one node a year), use "
                       "fewer scenarios or a larger fid_step_yr, or raise max_nodes")


def _fid_windows(projects: dict, start: int, end: int, step: int) -> dict[str, list[int]]:
    """W_p for candidates (every `step`-th year from start); {fid_year} for committed projects with fid_year ≥ start."""
    w = {}
    for p, r in projects.items():
        if r["status"] == "candidate":
            lo, hi = fid_window(r, start, end)
            w[p] = [t for t in range(lo, hi + 1) if (t - start) % step == 0]
        elif r["status"] == "committed" and int(r["fid_year"]) >= start:
            w[p] = [int(r["fid_year"])]
    return w


def _learn_years(projects: dict, window: dict, start: int) -> dict[tuple[str, int], int]:
    """(p, τ) -> τ + lead_p: the year a slip of an FID taken in τ is learned (sunk committed: at fid_year)."""
    out = {}
    for p, r in projects.items():
        if p in window:
            out.update({(p, tau): tau + int(r["lead_time_yr"]) for tau in window[p]})
        elif r["status"] == "committed":
            out[p, int(r["fid_year"])] = max(start, int(r["fid_year"]) + int(r["lead_time_yr"]))
    return out


def _seen_words(rows: list[dict], s: str, labels: frozenset, years: list[int], projects: dict,
                learn: dict) -> dict[int, list[str]]:
    """What starts, ends or is learned in scenario s in each year, in words ("supply_cut CN 100% (ndpr_oxide, ...)")."""
    acts: dict[tuple[int, str], list[str]] = defaultdict(list)  # (year, what) -> materials
    for r in rows:
        if not applies(r["scenario"], s, labels):
            continue
        if r["kind"] == "project_delay":
            for (p, tau), y in learn.items():
                if p == r["target"] and r["start_year"] <= tau <= r["end_year"] and y in years:
                    acts[y, f"{p} late by {round(r['magnitude'])} yr"].append("")
            continue
        what = f"{r['kind']} {r['target']}"
        if r["kind"] == "supply_cut" and r["magnitude"] < 1:
            what += f" {100 * r['magnitude']:.0f}%"
        elif r["kind"] in ("price_shock", "demand_shock"):
            what += f" ×{r['magnitude']:g}"
        mat = r["material"] or "all materials"
        if r["start_year"] in years and r["start_year"] > years[0] or r["start_year"] == years[0]:
            acts[r["start_year"], what].append(mat)
        if r["end_year"] + 1 in years:
            acts[r["end_year"] + 1, f"end of {what}"].append(mat)
    out = defaultdict(list)
    for (y, what), mats in sorted(acts.items()):
        named = sorted({x for x in mats if x})
        out[y].append(f"{what} ({', '.join(named)})" if named else what)
    return dict(out)


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


def holders_and_users(projects: dict, inputs: dict, byproducts: dict, supply: dict, stockpiles: dict,
                      demand: dict, materials: dict, members: list[str]) -> tuple[dict[str, set], dict[str, set]]:
    """Regions that can hold each material (source) and that can use it (sink), members included
    as pass-through on both sides when the material has any source and any use at all."""
    src, use = defaultdict(set), defaultdict(set)
    for o, mat, _ in supply:
        src[mat].add(o)
    for p, r in projects.items():
        src[r["output"]].add(r["region"])
        for mat, _ in byproducts.get(p, []):
            src[mat].add(r["region"])
        for mat, _ in inputs.get(p, []):
            use[mat].add(r["region"])
    for r in stockpiles.values():
        src[r["material"]].add(r["location"])
        use[r["material"]].add(r["location"])
    for (n, mat, _), v in demand.items():
        if v > 0:
            use[mat].add(n)
    for mat in materials:
        if src[mat] and use[mat]:
            src[mat] |= set(members)
            use[mat] |= set(members)
    return dict(src), dict(use)


def _origins(materials, regions, members, projects, byproducts, supply, legs, stockpiles):
    """G_m and, per (m, g), the members where tonnes of origin g can be (DESIGN.md "Origin").

    A non-member g is an origin of m when it can make m (a Supply row or a
    project with m as output or by-product) and some leg takes m from g to a
    member; coalition-made tonnes (COALITION) start at members that make or
    are offered m. Initial stockpile holdings put their origin at the
    stockpile's location. From there tonnes spread along member-to-member legs.
    """
    member_set = set(members)
    makers = defaultdict(set)
    for o, m, _ in supply:
        makers[m].add(o)
    for p, r in projects.items():
        makers[r["output"]].add(r["region"])
        for m, _ in byproducts.get(p, []):
            makers[m].add(r["region"])
    seeds = defaultdict(set)  # (m, g) -> members where g-tonnes first appear
    for m, regs in makers.items():
        for r in regs:
            if r in member_set:
                seeds[m, COALITION].add(r)
            else:
                seeds[m, r].update(n for n in members if (r, n, m) in legs)
    for k in stockpiles.values():
        g = k["initial_origin"] if k["initial_origin"] not in (None, *members) else COALITION
        if float(k["initial_t"]) > 0:
            seeds[k["material"], g].add(k["location"])
    onward = defaultdict(set)
    for o, d, m in legs:
        if o in member_set and d in member_set:
            onward[o, m].add(d)
    reach, origins = {}, defaultdict(list)
    for (m, g), start in seeds.items():
        seen, todo = set(start), list(start)
        while todo:
            o = todo.pop()
            for d in onward.get((o, m), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
        if seen:
            reach[m, g] = seen
    for m in materials:
        non_members = sorted(g for (mm, g) in reach if mm == m and g != COALITION)
        origins[m] = non_members + ([COALITION] if (m, COALITION) in reach else [])
    return dict(origins), reach


def _steps(rows: list[dict], materials: dict, members: list[str]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Each member's shortfall cost curve for m as (width, penalty) steps.

    Rows for (m, n), else those for (m, blank); a final step up to a share of 1
    at the Materials shortfall_penalty when the last row stops short of 1 (or there are none).
    """
    own, common = defaultdict(list), defaultdict(list)
    for r in rows:
        (own[r["material"], r["region"]] if r["region"] else common[r["material"]]).append(
            (float(r["up_to_share"]), float(r["penalty_usd_per_t"])))
    out = {}
    for m, rec in materials.items():
        for n in members:
            curve = sorted(own.get((m, n)) or common.get(m) or [])
            steps, prev = [], 0.0
            for a, pen in curve:
                if a > prev:
                    steps.append((min(a, 1.0) - prev, pen))
                    prev = min(a, 1.0)
            if prev < 1.0:
                steps.append((1.0 - prev, float(rec["shortfall_penalty_usd_per_t"])))
            out[n, m] = steps
    return out


def _policies(rows: list[dict], years: list[int]) -> dict:
    """(n or *, m, t) -> (max_concern_share, max_single_origin_share) from the row with the largest year_from ≤ t."""
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
