"""Benchmark the near-optimal alternatives search: rows handed to HiGHS in place against compiling the model again.

    python benchmarks/bench_alternatives.py [--case cases/base.xlsx] [--slack 0.05] [-n 3] [--time-limit 120]

Prints the model size, then per plan: seconds to hand the new rows (the
cost row and max w with plan 1; a distance row and a no-good cut each) to the
HiGHS model already built, seconds that compiling the grown Pyomo model
afresh and passing it to HiGHS would take instead (what a rebuild-free but
re-compiling search pays per plan), and the solve itself.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.case.load import load_case
from model.solve.alternatives import Search
from model.solve.highs import HighsRun


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="cases/base.xlsx")
    ap.add_argument("--slack", type=float, default=0.05)
    ap.add_argument("-n", "--count", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=120.0)
    args = ap.parse_args()
    case = load_case(args.case)
    search = Search(case, args.slack, args.count, {"time_limit_s": args.time_limit})
    t = search.result.timings
    if not search.solve_optimum():
        print(f"no optimum: {search.result.optimum.message}")
        return
    size = search.result.optimum.sizes
    print(f"case {case.name}: {size['variables']} variables ({size['binaries']} binary), {size['constraints']} rows; "
          f"build {t['build_s']:.2f} s, first hand-over {t['handover_s']:.2f} s, optimum solve {t['solve_s']:.2f} s")
    print(f"cost row and max w handed over in place: {t['cost_row_s']:.3f} s")
    print(f"{'plan':>4}  {'in place s':>10}  {'re-compile s':>12}  {'solve s':>8}  status")
    for k in range(1, args.count + 1):
        plan = search.next_plan()
        t0 = time.perf_counter()
        HighsRun(search.model, search.opts)  # the same grown model, compiled and passed from scratch
        recompile = time.perf_counter() - t0
        status = "not found: " + search.result.missing_status if plan is None else plan.solution.status
        print(f"{k:>4}  {t[f'plan_{k}_rows_s']:>10.3f}  {recompile:>12.2f}  {t[f'plan_{k}_solve_s']:>8.2f}  {status}")
        if plan is None:
            break


if __name__ == "__main__":
    main()
