"""OR-Library capacitated warehouse location instances as minplan case workbooks.

Beasley's instances (``cap41`` ... ``cap133``, shipped in
``tests/fixtures/orlib-cap``, copied from the shared benchmarks) are single-period,
multi-source capacitated facility location problems: open warehouses i (fixed
cost F_i, capacity Q_i) and split each customer j's demand d_j among open
warehouses, paying c_ij for serving *all* of j's demand from i, pro rata.

As a planning case (DESIGN.md, "The case workbook" and "Mathematics (v1)"):

- one year, one material ``good``; discount_rate 0, mcpf 0 (no funds);
- one candidate project ``W<i>`` per warehouse in its own non-member region
  ``W<i>`` (bloc partner), capacity_tpy = Q_i, lead_time_yr 0, life_yr 1, so
  crf(0, 1) = 1 and the capital charged in the year is exactly capex_musd;
- one member region ``C<j>`` per customer with demand_t = d_j;
- Routes: a ``* -> *`` row with allowed N (score 0) forbids every flow the
  instance does not have (in particular member-to-member forwarding, which
  would otherwise be allowed at zero cost), and one row per warehouse and
  customer (score 3) with transport_usd_per_t = c_ij / d_j, in the scaled
  unit below;
- shortfall_penalty_usd_per_t = P with P > Σ_i F_i + max_ij c_ij / d_j, so
  shortfall is never optimal: if an optimum left s > 0 tonnes short while the
  open capacity covers the demand, sending s tonnes through spare capacity
  costs at most s·max c/d < s·P; if the open capacity falls short, then
  s ≥ 1 (capacities and demands are whole tonnes) and opening every other
  warehouse and serving s costs at most Σ F + s·max c/d < s·P.

Units. The instances' cost unit is read as USD 1,000 (`COST_UNIT_USD`):
capex_musd = F_i / 1000, and transport_usd_per_t = 1000 · c_ij / d_j, which
the model divides by 10^6. The objective in USD m is then the published cost
divided by 1000 (~1e3), and the matrix and cost coefficients stay within the
range DESIGN.md's "Numerics" asks for: capacities up to 58,268 t, fixed costs
0..25 USD m, per-tonne transport 0..0.12 USD m/t, the penalty ~1e3 USD m/t.
Reading the unit as USD instead would put the objective near 1 USD m and the
transport coefficients near 1e-5..1e-4 (below HiGHS's comfortable range, and
the default absolute MIP gap of 1e-6 would then be a relative 1e-6); reading
it as USD m would push the penalty past 1e6.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from model.case.writer import write_case

REPO_ROOT = Path(__file__).resolve().parents[1]
COST_UNIT_USD = 1000.0  # one OR-Library cost unit, in USD
MATERIAL = "good"
YEAR = 2026


def benchmark_dir() -> Path:
    """The OR-Library instances and published optima, kept with the tests (tests/fixtures/orlib-cap, a copy of
    the project's shared benchmarks) so that a clone runs its tests with nothing beside it."""
    return REPO_ROOT / "tests" / "fixtures" / "orlib-cap"


@dataclass(frozen=True)
class Instance:
    """One OR-Library capacitated warehouse location instance (cost[j][i]: all of customer j from warehouse i)."""

    name: str
    capacity: tuple[float, ...]
    fixed_cost: tuple[float, ...]
    demand: tuple[float, ...]
    cost: tuple[tuple[float, ...], ...]

    @property
    def warehouses(self) -> int:
        return len(self.capacity)

    @property
    def customers(self) -> int:
        return len(self.demand)


def read_instance(path: str | Path) -> Instance:
    """Parse an OR-Library ``cap*.txt`` file: m n; m × (capacity fixed_cost); n × (demand, m costs)."""
    path = Path(path)
    tokens = path.read_text().split()
    m, n = int(tokens[0]), int(tokens[1])
    pos = 2
    capacity, fixed = [], []
    for _ in range(m):
        capacity.append(float(tokens[pos]))
        fixed.append(float(tokens[pos + 1]))
        pos += 2
    demand, cost = [], []
    for _ in range(n):
        demand.append(float(tokens[pos]))
        cost.append(tuple(float(x) for x in tokens[pos + 1 : pos + 1 + m]))
        pos += 1 + m
    if pos != len(tokens):
        raise ValueError(f"{path}: {len(tokens) - pos} tokens left after {m} warehouses and {n} customers")
    return Instance(path.stem, tuple(capacity), tuple(fixed), tuple(demand), tuple(cost))


@dataclass(frozen=True)
class Published:
    """One row of optima.csv: the instance's size and its published optimal cost (its own cost unit)."""

    warehouses: int
    customers: int
    optimal_cost: float


def read_optima() -> dict[str, Published]:
    """instance -> its row of optima.csv (OR-Library's capopt)."""
    with open(benchmark_dir() / "optima.csv", newline="") as fh:
        return {
            row["instance"]: Published(int(row["warehouses"]), int(row["customers"]), float(row["optimal_cost"]))
            for row in csv.DictReader(fh)
        }


def shortfall_penalty(inst: Instance) -> float:
    """A per-tonne penalty (instance cost unit) above Σ F + max c/d: shortfall never pays (module docstring)."""
    worst = max(c / d for row, d in zip(inst.cost, inst.demand) if d > 0 for c in row)
    return math.ceil(sum(inst.fixed_cost) + worst + 1.0)


def case_sheets(inst: Instance, mip_rel_gap: float = 1e-9) -> tuple[dict, dict]:
    """(settings, sheets) of the planning case equivalent to the instance (module docstring)."""
    k = COST_UNIT_USD
    settings = {
        "case_name": inst.name,
        "description": f"OR-Library capacitated warehouse location instance {inst.name}",
        "start_year": YEAR,
        "end_year": YEAR,
        "discount_rate": 0,
        "mcpf": 0,
        "risk_weight": 0,
        "mip_rel_gap": mip_rel_gap,
    }
    wh = [f"W{i + 1}" for i in range(inst.warehouses)]
    cu = [f"C{j + 1}" for j in range(inst.customers)]
    regions = [{"region": w, "bloc": "partner", "member": "N"} for w in wh]
    regions += [{"region": c, "bloc": "ally", "member": "Y"} for c in cu]
    materials = [{"material": MATERIAL, "stage": "product", "price_usd_per_t": 0,
                  "shortfall_penalty_usd_per_t": shortfall_penalty(inst) * k}]
    demand = [{"region": c, "material": MATERIAL, "year": YEAR, "demand_t": d} for c, d in zip(cu, inst.demand)]
    projects = [
        {"project": w, "region": w, "status": "candidate", "output": MATERIAL, "capacity_tpy": q,
         "capex_musd": f * k / 1e6, "lead_time_yr": 0, "life_yr": 1}
        for w, q, f in zip(wh, inst.capacity, inst.fixed_cost)
    ]
    routes = [{"origin": "*", "destination": "*", "allowed": "N"}]
    for j, (c, d) in enumerate(zip(cu, inst.demand)):
        for i, w in enumerate(wh):
            routes.append({"origin": w, "destination": c, "material": MATERIAL,
                           "transport_usd_per_t": inst.cost[j][i] / d * k if d > 0 else 0.0, "allowed": "Y"})
    sheets = {"Regions": regions, "Materials": materials, "Demand": demand, "Projects": projects, "Routes": routes}
    return settings, sheets


def write_instance_case(inst: Instance, path: str | Path, mip_rel_gap: float = 1e-9) -> Path:
    """Write the instance as a case workbook at `path`."""
    settings, sheets = case_sheets(inst, mip_rel_gap)
    return write_case(path, settings, sheets)


def to_instance_cost(objective_musd: float) -> float:
    """A case objective (USD m) in the instance's cost unit, to compare with optima.csv."""
    return objective_musd * 1e6 / COST_UNIT_USD
