"""Rules of traced origin and shortfall cost curves (DESIGN.md, "Origin" and "Second stage").

- A stockpile's initial_origin must be able to make its material: a member
  (its tonnes are coalition-made), or a non-member with a Supply row or a
  project making it.
- Each cost curve's penalties never fall from one step to the next, and when
  its last step stops short of share 1 the rest costs the Materials penalty,
  which must then be at least the last step's.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from model.case.reader import Record
from model.case.rules import Ctx, err
from model.problems import Problems


def origin_rules(ctx: Ctx, p: Problems) -> None:
    """Every rule of this module."""
    _initial_origins(ctx, p)
    _shortfall_costs(ctx, p)


def makers(ctx: Ctx) -> dict[str, set]:
    """material -> regions that can make it: a Supply row, or a project with it as output or by-product (DESIGN's G_m)."""
    out: dict[str, set] = defaultdict(set)
    for r in ctx.rows("Supply"):
        out[r.values.get("material")].add(r.values.get("origin"))
    for r in ctx.rows("Projects"):
        out[r.values.get("output")].add(r.values.get("region"))
    for r in ctx.rows("Recipes"):
        proj = ctx.projects.get(r.values.get("project"))
        if r.values.get("role") == "byproduct" and proj is not None:
            out[r.values.get("material")].add(proj.values.get("region"))
    return out


def _initial_origins(ctx: Ctx, p: Problems) -> None:
    made = makers(ctx)
    regions = ctx.keys.get("Regions", set())
    for rec in ctx.rows("Stockpiles"):
        g, m = rec.values.get("initial_origin"), rec.values.get("material")
        if g in regions and g not in ctx.maybe_members and m is not None and g not in made.get(m, ()):
            err(p, rec, "initial_origin", f"initial_origin {g} cannot make {m}: {g} has no Supply row of {m} and no "
                f"project making it, so the initial holding cannot have been made there", found=g,
                expected=f"a region with a Supply row or a project making {m}, a member (made in the coalition), or blank")


def _shortfall_costs(ctx: Ctx, p: Problems) -> None:
    """Each cost curve's penalties never fall from a step to the next, and the rest above a last step below share 1
    costs the Materials penalty, which must then be at least that step's."""
    curves: dict[tuple, list[Record]] = defaultdict(list)
    for rec in ctx.rows("ShortfallCosts"):
        v = rec.values
        if v.get("material") is not None and v.get("up_to_share") is not None and v.get("penalty_usd_per_t") is not None:
            curves[(v["material"], v.get("region"))].append(rec)
    materials = {r.values.get("material"): r for r in ctx.rows("Materials")}
    for (m, region), recs in curves.items():
        steps = sorted(recs, key=lambda r: r.values["up_to_share"])
        who = f"{m} in {region}" if region is not None else f"{m} (every member without rows of its own)"
        for prev, rec in itertools.pairwise(steps):
            lo, hi = prev.values["penalty_usd_per_t"], rec.values["penalty_usd_per_t"]
            if hi < lo:
                err(p, rec, "penalty_usd_per_t", f"the shortfall cost of {who} falls from one step to the next: "
                    f"{_g(hi)} USD/t up to share {_g(rec.values['up_to_share'])}, after {_g(lo)} USD/t up to share "
                    f"{_g(prev.values['up_to_share'])} at {prev.ref('penalty_usd_per_t')[1]}", found=hi,
                    expected=f"at least {_g(lo)}: cheaper steps (thrifting, substitution) come first")
        last, mat = steps[-1], materials.get(m)
        rest = mat.values.get("shortfall_penalty_usd_per_t") if mat is not None else None
        top = last.values["penalty_usd_per_t"]
        if last.values["up_to_share"] < 1 and rest is not None and rest < top:
            err(p, last, "penalty_usd_per_t", f"this last step of {who} stops at share {_g(last.values['up_to_share'])}, "
                f"and the rest costs the Materials shortfall_penalty_usd_per_t of {_g(rest)} USD/t at "
                f"{mat.ref('shortfall_penalty_usd_per_t')[1]}, below this step's {_g(top)}", found=top,
                expected=f"a penalty of at most {_g(rest)}, a last up_to_share of 1, or a higher Materials penalty")


def _g(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:g}"
