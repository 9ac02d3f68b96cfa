"""Time every shipped case: read, build, hand-over, main solve, duals and the EVPI/VSS/value-of-adapting solves.

    python benchmarks/bench_shipped.py [CASE ...] [--no-kpis]

Prints one line per case (cases/<name>.xlsx; every shipped case when none is
named): scenarios, tree nodes, variables, binaries, constraints, status, gap,
and the seconds spent in each stage, so a slow case shows where its time
goes. The aim is under 30 s per case for the main solve on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.case.load import load_case
from model.solve.solver import solve_case

CASES = ROOT / "cases"
NOT_SHIPPED = {"example"}  # the template-sized example is not one of the sourced cases


def shipped() -> list[str]:
    """Names of the shipped cases, base first."""
    names = sorted(p.stem for p in CASES.glob("*.xlsx") if p.stem not in NOT_SHIPPED)
    return sorted(names, key=lambda n: n != "base")


def bench(name: str, kpis: bool) -> dict:
    """Solve cases/<name>.xlsx once and return its figures."""
    t0 = time.perf_counter()
    case = load_case(CASES / f"{name}.xlsx")
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = solve_case(case, {"evpi_vss": kpis})
    total_s = time.perf_counter() - t0
    return {"case": name, "scenarios": len(case.scenarios), "nodes": s.kpis.get("scenario_tree_nodes"),
            "variables": s.sizes.get("variables"), "binaries": s.sizes.get("binaries"),
            "constraints": s.sizes.get("constraints"), "status": s.status, "gap": s.gap, "read_s": read_s,
            **{k: s.timings.get(k) for k in ("build_s", "handover_s", "solve_s", "duals_s", "evpi_vss_s")},
            "total_s": total_s}


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2e}" if 0 < abs(v) < 0.01 else f"{v:.1f}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    """Benchmark the named (or every) shipped case and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", help="case names (default: every shipped case)")
    ap.add_argument("--no-kpis", action="store_true", help="skip the EVPI, VSS and value-of-adapting solves")
    args = ap.parse_args(argv)
    cols = ("case", "scenarios", "nodes", "variables", "binaries", "constraints", "status", "gap", "read_s", "build_s",
            "handover_s", "solve_s", "duals_s", "evpi_vss_s", "total_s")
    print("\t".join(cols), flush=True)
    for name in args.cases or shipped():
        row = bench(name, not args.no_kpis)
        print("\t".join(_fmt(row[c]) for c in cols), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
