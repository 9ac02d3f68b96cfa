"""The plain-table result of a solve: what every writer reads.

A `Solution` holds pandas tables and plain values only, extracted once from
the solved model; writers (result workbook, console, comparison, sweeps)
never touch Pyomo objects. Money is USD million, quantities tonnes.

Tables and their columns (one row per ...):

- breakdown: component -> value_musd. Expected present value of each
  objective part: capital, public_funds (mcpf deadweight), acquisitions,
  fixed_opex, variable_cost, external_purchases, transport, tariffs,
  holding, shortfall_penalty, stockpile_terminal_value (negative), cvar_term.
  They sum to `objective`.
- portfolio: project: name, region, status, output, capacity_tpy,
  capex_musd, fid_year (None if not funded), online_year (planned),
  aid_musd (total), public_share. Every candidate and committed project
  appears; `funded` is True when it goes ahead.
- aid: project, fund, year -> aid_musd (non-zero rows only).
- funding: fund, year: instrument, owner, budget_musd, aid_musd,
  acquisitions_musd, budget_use_musd (c_f-weighted), carry_in_musd,
  carry_out_musd, marginal_value (USD saved per extra USD of budget in
  that year, undiscounted), marginal_value_pv.
- supply: scenario, region, material, year: demand_t, from_projects_t,
  byproduct_t, external_t (bought at the region's own Supply offers),
  imports_ally_t, imports_partner_t, imports_concern_t, exports_t,
  stockpile_release_t, shortfall_t. Members only.
- stockpiles: scenario, stockpile, year: material, location, buy_t,
  release_t, inventory_t, capacity_t.
- stockpile_values: stockpile -> capacity_marginal_value_usd_per_t.
- dependence: scenario, region, material, year: consumption_t,
  concern_imports_t, concern_share, max_single_origin_share.
- scenarios: scenario: probability, cost_musd (Z_s, present value),
  shortfall_t, shortfall_cost_musd.
- kpis: name -> value (objective_musd, expected_cost_musd, public_spend_musd,
  expected_shortfall_t, projects_funded, stockpile_acquired_t, evpi_musd,
  vss_musd, ...).
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

# Outcomes that carry a plan worth writing.
HAS_PLAN = (OPTIMAL, TIME_LIMIT_FEASIBLE)


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

    @property
    def has_plan(self) -> bool:
        return self.status in HAS_PLAN
