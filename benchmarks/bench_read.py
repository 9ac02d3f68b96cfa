"""How long a large case workbook takes to load: read, parse, validate, build the Case.

Generates a valid case of about 10,000 rows across its sheets (30 regions,
15 materials, 25 years, 500 projects, 60 funds, 20 scenarios), then times
`load_case` and each of its stages, and prints the medians of several runs:

    python benchmarks/bench_read.py [--rows-scale 1.0] [--runs 7] [--keep PATH]

With `--transport W,C,Y` it times bench_transport's case instead: W non-member
warehouses, C member customers and Y years, so W·C Routes rows (50,2000,5 gives
100,000 Routes rows, 10,000 Demand rows and 250 Supply rows).

With `--against DIR` it also times `load_case` of the same workbook with the
code of another checkout DIR (a `git worktree add DIR <commit>`), side by side:
in each of `--pairs` pairs the two run at about the same time (each loads the
workbook once before it starts timing), each process on a core of its own (the
cores swap from pair to pair), so that both see the same host.
It prints each pair's medians and their ratio: on a shared machine whose speed
drifts by a fifth from minute to minute, only such ratios are worth quoting.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import Workbook

from model.case import schema as S
from model.case.load import build_case, load_case
from model.case.reader import read_case
from model.case.validate import validate
from model.problems import Problems
from model.workbook.read import read_book

START, YEARS = 2026, 25


def generate(scale: float = 1.0) -> dict[str, list[dict]]:
    """A valid case of about 10,000 rows at scale 1 (deterministic)."""
    n_mem, n_other, n_mat = 10, 20, 15
    end = START + YEARS - 1
    members = [f"M{i:02d}" for i in range(n_mem)]
    others = [f"R{i:02d}" for i in range(n_other)]
    mats = [f"mat{i:02d}" for i in range(n_mat)]
    years = range(START, end + 1)
    sheets: dict[str, list[dict]] = {
        "Regions": [{"region": r, "bloc": "ally", "member": "Y"} for r in members]
        + [{"region": r, "bloc": ("concern" if i % 5 == 0 else "partner"), "member": "N"} for i, r in enumerate(others)],
        "Materials": [{"material": m, "stage": S.STAGES[i % len(S.STAGES)], "price_usd_per_t": 1000 + 100 * i,
                       "shortfall_penalty_usd_per_t": 10000} for i, m in enumerate(mats)],
    }
    sheets["Demand"] = [{"region": r, "material": m, "year": y, "demand_t": 100 + (hash((r, m, y)) % 50)}
                        for r in members for m in mats[: int(15 * scale)] for y in years]
    n_proj = int(500 * scale)
    sheets["Projects"] = [
        {"project": f"p{i:04d}", "region": (members + others)[i % 30], "status": ("candidate", "existing", "committed")[(i // 30) % 3],
         "output": mats[i % n_mat], "capacity_tpy": 500, "capex_musd": 100, "lead_time_yr": 1 + i % 4,
         "fid_year": START + (i % 5) if (i // 30) % 3 == 2 else None, "source": "benchmark"}
        for i in range(n_proj)
    ]
    sheets["Recipes"] = [{"project": f"p{i:04d}", "material": mats[(i + 1) % n_mat], "role": "input", "t_per_t": 1.2}
                         for i in range(n_proj)]
    sheets["Dependencies"] = [{"project": f"p{i:04d}", "relation": "requires", "other": f"p{i + 3:04d}", "lag_yr": 1}
                              for i in range(n_proj - 3) if (i // 30) % 3 == 0 and i % 4 == 0]
    funds = [f"f{i:02d}" for i in range(60)]
    sheets["Funds"] = [{"fund": f, "owner": members[i % n_mem], "instrument": "grant", "eligible_regions": "domestic"}
                       for i, f in enumerate(funds)]
    sheets["Budgets"] = [{"fund": f, "year": y, "budget_musd": 50} for f in funds for y in years]
    sheets["Supply"] = [{"origin": o, "material": m, "year": y, "max_t": 1000, "price_usd_per_t": 1500}
                        for o in others[: int(8 * scale)] for m in mats for y in years]
    sheets["Routes"] = [{"origin": o, "destination": d, "transport_usd_per_t": 20} for o in others for d in members]
    sheets["Stockpiles"] = [{"stockpile": f"k{i}", "owner": members[i % n_mem], "location": members[i % n_mem],
                             "material": mats[i % n_mat], "capacity_t": 1000} for i in range(50)]
    sheets["Scenarios"] = [{"scenario": f"s{i}", "probability": 0.05} for i in range(20)]
    sheets["Disruptions"] = [{"scenario": f"s{i % 20}", "kind": "supply_cut", "target": others[i % 8],
                              "material": mats[i % 10], "start_year": START + 2 + i // 20, "magnitude": 0.5}
                             for i in range(100)]
    sheets["Policies"] = [{"region": r, "material": m, "year_from": START, "max_concern_share": 0.5}
                          for r in members for m in mats]
    return sheets


def write(path: Path, sheets: dict[str, list[dict]]) -> Path:
    """Write quickly (write-only mode): writing is not what is measured."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Settings")
    ws.append(["key", "value"])
    for k, v in {"case_name": "bench", "start_year": START, "end_year": START + YEARS - 1}.items():
        ws.append([k, v])
    for name, rows in sheets.items():
        cols = [c.name for c in S.SHEET[name].columns if any(c.name in r for r in rows)] + ["source"]
        ws = wb.create_sheet(name)
        ws.append(cols)
        for r in rows:
            ws.append([r.get(c) for c in cols])
    wb.save(path)
    return path


