"""Published optima of Beasley's capacitated warehouse location instances, through the ordinary workbook path.

Each OR-Library instance is written as a case workbook (`tests/orlib.py` says
how, and why its units keep the coefficients sane), solved by
`python cli.py solve CASE -o OUT` in a subprocess, and the objective read back
from the result workbook's Summary sheet must equal the published optimum
(optima.csv) to 1e-6 relative, with mip_rel_gap 1e-9 in the case's Settings.
"""

from __future__ import annotations

import math

import pytest
from openpyxl import load_workbook

from tests.conftest import run_cli
from tests.orlib import benchmark_dir, read_instance, read_optima, to_instance_cost, write_instance_case

OPTIMA = read_optima()


def summary_objective_musd(path) -> float:
    """The objective on the result's Summary table (columns section, item, value, unit; row item 'objective')."""
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = wb["Summary"].iter_rows(values_only=True)
        header = [str(h) for h in next(rows)]
        item, value, unit = header.index("item"), header.index("value"), header.index("unit")
        found = [(r[value], r[unit]) for r in rows if r[item] == "objective"]
    finally:
        wb.close()
    assert len(found) == 1, f"expected one 'objective' row on the Summary sheet of {path}, found {len(found)}"
    (v, u), = found
    assert u == "USD m", f"objective unit is {u!r}"
    return float(v)


def sheet_column_total(path, sheet: str, column: str) -> float:
    """Sum of a numeric column of a plain result table (header at A1)."""
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = wb[sheet].iter_rows(values_only=True)
        header = [str(h) for h in next(rows)]
        j = header.index(column)
        return sum(float(r[j]) for r in rows if r[j] is not None)
    finally:
        wb.close()


def test_all_ten_published_instances_are_found():
    """The benchmark folder is located beside the repository and holds the ten instances with their optima."""
    assert len(OPTIMA) == 10
    for name in OPTIMA:
        inst = read_instance(benchmark_dir() / f"{name}.txt")
        assert (inst.warehouses, inst.customers) == (OPTIMA[name].warehouses, OPTIMA[name].customers)


def test_converted_case_keeps_the_instance_cost_structure():
    """Per-route transport times demand gives back c_ij, and capex gives back F_i, in the instance's cost unit.

    transport_usd_per_t = 1000·c_ij/d_j and the model charges transport/1e6 per
    tonne, so serving all of d_j costs 1000·c_ij/1e6 USD m = c_ij/1000 USD m,
    which `to_instance_cost` turns back into c_ij; likewise capex_musd·crf(0,1).
    """
    from tests.orlib import case_sheets

    inst = read_instance(benchmark_dir() / "cap41.txt")
    _, sheets = case_sheets(inst)
    route = next(r for r in sheets["Routes"] if r["origin"] == "W3" and r["destination"] == "C2")
    assert to_instance_cost(route["transport_usd_per_t"] / 1e6 * inst.demand[1]) == pytest.approx(inst.cost[1][2], rel=1e-12)
    project = next(p for p in sheets["Projects"] if p["project"] == "W1")
    assert to_instance_cost(project["capex_musd"]) == pytest.approx(inst.fixed_cost[0], rel=1e-12)
    assert (project["lead_time_yr"], project["life_yr"]) == (0, 1)


@pytest.mark.parametrize("name", sorted(OPTIMA, key=lambda n: (len(n), n)))
def test_cli_reproduces_published_optimum(name, tmp_path):
    """The case built from OR-Library instance `name`, solved by the CLI, costs exactly the published optimum.

    Objective (USD m) = Σ_i capex_i·crf(0,1)·fid_i + Σ_ij transport_ij/1e6·ship_ij
    (no other term is non-zero: mcpf 0, no funds, prices 0, shortfall never
    optimal by the penalty's construction) = (Σ F_i y_i + Σ c_ij x_ij)/1000,
    the instance's cost in its own unit divided by 1000.
    """
    inst = read_instance(benchmark_dir() / f"{name}.txt")
    case = write_instance_case(inst, tmp_path / f"{name}.xlsx", mip_rel_gap=1e-9)
    out = tmp_path / f"{name}-result.xlsx"
    proc = run_cli("solve", case, "-o", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    objective = summary_objective_musd(out)
    assert math.isfinite(objective)
    assert to_instance_cost(objective) == pytest.approx(OPTIMA[name].optimal_cost, rel=1e-6)
    assert sheet_column_total(out, "Supply", "shortfall_t") == pytest.approx(0.0, abs=1e-6)
