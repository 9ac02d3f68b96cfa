"""Is minplan's own work linear in the number of scenarios? Build, compile, hand-over and peak memory.

    python benchmarks/bench_scaling.py [--scenarios 1,5,10,20,50] [--size medium]

For each scenario count, a fresh process generates the synthetic case of that
size (benchmarks/synthetic.py: same projects, materials, regions and years,
only the scenario count changes), loads it, builds the Pyomo model, runs
Pyomo's standard-form compiler alone once (the floor while the model is a
Pyomo model), then hands the model to HiGHS as a solve would (compile + pass),
and reports its columns, rows, nonzeros, the seconds of each step and the
process's peak resident memory. Nothing is solved.

Then, for build time, build + hand-over time and peak memory, it fits
y = a + b·n by least squares and prints the slope b (per scenario), the
intercept a, and the worst ratio of a measured point to the fitted line
(1.00 = exactly linear; a cost growing faster than linear shows as a ratio
well above 1 at the largest n). The per-scenario column count is printed too,
since the tree's size, not the scenario count, is what the model grows with.
Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {  # projects, materials, regions, years (the scenario count is the varied parameter)
    "small": {"n_projects": 30, "n_materials": 6, "n_regions": 8, "n_years": 15},
    "medium": {"n_projects": 60, "n_materials": 9, "n_regions": 10, "n_years": 20},
    "target": {"n_projects": 100, "n_materials": 10, "n_regions": 12, "n_years": 20},
}


def child(size: str, n: int, folder: Path) -> dict:
    """Measure one scenario count in this process (called through --child)."""
    import pyomo.environ as pyo
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    from benchmarks.synthetic import write_synthetic
    from model.case.load import load_case
    from model.formulation import build_model
    from model.solve.highs import HighsRun

    warm = pyo.ConcreteModel()  # the compiler's first call pays one-off set-up: take it outside the timings
    warm.x = pyo.Var(bounds=(0, 1))
    warm.c = pyo.Constraint(expr=warm.x <= 1)
    warm.o = pyo.Objective(expr=warm.x)
    LinearStandardFormCompiler().write(warm, mixed_form=True)
    path = write_synthetic(folder / f"scaling_{n}.xlsx", **SIZES[size], n_scenarios=n)
    case = load_case(path)
    t0 = time.perf_counter()
    model = build_model(case)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    LinearStandardFormCompiler().write(model, mixed_form=True)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = HighsRun(model, {})
    handover = time.perf_counter() - t0
    return {"n": n, "scenarios": len(model.data.scenarios), "nodes": model.data.tree.count(), **run.sizes,
            "nonzeros": int(run.a.nnz), "build_s": build, "compile_s": compile_s, "handover_s": handover,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """(intercept, slope, worst ratio of a point to the least-squares line y = a + b·x).

    The worst ratio is taken over the points whose fitted value is at least a tenth of the largest one: below
    that, a fixed cost of a fraction of a second makes any ratio large without saying anything about growth.
    """
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    a = my - b * mx
    top = max(a + b * x for x in xs)
    ratios = [y / (a + b * x) for x, y in zip(xs, ys) if a + b * x >= 0.1 * top > 0]
    worst = max(ratios, key=lambda r: abs(r - 1.0)) if ratios else float("nan")
    return a, b, worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="1,5,10,20,50")
    ap.add_argument("--size", default="medium", choices=sorted(SIZES))
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.size, args.child, args.folder)))
        return
    counts = [int(x) for x in args.scenarios.split(",")]
    rows = []
    print(f"synthetic case '{args.size}' {SIZES[args.size]}, scenarios {counts}; one fresh process each")
    head = ("n", "nodes", "variables", "constraints", "nonzeros", "build_s", "compile_s", "handover_s", "peak_mb")
    print("\t".join(head))
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            out = subprocess.run([sys.executable, __file__, "--size", args.size, "--child", str(n), "--folder", tmp],
                                 capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{n}\tfailed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(r)
            print("\t".join(f"{r[k]:.2f}" if isinstance(r[k], float) else str(r[k]) for k in head), flush=True)
    if len(rows) < 3:
        print("fewer than three sizes measured: no fit")
        return
    xs = [float(r["n"]) for r in rows]
    print("\nfit y = a + b·n over the measured counts")
    for label, ys in (("build s", [r["build_s"] for r in rows]),
                      ("build + hand-over s", [r["build_s"] + r["handover_s"] for r in rows]),
                      ("compiler alone s", [r["compile_s"] for r in rows]),
                      ("peak memory MB", [r["peak_mb"] for r in rows]),
                      ("columns", [float(r["variables"]) for r in rows])):
        a, b, worst = fit(xs, ys)
        per = ", ".join(f"{y / x:,.3g}" for x, y in zip(xs, ys))
        print(f"  {label:22s} slope {b:12,.3f} per scenario   intercept {a:12,.3f}   worst ratio to linear {worst:.2f}"
              f"   per scenario at each n: {per}")
    ratio = [(r["build_s"] + r["handover_s"]) / r["compile_s"] for r in rows if r["compile_s"] > 0]
    print(f"  (build + hand-over) / compiler alone: {min(ratio):.2f} to {max(ratio):.2f}")


if __name__ == "__main__":
    main()
