"""Disruption effects per scenario: the data DESIGN.md's "Disruptions" table derives.

A scenario's effects are computed once from the Disruptions rows that act in
it (its own rows, rows of scenario `*`, and rows naming one of its
`event=option` labels). Consumers read typed fields (cut, blocked, delay,
touched) and never re-parse rows. The mean-value problem's effects are the
probability-weighted means of the scenarios' derived data (`mean_effects`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from model.case.routes import WILDCARD  # the disruptions' * is the Routes sheet's

TOUCHING_KINDS = ("supply_cut", "price_shock", "demand_shock", "route_block", "origin_block")
TOLERANCE_DIGITS = 9  # derived data are compared with a tolerance of 1e-9 (DESIGN "Information and the scenario tree")


@dataclass
class Effects:
    """What one scenario does to the data; absent keys mean "no effect"."""

    cut: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (o, m, t) -> cut fraction
    pshock: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (o, m, t) -> price multiplier
    wshock: dict[tuple[str, int], float] = field(default_factory=dict)  # (m, t) -> world price multiplier
    dshock: dict[tuple[str, str, int], float] = field(default_factory=dict)  # (n, m, t) -> demand multiplier
    delay: dict[tuple[str, int], int] = field(default_factory=dict)  # (p, τ) -> years
    avail: dict[tuple[str, int], float] = field(default_factory=dict)  # (p, t) -> 1 − fail
    blocks: set[tuple[str, str, str | None, int]] = field(default_factory=set)  # route_block (o, d, m, t)
    oblocks: set[tuple[str, str, str | None, int]] = field(default_factory=set)  # origin_block (g, d, m, t)
    touched: set[tuple[str, int]] = field(default_factory=set)  # (m, t) where an active row touches m

    def blocked(self, o: str, d: str, m: str, t: int) -> bool:
        """True when a route_block row forbids shipping m on the leg o → d in year t."""
        if not self.blocks:
            return False
        return any((bo, bd, bm, t) in self.blocks for bo in (o, WILDCARD) for bd in (d, WILDCARD) for bm in (m, None))

    def origin_blocked(self, g: str, d: str, m: str, t: int) -> bool:
        """True when an origin_block g>d forbids tonnes made in g from reaching member d in year t."""
        if not self.oblocks:
            return False
        return any((g, bd, bm, t) in self.oblocks for bd in (d, WILDCARD) for bm in (m, None))

    def demand_multiplier(self, n: str, m: str, t: int) -> float:
        return self.dshock.get((n, m, t), 1.0)

    def year_data(self, learn_year: dict[tuple[str, int], int]) -> dict[int, tuple]:
        """The derived data of each year as a comparable value (rounded to the tolerance).

        A delay d_{p,τ} belongs to the year it is learned, τ + lead_p (`learn_year`),
        not the year its FID is taken; delays of (p, τ) absent from `learn_year` split nothing.
        """
        by_year: dict[int, list] = defaultdict(list)
        for name, table in (("cut", self.cut), ("pshock", self.pshock), ("dshock", self.dshock)):
            for (a, b, t), v in table.items():
                by_year[t].append((name, a, b, round(v, TOLERANCE_DIGITS)))
        for (m, t), v in self.wshock.items():
            by_year[t].append(("wshock", m, "", round(v, TOLERANCE_DIGITS)))
        for (p, t), v in self.avail.items():
            by_year[t].append(("avail", p, "", round(v, TOLERANCE_DIGITS)))
        for name, table in (("block", self.blocks), ("oblock", self.oblocks)):
            for a, b, m, t in table:
                by_year[t].append((name, a, b, m or ""))
        for m, t in self.touched:
            by_year[t].append(("touched", m, "", 0))
        for (p, tau), v in self.delay.items():
            if (p, tau) in learn_year and v:
                by_year[learn_year[p, tau]].append(("delay", p, str(tau), v))
        return {t: tuple(sorted(items, key=repr)) for t, items in by_year.items()}


def applies(row_scenario: str, scenario: str, labels: frozenset[str] = frozenset()) -> bool:
    """A Disruptions row acts in `scenario` when it names it, names `*`, or names one of its event=option labels."""
    return row_scenario == scenario or row_scenario == WILDCARD or row_scenario in labels


def _targets(target: str, universe: list[str]) -> list[str]:
    return list(universe) if target == WILDCARD else [target]


def _mats(material: str | None, materials: list[str]) -> list[str]:
    return list(materials) if material is None else [material]


def _leg(target: str) -> tuple[str, str]:
    o, _, d = str(target).partition(">")
    return o.strip(), d.strip()


def effects_from_rows(rows: list[dict], regions: list[str], materials: list[str], project_output: dict[str, str],
                      years: list[int]) -> Effects:
    """Fold the Disruptions rows acting in one scenario into its Effects.

    cut = 1 − Π(1 − magnitude); multipliers multiply; the largest delay wins;
    failures set availability 0; route and origin blocks act in their years.
    """
    e = Effects()
    for row in rows:
        kind, target, mat, mag = row["kind"], row["target"], row["material"], row["magnitude"]
        span = [t for t in years if row["start_year"] <= t <= row["end_year"]]
        if kind in TOUCHING_KINDS:
            e.touched.update((m, t) for m in _mats(mat, materials) for t in span)
        if kind == "supply_cut":
            for o in _targets(target, regions):
                for m in _mats(mat, materials):
                    for t in span:
                        e.cut[o, m, t] = 1.0 - (1.0 - e.cut.get((o, m, t), 0.0)) * (1.0 - mag)
        elif kind in ("price_shock", "demand_shock"):
            table = e.pshock if kind == "price_shock" else e.dshock
            for o in _targets(target, regions):
                for m in _mats(mat, materials):
                    for t in span:
                        table[o, m, t] = table.get((o, m, t), 1.0) * mag
            if kind == "price_shock" and target == WILDCARD:
                for m in _mats(mat, materials):
                    for t in span:
                        e.wshock[m, t] = e.wshock.get((m, t), 1.0) * mag
        elif kind == "project_delay":
            for tau in range(row["start_year"], row["end_year"] + 1):  # may start before the horizon (a sunk project)
                e.delay[target, tau] = max(e.delay.get((target, tau), 0), round(mag))
        elif kind == "project_fail":
            out = project_output.get(target)
            if out is not None:
                e.touched.update((out, t) for t in span)
            for t in span:
                e.avail[target, t] = 0.0
        elif kind in ("route_block", "origin_block"):
            o, d = _leg(target)
            table = e.blocks if kind == "route_block" else e.oblocks
            table.update((o, d, mat, t) for t in span)
    return e


def mean_effects(effects: dict[str, Effects], weight: dict[str, float]) -> Effects:
    """The mean-value scenario: in each year the π-weighted means of the scenarios' derived data.

    cut, pshock, wshock, demand multipliers and availability are averaged;
    delays are ⌊Σ π·d + ½⌋; a route or origin block acts where its probability
    is ≥ 0.5; a material is touched where any scenario touches it.
    """
    e = Effects()
    for name, neutral in (("cut", 0.0), ("pshock", 1.0), ("wshock", 1.0), ("dshock", 1.0), ("avail", 1.0)):
        keys = set().union(*(getattr(x, name).keys() for x in effects.values()))
        out = getattr(e, name)
        for key in keys:
            out[key] = sum(w * getattr(effects[s], name).get(key, neutral) for s, w in weight.items())
    for key in set().union(*(x.delay.keys() for x in effects.values())):
        e.delay[key] = math.floor(sum(w * effects[s].delay.get(key, 0) for s, w in weight.items()) + 0.5)
    for name in ("blocks", "oblocks"):
        prob: dict[tuple, float] = defaultdict(float)
        for s, w in weight.items():
            for key in getattr(effects[s], name):
                prob[key] += w
        getattr(e, name).update(k for k, p in prob.items() if p >= 0.5 - 1e-12)
    for x in effects.values():
        e.touched |= x.touched
    return e
