"""The plain-table result of a solve: what every writer reads.

A `Solution` holds pandas tables and plain values only, extracted once from
the solved model; writers (result workbook, console, comparison, sweeps)
never touch Pyomo objects. Money is USD million, quantities tonnes.

Its tables, their columns, units and the comments the result workbook
shows are declared once in model/tables.py. Besides those tables:

- kpis: name -> value (objective_musd, expected_cost_musd, public_spend_musd,
  expected_shortfall_t, projects_funded, stockpile_acquired_t, evpi_musd,
  vss_musd, ...).
- shortfall_penalty: material -> shortfall_penalty_usd_per_t, so that
  `unmet_demand` can rank and word the largest unmet demands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# Outcomes of a solve, in a planner's words.
OPTIMAL = "optimal"
TIME_LIMIT_FEASIBLE = "time limit, plan found"
TIME_LIMIT_NO_PLAN = "time limit, no plan found"
INFEASIBLE = "infeasible"
UNBOUNDED = "unbounded"
FAILED = "solver failed"
UNRELIABLE = "numerically unreliable"  # the solver's answer fails the check against the model it was given
STOPPED_AT_GAP = "plan found, gap stated"  # progressive hedging stopped (gap, iterations or time) above the MIP gap

# Outcomes that carry a plan worth writing.
HAS_PLAN = (OPTIMAL, TIME_LIMIT_FEASIBLE, STOPPED_AT_GAP)


@dataclass
class Solution:
    """Everything a writer needs, as plain values and tables."""

    status: str
    message: str = ""
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    timings: dict[str, float] = field(default_factory=dict)  # read_s, build_s, handover_s, solve_s, duals_s, write_s
    options: dict[str, Any] = field(default_factory=dict)  # solver options actually used
    sizes: dict[str, int] = field(default_factory=dict)  # variables, binaries, constraints, nonzeros
    kpis: dict[str, Any] = field(default_factory=dict)
    breakdown: pd.DataFrame = field(default_factory=pd.DataFrame)
    portfolio: pd.DataFrame = field(default_factory=pd.DataFrame)
    aid: pd.DataFrame = field(default_factory=pd.DataFrame)
    funding: pd.DataFrame = field(default_factory=pd.DataFrame)
    supply: pd.DataFrame = field(default_factory=pd.DataFrame)
    stockpiles: pd.DataFrame = field(default_factory=pd.DataFrame)
    stockpile_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    dependence: pd.DataFrame = field(default_factory=pd.DataFrame)
    scenarios: pd.DataFrame = field(default_factory=pd.DataFrame)
    shortfall: pd.DataFrame = field(default_factory=pd.DataFrame)  # by step of the cost curve
    decisions: pd.DataFrame = field(default_factory=pd.DataFrame)  # the tree: one row per node and its decisions
    plan_now: list[str] = field(default_factory=list)  # "Decide now", in words
    plan_if: list[str] = field(default_factory=list)  # "If…": one line per branch of the tree
    shortfall_penalty: dict[str, float] = field(default_factory=dict)  # material -> shortfall_penalty_usd_per_t
    # who solved it: empty for the extensive form; under progressive hedging name (PH), ranks, iterations,
    # lower_musd and upper_musd (PH's bounds) and gap
    engine: dict[str, Any] = field(default_factory=dict)

    @property
    def has_plan(self) -> bool:
        return self.status in HAS_PLAN


def no_plan_reason(solution: Solution, options: dict[str, Any] | None = None) -> str:
    """Why a solve found no plan, as one plain sentence without a full stop; `options` are those the solve was given."""
    detail = f" ({solution.message})" if solution.message else ""
    if solution.status == INFEASIBLE:
        return "the case is infeasible: no plan meets every rule of the case" + detail
    if solution.status == UNBOUNDED:
        return ("the problem is unbounded: some cost can fall without limit, which usually means a price, cost or "
                "capacity is missing" + detail)
    if solution.status == TIME_LIMIT_NO_PLAN:
        limit = (options or {}).get("time_limit_s") or solution.options.get("time_limit_s")
        shown = f" ({limit:g} s)" if isinstance(limit, (int, float)) else ""
        return (f"the time limit{shown} ran out before any plan was found; allow more time with --time-limit "
                "(or time_limit_s on the Settings sheet), or accept a larger gap with --mip-rel-gap")
    if solution.status == UNRELIABLE:
        return "the solver's answer cannot be trusted" + detail
    return "the solver failed" + ("" if solution.status == FAILED else f" ({solution.status})") + detail


# ---------------------------------------------------------------- unmet demand in a planner's words

UNMET_LINES = 5  # at most this many unmet demands are spelled out; all of them are in the Supply table
_TINY_T = 1e-6  # tonnes below this are solver noise, not a shortfall


def unmet_demand(solution: Solution, limit: int = UNMET_LINES) -> tuple[list[str], int]:
    """The largest unmet member demands as sentences, and how many there are in all.

    One sentence per member, material, year and scenario, from the Supply table;
    a shortfall that is the same in every scenario is one sentence ("every
    scenario"). The largest are those that cost the plan most: probability x
    tonnes x shortfall penalty (tonnes x probability when the penalty is unknown).
    """
    sup = solution.supply
    need = {"scenario", "region", "material", "year", "demand_t", "shortfall_t"}
    if sup is None or not len(sup) or not need <= set(sup.columns):
        return [], 0
    short = sup[pd.to_numeric(sup["shortfall_t"], errors="coerce").fillna(0.0) > _TINY_T]
    sc = solution.scenarios
    probs = dict(zip(sc["scenario"], sc["probability"])) if len(sc) and {"scenario", "probability"} <= set(sc.columns) \
        else {s: 1.0 / sup["scenario"].nunique() for s in sup["scenario"].unique()}
    items = []
    for (n, mat, t), grp in short.groupby(["region", "material", "year"], sort=True):
        pen = solution.shortfall_penalty.get(mat, 1.0)
        rows = list(zip(grp["scenario"], grp["shortfall_t"], grp["demand_t"]))
        if len(probs) > 1 and len(rows) == len(probs) and _all_equal(rows):
            items.append((rows[0][1] * pen, n, mat, t, None, rows[0][1], rows[0][2]))
        else:
            items += [(probs.get(s, 1.0) * v * pen, n, mat, t, s, v, dem) for s, v, dem in rows]
    items.sort(key=lambda it: -it[0])  # stable: ties keep region, material, year order
    lines = [_unmet_sentence(solution, probs, *it[1:]) for it in items[:limit]]
    return lines, len(items)


def _all_equal(rows: list[tuple]) -> bool:
    first = rows[0]
    return all(abs(v - first[1]) <= 1e-6 * max(1.0, abs(first[1])) and abs(d - first[2]) <= 1e-6 * max(1.0, abs(first[2]))
               for _, v, d in rows)


def _tonnes(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _unmet_sentence(solution: Solution, probs: dict, n: str, mat: str, t: int, s: str | None, short: float,
                    demand: float) -> str:
    if s is None:
        where = " (every scenario)"
    elif len(probs) > 1:
        where = f" (scenario {s}, probability {100 * float(probs.get(s, 0.0)):.3g}%)"
    else:
        where = ""
    pen = solution.shortfall_penalty.get(mat)
    penalty = "the shortfall penalty" + (f" ({pen:,.0f} USD/t)" if pen is not None else "")
    part = "any" if short >= demand * (1 - 1e-9) else f"{_tonnes(short)} t"
    return (f"{n} cannot be supplied {part} of the {_tonnes(demand)} t of {mat} it needs in {int(t)}{where}: "
            f"no project, supply offer or stockpile reaches it within the case's budgets and rules for less than {penalty}")
