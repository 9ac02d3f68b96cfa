"""Data feasibility before any solve, in a planner's words (DESIGN.md, "Workbook practice").

- Demand that no project, supply offer or stockpile could ever provide, or
  that no allowed route reaches, is a warning, not an error: the model stays
  feasible (the demand becomes shortfall at its penalty), and a variant that
  deletes the only source on purpose is a fair question to ask.
- A requires-chain whose FIDs, lags and lead times cannot fit the horizon is
  an error, like any other FID window that cannot bring a project online.
- A fund whose eligibility matches no project it could support is a warning.
- Materials nobody demands or produces, and members with no demand, are warnings.
- Member projects that turn materials into each other in a cycle (X → Y → X)
  are a warning naming the cycle: each pass through a member's plant makes
  the tonnes coalition-made, so a cycle could wash an imported tonne's origin.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from model.case.domain import eligible, fid_window
from model.case.reader import values_of
from model.case.routes import RouteRules
from model.case.rules import Ctx, bad, err, warn
from model.problems import Problems

NEVER = 10**6  # an FID year no project can reach


def feasibility(ctx: Ctx, p: Problems) -> None:
    """Every feasibility check of this module."""
    _usage(ctx, p)
    _material_cycles(ctx, p)
    _reach(ctx, p)
    if ctx.horizon:
        _requires_chains(ctx, p)
        if "Projects" in ctx.present:
            _fund_reach(ctx, p)


def _sources(ctx: Ctx) -> dict[str, set]:
    """material -> regions where it can appear: a project making it, a Supply offer, a stockpile.

    A cell already reported as unreadable counts as able to provide, so one slip gives one message.
    """
    out: dict[str, set] = defaultdict(set)
    for r in ctx.rows("Projects"):
        if (r.values.get("capacity_tpy") or 0) > 0 or bad(r, "capacity_tpy"):
            out[r.values.get("output")].add(r.values.get("region"))
    for r in ctx.rows("Recipes"):
        proj = ctx.projects.get(r.values.get("project"))
        if r.values.get("role") == "byproduct" and proj is not None:
            out[r.values.get("material")].add(proj.values.get("region"))
    for r in ctx.rows("Supply"):
        if (r.values.get("max_t") or 0) > 0 or bad(r, "max_t"):
            out[r.values.get("material")].add(r.values.get("origin"))
    for r in ctx.rows("Stockpiles"):
        out[r.values.get("material")].add(r.values.get("location"))
    return out


def _usage(ctx: Ctx, p: Problems) -> None:
    demand = ctx.rows("Demand")  # column by column: a row per customer and year
    wanted = [(q or 0) > 0 for q in values_of(demand, "demand_t")]
    demanded = set(itertools.compress(values_of(demand, "material"), wanted))
    used = {r.values.get("material") for r in ctx.rows("Recipes") if r.values.get("role") == "input"}
    sources = _sources(ctx)
    for rec in ctx.rows("Materials"):
        m = rec.values.get("material")
        if m is None:
            continue
        if m not in demanded and m not in used:
            warn(p, rec, "material", "nobody demands this material: no Demand row above 0 and no project uses it", found=m)
        elif not sources.get(m):
            warn(p, rec, "material", "nothing can provide this material: no project makes it, and it has no Supply row "
                 "and no stockpile, so its demand will all be shortfall", found=m)
    with_demand = set(itertools.compress(values_of(demand, "region"), wanted))
    for rec in ctx.rows("Regions"):
        if rec.values.get("member") and rec.values.get("region") not in with_demand:
            warn(p, rec, "region", "this member has no demand", found=rec.values.get("region"))


def _reach(ctx: Ctx, p: Problems) -> None:
    """Demand in a member that no source of the material can reach over allowed routes."""
    sources = _sources(ctx)
    routes = RouteRules.from_records(ctx.rows("Routes"))
    regions = ctx.keys.get("Regions", set())
    reached: dict[str, set] = {}
    told = set()
    demand = ctx.rows("Demand")
    for k, (n, m, q) in enumerate(zip(*(values_of(demand, c) for c in ("region", "material", "demand_t")))):
        if (q or 0) <= 0 or n is None or not sources.get(m) or (n, m) in told:
            continue
        if m not in reached:
            reached[m] = _spread(sources[m], regions, ctx.members, routes, m)
        if n not in reached[m]:
            told.add((n, m))
            where = ", ".join(sorted(str(s) for s in sources[m]))
            warn(p, demand[k], "material", f"no source of {m} can reach {n}: it is found only in {where}, and the Routes sheet "
                 f"forbids every way to {n}, so this demand will all be shortfall", found=m,
                 expected=f"a route allowed to {n}, or a project, Supply row or stockpile of {m} in {n}")


def _spread(start: set, regions: set, members: set, routes: RouteRules, m: str) -> set:
    """Regions a material can get to from `start`; only members pass material on."""
    seen, todo = set(start), list(start)
    while todo and not regions <= seen:
        o = todo.pop()
        if o not in start and o not in members:
            continue  # no transshipment through non-members
        new = routes.destinations(o, m, regions) - seen
        seen |= new
        todo.extend(new)
    return seen


def _requires_chains(ctx: Ctx, p: Problems) -> None:
    """Earliest possible FID of each candidate through its requires-chain, against its last possible FID."""
    start, end = ctx.start, ctx.end
    early: dict[str, int] = {}
    last: dict[str, int] = {}
    for name, rec in ctx.projects.items():
        v = rec.values
        if v.get("status") == "existing":
            early[name] = -NEVER
        elif v.get("status") == "committed":
            early[name] = v.get("fid_year") if v.get("fid_year") is not None else -NEVER
        elif v.get("status") == "candidate" and v.get("lead_time_yr") is not None:
            early[name], last[name] = fid_window(v, start, end)
    needs = defaultdict(list)
    for rec in ctx.rows("Dependencies"):
        a, b = rec.values.get("project"), rec.values.get("other")
        if rec.values.get("relation") == "requires" and a in last and b in early and a != b:
            needs[a].append((b, rec.values.get("lag_yr") or 0, rec))
    for _ in range(len(needs) + 1):  # relax to a fixed point; a lagged cycle climbs to NEVER
        changed = False
        for a, reqs in needs.items():
            e = min(NEVER, max([early[a]] + [early[b] + lag if early[b] <= last.get(b, NEVER) else NEVER
                                             for b, lag, _ in reqs]))
            if e > early[a]:
                early[a], changed = e, True
        if not changed:
            break
    for a, reqs in needs.items():
        if early[a] <= last[a] or fid_window(ctx.projects[a].values, start, end)[0] > last[a]:
            continue  # fits, or its own window is already reported
        b, lag, rec = max(reqs, key=lambda x: early[x[0]] + x[1])
        if b in last and fid_window(ctx.projects[b].values, start, end)[0] > last[b]:
            continue  # b's own window is empty: reported at b
        cannot = early[b] > last.get(b, NEVER) or early[b] >= NEVER
        why = f"{b} can never take its FID in time" if cannot else \
            f"{b} takes its FID in {early[b]} at the earliest, plus lag_yr {lag}, puts {a}'s FID in {early[b] + lag}"
        err(p, rec, "other", f"the requires-chain cannot fit the horizon: {why}, after {a}'s last possible FID year {last[a]}",
            found=b, expected="shorter lags or lead times, earlier FID windows, or a later end_year")


def _fund_reach(ctx: Ctx, p: Problems) -> None:
    """A project-support fund whose eligibility admits no project it could fund."""
    costed = [r.values for r in ctx.projects.values()
              if r.values.get("status") == "candidate"
              or (r.values.get("status") == "committed" and (r.values.get("fid_year") or -NEVER) >= ctx.start)]
    for rec in ctx.rows("Funds"):
        v = rec.values
        if v.get("instrument") not in ("grant", "loan", "equity") or v.get("fund") is None:
            continue
        if not any(eligible(v, proj.get("region")) for proj in costed):
            col = "eligible_regions" if v.get("eligible_regions") else "fund"
            warn(p, rec, col, "this fund's eligibility matches no project it could support: no candidate, and no "
                 "committed project with fid_year from start_year on, stands in an eligible region",
                 found=", ".join(v.get("eligible_regions") or ()) or v.get("fund"))


def _material_cycles(ctx: Ctx, p: Problems) -> None:
    """A cycle among the materials member projects make from one another (input → output or by-product)."""
    edges: dict[str, dict[str, tuple[str, object]]] = defaultdict(dict)  # input -> made -> (project, Recipes row)
    made_with: dict[str, list[str]] = defaultdict(list)  # project -> what it makes
    for name, rec in ctx.projects.items():
        if rec.values.get("region") in ctx.members and rec.values.get("output") is not None:
            made_with[name].append(rec.values["output"])
    for r in ctx.rows("Recipes"):
        if r.values.get("role") == "byproduct" and r.values.get("project") in made_with:
            made_with[r.values["project"]].append(r.values.get("material"))
    for r in ctx.rows("Recipes"):
        proj, m = r.values.get("project"), r.values.get("material")
        if r.values.get("role") == "input" and proj in made_with and m is not None:
            for out in made_with[proj]:
                if out is not None and out != m:
                    edges[m].setdefault(out, (proj, r))
    told: set[frozenset] = set()
    for start in sorted(edges):
        path = _cycle_from(start, edges)
        if path is None or frozenset(path) in told:
            continue
        told.add(frozenset(path))
        steps = [(edges[a][b][0], a, b) for a, b in itertools.pairwise([*path, path[0]])]
        how = "; ".join(f"{proj} makes {b} from {a}" for proj, a, b in steps)
        warn(p, edges[path[0]][path[1]][1], "material", "member projects turn these materials into each other in a "
             f"cycle: {' → '.join([*path, path[0]])} ({how}); each pass makes the tonnes coalition-made, so the cycle "
             "could give imported tonnes a new origin", found=path[0])


def _cycle_from(start: str, edges: dict) -> list[str] | None:
    """The shortest cycle through `start` (breadth first), as its materials from `start`, or None."""
    back = {start: None}
    todo = [start]
    while todo:
        nxt = []
        for a in todo:
            for b in sorted(edges.get(a, {})):
                if b == start:
                    path = [a]
                    while back[path[-1]] is not None:
                        path.append(back[path[-1]])
                    return path[::-1]
                if b not in back:
                    back[b] = a
                    nxt.append(b)
        todo = nxt
    return None
