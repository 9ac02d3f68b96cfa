"""Scenario families: the scenarios an Events sheet generates (DESIGN.md "Scenario families").

Each event has mutually exclusive options; an event whose options' probabilities
sum to less than 1 also has "none" (the event does not happen). A scenario is
one choice per event, with probability the product. Every combination is
generated, the first event varying slowest and "none" before the options; when
there are more than `max_scenarios`, that many seeded draws stand for the
family instead, identical draws merged with probability count/max_scenarios.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PROB_TOL = 1e-6  # an event whose options sum to 1 within this has no "none"
CALM = "calm"  # the scenario in which no event happens
NONE = None  # the "none" choice of an event


@dataclass(frozen=True)
class Event:
    """One event: its options in sheet order, their probabilities and descriptions."""

    name: str
    options: tuple[str, ...]
    probabilities: tuple[float, ...]
    descriptions: tuple[str | None, ...]

    @property
    def none_probability(self) -> float:
        """Probability that the event does not happen (0 when its options sum to 1 within 1e-6)."""
        rest = 1.0 - sum(self.probabilities)
        return 0.0 if rest <= PROB_TOL else rest

    def choices(self) -> list[tuple[str | None, float]]:
        """(option or None, probability) in generation order: "none" first, then the options in sheet order."""
        out: list[tuple[str | None, float]] = [(NONE, self.none_probability)] if self.none_probability > 0 else []
        return out + list(zip(self.options, self.probabilities))


def label(event: str, option: str) -> str:
    """The `event=option` label a Disruptions row names."""
    return f"{event}={option}"


def events_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Event]:
    """Events in order of first appearance, each with its options in sheet order."""
    by_event: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_event.setdefault(r["event"], []).append(r)
    return [Event(e, tuple(r["option"] for r in rs), tuple(float(r["probability"]) for r in rs),
                  tuple(r.get("description") for r in rs)) for e, rs in by_event.items()]


def combinations(events: list[Event]) -> int:
    """How many scenarios the full family has."""
    return math.prod(len(e.choices()) for e in events)


def _scenario(events: list[Event], picks: tuple[str | None, ...], probability: float) -> dict[str, Any]:
    options = tuple(label(e.name, o) for e, o in zip(events, picks) if o is not NONE)
    words = [d or label(e.name, o) for e, o in zip(events, picks) if o is not NONE
             for d in [e.descriptions[e.options.index(o)]]]
    return {"scenario": "+".join(options) or CALM, "probability": probability,
            "description": "; ".join(words) if words else "none of the events happens", "options": options}


def full_family(events: list[Event]) -> list[dict[str, Any]]:
    """Every combination of one choice per event, with probability the product, in DESIGN's order."""
    out = []
    for combo in itertools.product(*(e.choices() for e in events)):
        picks = tuple(o for o, _ in combo)
        out.append(_scenario(events, picks, math.prod(p for _, p in combo)))
    return out


def sampled_family(events: list[Event], draws: int, seed: int) -> list[dict[str, Any]]:
    """`draws` seeded draws, each event independently; identical draws merged (count/draws), in first-draw order."""
    import numpy as np

    rng = np.random.default_rng(seed)
    columns = []
    for e in events:
        choices = e.choices()
        p = np.array([q for _, q in choices], dtype=float)
        columns.append([choices[i][0] for i in rng.choice(len(choices), size=draws, p=p / p.sum())])
    counts: dict[tuple, int] = {}
    for picks in zip(*columns):
        counts[picks] = counts.get(picks, 0) + 1
    return [_scenario(events, picks, n / draws) for picks, n in counts.items()]


def generate(rows: Iterable[Mapping[str, Any]], max_scenarios: int, seed: int) -> tuple[list[dict[str, Any]], bool]:
    """(scenarios, sampled): the family of the Events rows, sampled when it has more than `max_scenarios`."""
    events = events_from_rows(rows)
    if combinations(events) <= max_scenarios:
        return full_family(events), False
    return sampled_family(events, max_scenarios, seed), True
