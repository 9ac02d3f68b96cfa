"""The cost ledger: every cost term of the objective, tagged by component, year and the scenarios it lies on.

Constraint modules add linear cost terms here as they declare variables; the
objective, each scenario's Z_s, the breakdown and the per-scenario costs are
all read from the same ledger, so they cannot disagree. A term carries the
tuple of scenarios whose path it lies on: one scenario for an operating
cost, a node's scenarios for a decision taken at that node.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass, field

from pyomo.core.expr import LinearExpression, MonomialTermExpression

# Breakdown components, in the order the result workbook lists them.
COMPONENTS = (
    "capital", "public_funds", "acquisition_premium", "fixed_opex", "variable_cost", "external_purchases", "transport",
    "tariffs", "holding", "shortfall_penalty", "stockpile_terminal_value",
)


def affine(pairs, const: float = 0.0) -> LinearExpression:
    """Σ c·v + const from (c, v) pairs, built directly (much faster than Python's sum over Pyomo terms);
    a variable may appear more than once: the compiler adds its coefficients.

    A term with coefficient 1 is the variable itself, which Pyomo's LinearExpression reads as 1·v: most
    balance terms are, and a monomial object costs about 100 bytes a term. Any other term's (c, v) pair becomes
    its monomial's arguments, so that no second pair is made. `pairs` may be a generator: pairs made one at a time
    and dropped at once leave no holes among the rows that stay.
    """
    args = [pair[1] if pair[0] == 1 else MonomialTermExpression(tuple(pair)) for pair in pairs]
    if const:
        args.append(const)
    return LinearExpression(args)


@dataclass
class Ledger:
    """Cost terms in USD m, undiscounted, each on the scenarios `on` whose path it lies on.

    The terms are kept column by column, in the order they were added (the order of the objective's terms, and so
    of the solver's columns), each with the index of its (component, year, scenarios) among the few distinct ones:
    a tuple per term, with its own float and `on` tuple, costs about eight times as much.
    """

    tags: list[tuple[str, int, tuple[str, ...]]] = field(default_factory=list)  # distinct (component, t, on)
    tag: array = field(default_factory=lambda: array("I"))  # per term: its index in `tags`
    var: list = field(default_factory=list)
    coef: array = field(default_factory=lambda: array("d"))
    constants: list[tuple[str, int, tuple[str, ...], float]] = field(default_factory=list)  # (component, t, on, value)
    _tag_of: dict = field(default_factory=dict, repr=False)

    def add(self, component: str, t: int, on: tuple[str, ...], var, coef: float) -> None:
        if coef != 0:
            key = (component, t, on)
            i = self._tag_of.get(key)
            if i is None:
                i = self._tag_of[key] = len(self.tags)
                self.tags.append(key)
            self.tag.append(i)
            self.var.append(var)
            self.coef.append(coef)

    def add_constant(self, component: str, t: int, on: tuple[str, ...], value: float) -> None:
        if value != 0:
            self.constants.append((component, t, on, value))

    def terms(self):
        """(component, t, on, var, coef) of every term, in the order added."""
        tags = self.tags
        return ((*tags[i], var, c) for i, var, c in zip(self.tag, self.var, self.coef))

    def linear(self, delta: dict[int, float], weight: dict[str, float], scenario: str | None = None) -> LinearExpression:
        """Σ_t δ_t·cost as one linear expression: expected over scenarios (Σ_s π_s Z_s), or one scenario's Z_s."""
        w_of: dict[tuple[str, ...], float] = {}

        def w(on: tuple[str, ...]) -> float:
            if on not in w_of:
                w_of[on] = sum(weight[s] for s in on) if scenario is None else float(scenario in on)
            return w_of[on]

        const = sum(delta[t] * w(on) * v for _, t, on, v in self.constants)
        return affine(((delta[t] * w(on) * c, var) for _, t, on, var, c in self.terms() if w(on)), const)

    def by_scenario(self, delta: dict[int, float], scenarios: list[str]) -> dict[str, LinearExpression]:
        """Z_s for every scenario, in one pass over the terms."""
        pairs: dict[str, list] = defaultdict(list)
        const: dict[str, float] = defaultdict(float)
        for _, t, on, var, c in self.terms():
            for s in on:
                pairs[s].append((delta[t] * c, var))
        for _, t, on, v in self.constants:
            for s in on:
                const[s] += delta[t] * v
        return {s: affine(pairs[s], const[s]) for s in scenarios}

    def evaluate(self, delta: dict[int, float], weight: dict[str, float], scenarios: list[str]) -> dict:
        """Present-value cost by component: 'expected' (weighted) and per scenario, from loaded values."""
        acc: dict[tuple[str, tuple[str, ...]], float] = defaultdict(float)
        for comp, t, on, var, c in self.terms():
            acc[comp, on] += delta[t] * c * (var.value or 0.0)
        for comp, t, on, v in self.constants:
            acc[comp, on] += delta[t] * v
        per_s = {s: defaultdict(float) for s in scenarios}
        for (comp, on), val in acc.items():
            for s in on:
                per_s[s][comp] += val
        expected = {comp: sum(weight[s] * per_s[s][comp] for s in scenarios) for comp in COMPONENTS}
        scen = {s: {comp: per_s[s][comp] for comp in COMPONENTS} for s in scenarios}
        return {"expected": expected, "scenario": scen}
