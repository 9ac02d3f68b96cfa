"""Extensive form against progressive hedging on a generated scenario family of the shipped base case.

    python benchmarks/bench_ph.py [--sizes 10,100,1000] [--ranks 1,3,6] [--limit 1200]

Each size is a seeded sample of distinct combinations of independent events
(export bans by China on rare earths, gallium and germanium, graphite,
antimony and tungsten, lithium; their start year, length and depth; a magnet
price shock), written as a variant of cases/base.xlsx (Settings base_case)
with decisions = adaptive. Every run is a fresh `minplan solve` process with a
wall-time limit; it prints wall time, the peak resident memory of the
largest process (for PH: the largest rank, which is rank 0 as it recomputes
the plan in the extensive form), iterations, the objective and the gap the
result workbook states. A run that does not finish within the limit says so.
Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.case.writer import write_case

CN_BANS = {  # event -> (materials, options: start year or None, with probability)
    "ree": (("ndpr_oxide", "dytb_oxide", "ndpr_metal", "ndfeb_magnet"), ((None, 0.5), (2027, 0.25), (2029, 0.25))),
    "gage": (("gallium", "germanium"), ((None, 0.4), (2026, 0.3), (2028, 0.3))),
    "graphite": (("nat_graphite", "anode_graphite"), ((None, 0.6), (2027, 0.2), (2030, 0.2))),
    "sbw": (("antimony", "tungsten"), ((None, 0.7), (2028, 0.3))),
    "lithium": (("li_chem",), ((None, 0.8), (2029, 0.2))),
}
LENGTH = ((2, 0.5), (5, 0.5))  # years a ban lasts
DEPTH = ((0.5, 0.5), (1.0, 0.5))  # fraction of China's supply cut
MAGNET_PRICE = ((1.0, 0.7), (1.5, 0.3))  # world price multiplier on magnets while a rare-earth ban lasts


def family(n: int, seed: int = 0) -> list[tuple[str, float, list[dict]]]:
    """n distinct scenarios (name, probability, Disruptions rows), probabilities renormalised over the sample."""
    events = [[(e, start, p) for start, p in opts] for e, (_, opts) in CN_BANS.items()]
    combos = list(itertools.product(*events, LENGTH, DEPTH, MAGNET_PRICE))
    picked = random.Random(seed).sample(combos, n) if n < len(combos) else combos
    out = []
    for i, combo in enumerate(picked):
        *bans, (length, pl), (depth, pd), (shock, ps) = combo
        prob = pl * pd * ps
        rows = []
        for event, start, p in bans:
            prob *= p
            if start is None:
                continue
            for m in CN_BANS[event][0]:
                rows.append({"kind": "supply_cut", "target": "CN", "material": m, "start_year": start,
                             "end_year": min(2040, start + length - 1), "magnitude": depth})
            if event == "ree" and shock != 1.0:
                rows.append({"kind": "price_shock", "target": "*", "material": "ndfeb_magnet", "start_year": start,
                             "end_year": min(2040, start + length - 1), "magnitude": shock})
        out.append((f"s{i:04d}", prob, rows))
    total = sum(p for _, p, _ in out)
    return [(s, p / total, rows) for s, p, rows in out]


def write_family(path: Path, n: int, seed: int = 0) -> Path:
    """The family as a variant of the base case: its Settings, Scenarios and Disruptions sheets only."""
    scen = family(n, seed)
    settings = {"case_name": f"base_family_{n}", "base_case": str(ROOT / "cases" / "base.xlsx"), "start_year": 2026,
                "end_year": 2040, "max_nodes": 1_000_000}
    sheets = {"Scenarios": [{"scenario": s, "probability": p} for s, p, _ in scen],
              "Disruptions": [{"scenario": s, **r} for s, _, rows in scen for r in rows]}
    return write_case(path, settings, sheets)


WRAP = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stderr.write(r.stderr[-2000:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


def run(case: Path, out: Path, limit: float, ranks: int | None) -> dict:
    cmd = [sys.executable, str(ROOT / "cli.py"), "solve", str(case), "-o", str(out), "--force"]
    if ranks:
        cmd += ["--engine", "ph", "--ranks", str(ranks), "--time-limit", str(max(10.0, 0.6 * limit))]
    cmd.append("--no-kpis")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", WRAP, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # its own process group: a timeout stops every rank
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"wall": time.perf_counter() - t0, "note": f"did not finish within {limit:.0f} s"}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"wall": wall, "note": (stderr.strip().splitlines() or ["failed"])[-1].removeprefix("error: ")[-150:]}
    wb = openpyxl.load_workbook(out, read_only=True)
    summary = {(r[0], r[1]): r[2] for r in wb["Summary"].iter_rows(values_only=True)}
    wb.close()
    return {"wall": wall, "rss_mb": int(stdout.split()[-1]) / 1024, "objective": summary[("outcome", "objective")],
            "gap": summary[("outcome", "relative gap")], "iterations": summary.get(("outcome", "PH iterations"), "-")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--ranks", default="1,3,6", help="PH rank counts (1 or multiples of 3); 0 = the extensive form")
    ap.add_argument("--limit", type=float, default=1200, help="wall-time limit of each run, seconds")
    args = ap.parse_args()
    print(f"{'scenarios':>9}  {'engine':<10}  {'wall s':>8}  {'peak MB':>8}  {'iters':>5}  {'objective':>14}  {'gap':>8}  note")
    with tempfile.TemporaryDirectory() as tmp:
        for n in map(int, args.sizes.split(",")):
            case = write_family(Path(tmp) / f"family_{n}.xlsx", n)
            for ranks in [0, *map(int, args.ranks.split(","))]:
                r = run(case, Path(tmp) / f"out_{n}_{ranks}.xlsx", args.limit, ranks or None)
                engine = "EF" if not ranks else f"PH x{ranks}"
                obj = f"{r['objective']:,.1f}" if "objective" in r else "-"
                gap = f"{r['gap']:.3%}" if isinstance(r.get("gap"), (int, float)) else "-"
                mb = f"{r['rss_mb']:.0f}" if "rss_mb" in r else "-"
                print(f"{n:>9}  {engine:<10}  {r['wall']:>8.1f}  {mb:>8}  {r.get('iterations', '-')!s:>5}  {obj:>14}  "
                      f"{gap:>8}  {r.get('note', '')}", flush=True)


if __name__ == "__main__":
    main()
