"""The cost ledger: every cost term of the objective, tagged by component, year and scenario.

Constraint modules add linear cost terms here as they declare variables; the
objective, each scenario's Z_s, the breakdown and the per-scenario costs are
all read from the same ledger, so they cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from pyomo.core.expr import LinearExpression, MonomialTermExpression

# Breakdown components, in the order the result workbook lists them (model/solution.py).
COMPONENTS = (
    "capital", "public_funds", "acquisitions", "fixed_opex", "variable_cost", "external_purchases", "transport",
    "tariffs", "holding", "shortfall_penalty", "stockpile_terminal_value",
)


def affine(pairs, const: float = 0.0) -> LinearExpression:
    """Σ c·v + const from (c, v) pairs, built directly (much faster than Python's sum over Pyomo terms);
    a variable may appear more than once: the compiler adds its coefficients."""
    args = [MonomialTermExpression((c, v)) for c, v in pairs]
    if const:
        args.append(const)
    return LinearExpression(args)


@dataclass
class Ledger:
    """Cost terms in USD m, undiscounted; `scenario` None marks a first-stage cost."""

    terms: list[tuple[str, int, str | None, object, float]] = field(default_factory=list)  # (component, t, s, var, coef)
    constants: list[tuple[str, int, str | None, float]] = field(default_factory=list)  # (component, t, s, value)

    def add(self, component: str, t: int, s: str | None, var, coef: float) -> None:
        if coef != 0:
            self.terms.append((component, t, s, var, coef))

    def add_constant(self, component: str, t: int, s: str | None, value: float) -> None:
        if value != 0:
            self.constants.append((component, t, s, value))

    def linear(self, delta: dict[int, float], weight: dict[str, float], scenario: str | None = None):
        """Σ_t δ_t·cost as one linear expression: expected over scenarios, or one scenario's own Z_s.

        With `scenario` None second-stage terms are weighted by w_s; with a
        scenario named, its Z_s (first stage plus that scenario's terms).
        """
        factor = {}
        for t, dt in delta.items():
            factor[t, None] = dt
            for s, w in weight.items():
                factor[t, s] = dt * (w if scenario is None else float(s == scenario))
        terms = [(factor[t, s] * c, var) for _, t, s, var, c in self.terms if factor[t, s]]
        const = sum(factor[t, s] * v for _, t, s, v in self.constants)
        return affine(terms, const)

    def evaluate(self, delta: dict[int, float], weight: dict[str, float], scenarios: list[str]) -> dict:
        """Present-value cost by component: 'expected' (weighted) and per scenario, from loaded values."""
        per_s = {s: defaultdict(float) for s in scenarios}
        first = defaultdict(float)
        for comp, t, s, var, c in self.terms:
            val = delta[t] * c * (var.value or 0.0)
            (first if s is None else per_s[s])[comp] += val
        for comp, t, s, v in self.constants:
            (first if s is None else per_s[s])[comp] += delta[t] * v
        expected = {comp: first[comp] + sum(weight[s] * per_s[s][comp] for s in scenarios) for comp in COMPONENTS}
        scen = {s: {comp: first[comp] + per_s[s][comp] for comp in COMPONENTS} for s in scenarios}
        return {"expected": expected, "scenario": scen}
