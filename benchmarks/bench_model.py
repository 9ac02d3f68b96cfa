"""Benchmark the model on synthetic cases of growing size.

    python benchmarks/bench_model.py [--sizes small,medium,target] [--time-limit 120] [--contrib]

Prints, per size: variables, binaries, constraints, nonzeros, and the seconds
spent reading the workbook, building the Pyomo model, handing it to HiGHS,
solving, and writing the result workbook (when model.results.write is present).
`--contrib` also times the hand-over through Pyomo's contrib HiGHS interface
on the same model, for comparison with the standard-form compiler used here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic import write_synthetic
from model.case.load import load_case
from model.formulation import build_model
from model.solve.extract import extract
from model.solve.highs import HighsRun

SIZES = {  # projects, materials, regions, years, scenarios
    "tiny": {"n_projects": 10, "n_materials": 4, "n_regions": 6, "n_years": 10, "n_scenarios": 2},
    "small": {"n_projects": 30, "n_materials": 6, "n_regions": 8, "n_years": 15, "n_scenarios": 4},
    "medium": {"n_projects": 60, "n_materials": 9, "n_regions": 10, "n_years": 20, "n_scenarios": 6},
    "target": {"n_projects": 100, "n_materials": 10, "n_regions": 12, "n_years": 20, "n_scenarios": 10},
    "large": {"n_projects": 200, "n_materials": 12, "n_regions": 16, "n_years": 25, "n_scenarios": 20},
}


def contrib_handover(model, time_limit: float = 0.01) -> float:
    """Seconds for the contrib HiGHS interface to take the model and return (HiGHS stopped almost at once)."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    solver = SolverFactory("highs")
    t0 = time.perf_counter()
    solver.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                 solver_options={"time_limit": time_limit, "output_flag": False})
    return time.perf_counter() - t0


def bench(name: str, size: dict, folder: Path, options: dict, contrib: bool) -> dict:
    path = write_synthetic(folder / f"{name}.xlsx", **size)
    row = {"size": name}
    t0 = time.perf_counter()
    case = load_case(path)
    row["read_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = build_model(case)
    row["build_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = HighsRun(model, options)
    row["handover_s"] = time.perf_counter() - t0
    row.update(run.sizes)
    out = run.run()
    row["solve_s"], row["status"], row["gap"] = out.seconds, out.status, out.gap
    if contrib:
        row["contrib_handover_s"] = contrib_handover(model)
    row["write_s"] = _write(case, model, run, out, folder / f"{name}_result.xlsx")
    return row


def _write(case, model, run, out, path: Path) -> float | None:
    try:
        from model.results.write import write_result
    except ImportError:
        return None
    if not out.status.startswith(("optimal", "time limit, plan")):
        return None
    run.load()
    solution = extract(model, out, {})
    t0 = time.perf_counter()
    write_result(path, case, solution, force=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="tiny,small,medium,target")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--contrib", action="store_true")
    args = ap.parse_args()
    options = {"time_limit_s": args.time_limit, "mip_rel_gap": args.gap, "threads": 1, "random_seed": 0}
    cols = ["size", "variables", "binaries", "constraints", "nonzeros", "read_s", "build_s", "handover_s", "solve_s",
            "write_s", "contrib_handover_s", "status", "gap"]
    print("  ".join(f"{c:>12}" for c in cols))
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sizes.split(","):
            row = bench(name, SIZES[name], Path(tmp), options, args.contrib)
            print("  ".join(f"{_fmt(row.get(c)):>12}" for c in cols), flush=True)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


if __name__ == "__main__":
    main()