def _time(fn, runs: int) -> tuple[tuple[float, float], object]:
    """Median wall-clock and CPU seconds of `fn` over `runs` calls, and its last result."""
    wall, cpu, out = [], [], None
    for _ in range(runs):
        out = None  # the previous run's result is freed and collected before the clock starts
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return (statistics.median(wall), statistics.median(cpu)), out


def stages(path: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each stage, and of the whole load_case."""
    raw, _ = _time(lambda: read_book(path), runs)
    read, merged = _time(lambda: read_case(path, Problems()), runs)

    def check():
        p = Problems()
        validate(merged, p)
        return p

    val, problems = _time(check, runs)
    assert not problems.errors and not problems.warnings, [str(p) for p in problems.items[:5]]
    build, _ = _time(lambda: build_case(path, merged), runs)
    total, _ = _time(lambda: load_case(path), runs)
    parse = (read[0] - raw[0], read[1] - raw[1])
    return {"raw read (zip checks, calamine, formula scan)": raw, "parse to typed records": parse,
            "validate (cross-sheet and feasibility)": val, "build Case (pandas tables)": build,
            "load_case total": total}


def _transport(path: Path, w: int, c: int, years: int) -> str:
    """Write bench_transport's case to `path`; say what it holds."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_transport

    bench_transport.write_case(path, bench_transport.data(w, c, years))
    return f"transport {w}x{c}x{years}: {w * c + 1:,} Routes rows, {c * years:,} Demand rows, {w * years:,} Supply rows"


_ONE_SIDE = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[int(sys.argv[3]) % len(cpus)]})
from model.case.load import load_case
load_case(sys.argv[2])
times = []
for _ in range(int(sys.argv[4])):
    t = time.perf_counter()
    load_case(sys.argv[2])
    times.append(time.perf_counter() - t)
print(sorted(times)[len(times) // 2])
"""


def side_by_side(path: Path, other: Path, pairs: int, runs: int) -> None:
    """Median load_case seconds of this checkout and of `other`, run at the same time on two cores, pair by pair."""
    here = Path(__file__).resolve().parents[1]
    ratios = []
    print(f"load_case side by side, {runs} loads a side per pair; this checkout {here}, against {other}")
    for i in range(pairs):
        procs = [subprocess.Popen([sys.executable, "-c", _ONE_SIDE, str(code), str(path), str((i + k) % 2), str(runs)],
                                  stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(code)})
                 for k, code in enumerate((here, other))]
        outs = [p.communicate()[0] for p in procs]  # both waited for, whatever either printed
        if any(p.returncode for p in procs):
            sys.exit(f"a side failed (exit {[p.returncode for p in procs]}): is {other} a checkout of minplan?")
        mine, theirs = map(float, outs)
        ratios.append(mine / theirs)
        print(f"  pair {i + 1}: this {mine:.3f} s, against {theirs:.3f} s, ratio {ratios[-1]:.3f}")
    print(f"  median ratio {statistics.median(ratios):.3f} (range {min(ratios):.3f} to {max(ratios):.3f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows-scale", type=float, default=1.0)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="also keep the generated workbook here")
    ap.add_argument("--against", type=Path, metavar="DIR", help="also time load_case side by side with the checkout "
                    "in DIR")
    ap.add_argument("--pairs", type=int, default=6, help="pairs of side-by-side runs with --against")
    ap.add_argument("--transport", metavar="W,C,Y", help="time bench_transport's case of W warehouses, C customers "
                    "and Y years instead (50,2000,5: 100,000 Routes rows)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.xlsx"
        if args.transport:
            w, c, y = (int(x) for x in args.transport.split(","))
            what = _transport(path, w, c, y)
        else:
            sheets = generate(args.rows_scale)
            write(path, sheets)
            what = f"{sum(len(v) for v in sheets.values()):,} rows on {len(sheets) + 1} sheets"
        size = path.stat().st_size
        load_case(path)  # warm imports and caches
        result = stages(path, args.runs)
        print(f"case: {what}, {size / 1024:,.0f} KiB; median of {args.runs} runs")
        print(f"  {'stage':<48} {'wall ms':>8} {'CPU ms':>8}")
        for stage, (wall, cpu) in result.items():
            print(f"  {stage:<48} {wall * 1000:8.1f} {cpu * 1000:8.1f}")
        if args.against:
            side_by_side(path, args.against.resolve(), args.pairs, args.runs)


if __name__ == "__main__":
    main()
