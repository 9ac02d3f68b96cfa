"""Disruption effects per scenario: the data DESIGN.md's "Disruptions" table derives.

A scenario's effects are computed once from its Disruptions rows. Each row
carries a weight: 1 in an ordinary scenario; in the mean-value problem every
row of every scenario acts with its scenario's probability as weight (a cut
of π·magnitude, multipliers 1 + π·(multiplier − 1), delays of round(π·years),
failures as availability 1 − π, route blocks kept where π ≥ 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WILDCARD = "*"
TOUCHING_KINDS = ("supply_cut", "price_shock", "demand_shock", "route_block")


@dataclass
class Effects:
    """What one scenario does to the data; absent keys mean "no effect"."""

    cut: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (o, m, t) -> cut fraction
    pshock: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (o, m, t) -> price multiplier
    wshock: dict[tuple[str, int], float] = field(default_factory=dict)  # (m, t) -> world price multiplier
    dshock: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (n, m, t) -> demand multiplier
    delay: dict[tuple[str, int], int] = field(default_factory=dict)  # (p, τ) -> years
    avail: dict[tuple[str, int], float] = field(default_factory=dict)  # (p, t) -> 1 − fail
    blocks: list[tuple[str, str, str | None, int, int]] = field(default_factory=list)  # (o, d, m, first, last)
    touched: set[tuple[str, int]] = field(default_factory=set)  # (m, t) where an active row touches m

    def blocked(self, o: str, d: str, m: str, t: int) -> bool:
        """True when a route_block row forbids shipping m from o to d in year t."""
        return any(
            bo in (o, WILDCARD) and bd in (d, WILDCARD) and bm in (None, m) and y0 <= t <= y1
            for bo, bd, bm, y0, y1 in self.blocks
        )

    def demand_multiplier(self, n: str, m: str, t: int) -> float:
        return self.dshock.get((n, m, t), 1.0)


def _targets(target: str, universe: list[str]) -> list[str]:
    return list(universe) if target == WILDCARD else [target]


def _mats(material: str | None, materials: list[str]) -> list[str]:
    return list(materials) if material is None else [material]


def effects_from_rows(rows: list[tuple[dict, float]], regions: list[str], materials: list[str],
                      project_output: dict[str, str], years: list[int], mean_value: bool = False) -> Effects:
    """Fold Disruptions rows, each with a weight, into one scenario's Effects.

    cut = 1 − Π(1 − w·magnitude); multipliers Π(1 + w·(x − 1)); delays: the
    largest round(w·years) wins; failures: availability Π(1 − w); route blocks
    act when w ≥ 0.5 (w is 1 outside the mean-value problem).
    """
    e = Effects()
    for row, w in rows:
        kind, target, mat = row["kind"], row["target"], row["material"]
        span = [t for t in years if row["start_year"] <= t <= row["end_year"]]
        mag = row["magnitude"]
        if kind in TOUCHING_KINDS:
            for m in _mats(mat, materials):
                e.touched.update((m, t) for t in span)
        if kind == "supply_cut":
            for o in _targets(target, regions):
                for m in _mats(mat, materials):
                    for t in span:
                        keep = (1.0 - e.cut.get((o, m, t), 0.0)) * (1.0 - w * mag)
                        e.cut[o, m, t] = 1.0 - keep
        elif kind == "price_shock":
            factor = 1.0 + w * (mag - 1.0)
            for o in _targets(target, regions):
                for m in _mats(mat, materials):
                    for t in span:
                        e.pshock[o, m, t] = e.pshock.get((o, m, t), 1.0) * factor
            if target == WILDCARD:
                for m in _mats(mat, materials):
                    for t in span:
                        e.wshock[m, t] = e.wshock.get((m, t), 1.0) * factor
        elif kind == "demand_shock":
            factor = 1.0 + w * (mag - 1.0)
            for n in _targets(target, regions):
                for m in _mats(mat, materials):
                    for t in span:
                        e.dshock[n, m, t] = e.dshock.get((n, m, t), 1.0) * factor
        elif kind == "project_delay":
            years_late = round(w * mag)
            for tau in span:
                e.delay[target, tau] = max(e.delay.get((target, tau), 0), years_late)
        elif kind == "project_fail":
            out = project_output.get(target)
            if out is not None:
                e.touched.update((out, t) for t in span)
            for t in span:
                e.avail[target, t] = e.avail.get((target, t), 1.0) * (1.0 - w)
        elif kind == "route_block" and (not mean_value or w >= 0.5):
            o, _, d = str(target).partition(">")
            e.blocks.append((o.strip(), d.strip(), mat, span[0] if span else 0, span[-1] if span else -1))
    return e


def first_touch_year(disruptions: list[dict], project_output: dict[str, str], material: str) -> int | None:
    """First year in which any scenario has a row touching `material` (None if no row does)."""
    starts = []
    for row in disruptions:
        kind = row["kind"]
        touches = kind in TOUCHING_KINDS and row["material"] in (None, material)
        if touches or (kind == "project_fail" and project_output.get(row["target"]) == material):
            starts.append(row["start_year"])
    return min(starts) if starts else None
