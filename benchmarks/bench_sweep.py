"""Time a 16-variant sweep with one worker and with several, side by side, and print the speed-up.

    python benchmarks/bench_sweep.py [--size micro] [--jobs 1,2] [--no-evpi]

The case is synthetic (benchmarks/synthetic.py). The sweep varies every
fund's budget (×0.5, 1, 1.5, 2) and every shortfall penalty (×0.5, 1, 2, 4):
16 variants, each solved and written to its own result workbook, exactly as
`minplan sweep` does. The worker server is started once before the timings
(it loads the solver modules once per machine session of the command), so
every timed run pays the same start-up. Also checks that every run gives the
same objectives, and prints the machine's load average: the speed-up can
only show when the cores are not busy with other work.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthetic import write_synthetic
from model.case.load import load_case
from model.sweep.engine import run_sweep

SIZES = {  # projects, materials, regions, years, scenarios
    "micro": {"n_projects": 8, "n_materials": 3, "n_regions": 5, "n_years": 8, "n_scenarios": 2},
    "tiny": {"n_projects": 10, "n_materials": 4, "n_regions": 6, "n_years": 10, "n_scenarios": 2},
    "small": {"n_projects": 30, "n_materials": 6, "n_regions": 8, "n_years": 15, "n_scenarios": 4},
}
VARIES = ["Budgets.budget_musd*=0.5,1,1.5,2", "Materials.shortfall_penalty_usd_per_t*=0.5,1,2,4"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="micro", choices=sorted(SIZES))
    parser.add_argument("--jobs", default="1,2", help="comma list of worker counts to time")
    parser.add_argument("--no-evpi", action="store_true", help="skip EVPI and VSS (fewer solves per variant)")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    options = {"evpi_vss": False} if args.no_evpi else {}
    print(f"case size {args.size} {SIZES[args.size]}; {os.cpu_count()} cores; load average {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        case = load_case(write_synthetic(folder / f"{args.size}.xlsx", **SIZES[args.size]))
        run_sweep(case, ["Settings.mcpf=0.2"], folder / "warm", jobs=1, options=options)  # start the worker server
        seconds, objectives = {}, {}
        for j in jobs:
            t0 = time.perf_counter()
            out = run_sweep(case, VARIES, folder / f"j{j}", jobs=j, options=options)
            seconds[j] = time.perf_counter() - t0
            objectives[j] = [r["objective_musd"] for r in out.rows]
            statuses = sorted({r["status"] for r in out.rows})
            print(f"-j {j}: {len(out.rows)} variants in {seconds[j]:6.1f} s  ({seconds[j] / len(out.rows):.2f} s each; "
                  f"status: {', '.join(statuses)})")
    print(f"load average after: {_load()}")
    base = jobs[0]
    for j in jobs[1:]:
        same = objectives[j] == objectives[base]
        print(f"speed-up -j {j} over -j {base}: {seconds[base] / seconds[j]:.2f}x  (same objectives: {'yes' if same else 'NO'})")


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
