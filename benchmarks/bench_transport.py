"""minplan against raw highspy on one transport LP: how close is minplan to the solver's own floor?

    python benchmarks/bench_transport.py [--warehouses 50] [--customers 2000] [--years 5] [--skip-write]

The case: W non-member warehouses (Supply rows: capacity and price per year)
and C member customers (Demand rows), one material, a Routes row per
warehouse-customer lane with its transport cost, every other leg closed, no
projects, funds or stockpiles. minplan solves it end to end as `minplan solve`
does (read, build, hand-over, solve, write); the reference builds the same LP
from numpy arrays (ship[w,c,t] ≤ … , Σ_w ship + short ≥ demand, Σ_c ship ≤ cap)
and solves it with highspy. Both objectives are printed so that a reader can
see they are the same LP. Prints one row per stage for minplan, the
reference's build and solve, the ratio of end-to-end times, and peak memory
(the process's max RSS after each part; the reference runs first, in the same
process, so its peak is the lower one).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

START = 2026
PENALTY = 50_000.0


def data(w: int, c: int, years: int, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    demand = rng.uniform(50, 150, size=(c, years)).round(1)
    cap = np.full((w, years), demand.sum(axis=0) / w * 1.3).round(1)
    price = rng.uniform(900, 1100, size=(w,)).round(1)
    transport = rng.uniform(5, 60, size=(w, c)).round(2)
    return {"demand": demand, "cap": cap, "price": price, "transport": transport}


def write_case(path: Path, d: dict) -> Path:
    from model.case.writer import write_case as write

    w, c = d["transport"].shape
    years = d["demand"].shape[1]
    wh, cu = [f"W{i:03d}" for i in range(w)], [f"C{j:04d}" for j in range(c)]
    sheets = {
        "Regions": [{"region": r, "bloc": "partner", "member": "N"} for r in wh]
        + [{"region": r, "bloc": "ally", "member": "Y"} for r in cu],
        "Materials": [{"material": "good", "stage": "product", "price_usd_per_t": 1000,
                       "shortfall_penalty_usd_per_t": PENALTY}],
        "Demand": [{"region": cu[j], "material": "good", "year": START + t, "demand_t": float(d["demand"][j, t])}
                   for j in range(c) for t in range(years)],
        "Projects": [{"project": "none", "region": wh[0], "status": "existing", "output": "good", "capacity_tpy": 0}],
        "Supply": [{"origin": wh[i], "material": "good", "year": START + t, "max_t": float(d["cap"][i, t]),
                    "price_usd_per_t": float(d["price"][i])} for i in range(w) for t in range(years)],
        "Routes": [{"origin": "*", "destination": "*", "allowed": "N"}]
        + [{"origin": wh[i], "destination": cu[j], "transport_usd_per_t": float(d["transport"][i, j]), "allowed": "Y"}
           for i in range(w) for j in range(c)],
    }
    settings = {"start_year": START, "end_year": START + years - 1, "discount_rate": 0, "mcpf": 0,
                "mip_rel_gap": 1e-9, "threads": 1}
    return write(path, settings, sheets)


def reference(d: dict) -> tuple[float, float, float]:
    """(build seconds, solve seconds, objective in USD m) of the same LP in raw highspy."""
    import highspy
    import scipy.sparse as sp

    t0 = time.perf_counter()
    w, c = d["transport"].shape
    years = d["demand"].shape[1]
    n_ship = w * c * years
    # columns: ship[w, c, t] (w-major), ext[w, t], short[c, t]
    ship_cost = ((d["transport"][:, :, None] + d["price"][:, None, None]) * np.ones((1, 1, years))).ravel() / 1e6
    cost = np.concatenate([ship_cost, np.zeros(w * years), np.full(c * years, PENALTY / 1e6)])
    iw, ic, it = np.unravel_index(np.arange(n_ship), (w, c, years))
    # demand rows (c, t): Σ_w ship + short ≥ D ; capacity rows (w, t): Σ_c ship ≤ cap
    rows_d = ic * years + it
    rows_c = c * years + iw * years + it
    short_idx = n_ship + w * years + np.arange(c * years)
    r = np.concatenate([rows_d, rows_c, np.arange(c * years)])
    col = np.concatenate([np.arange(n_ship), np.arange(n_ship), short_idx])
    a = sp.csc_matrix((np.ones(len(r)), (r, col)), shape=(c * years + w * years, len(cost)))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cost), a.shape[0]
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(len(cost))
    upper = np.full(len(cost), highspy.kHighsInf)
    upper[short_idx] = d["demand"].ravel()
    lp.col_upper_ = upper
    lp.row_lower_ = np.concatenate([d["demand"].ravel(), np.full(w * years, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.full(c * years, highspy.kHighsInf), d["cap"].ravel()])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.passModel(lp)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    h.run()
    return build, time.perf_counter() - t0, h.getInfo().objective_function_value


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouses", type=int, default=50)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--skip-write", action="store_true", help="leave out writing the result workbook")
    args = ap.parse_args()
    d = data(args.warehouses, args.customers, args.years)
    ref_build, ref_solve, ref_obj = reference(d)
    ref_peak = peak_mb()
    tmp = Path(tempfile.mkdtemp())
    path = write_case(tmp / "transport.xlsx", d)

    from model.case.load import load_case
    from model.solve.solver import solve_case

    t0 = time.perf_counter()
    case = load_case(path)
    read_s = time.perf_counter() - t0
    sol = solve_case(case, {"evpi_vss": False})
    t = sol.timings
    write_s = 0.0
    if not args.skip_write:
        from model.results.write import write_result

        t0 = time.perf_counter()
        write_result(tmp / "result.xlsx", case, sol)
        write_s = time.perf_counter() - t0
    steps = {"read": read_s, "build": t.get("build_s", 0), "hand-over": t.get("handover_s", 0),
             "solve": t.get("solve_s", 0), "duals": t.get("duals_s", 0), "write": write_s}
    total, ref_total = sum(steps.values()), ref_build + ref_solve
    print(f"transport LP: {args.warehouses} warehouses x {args.customers} customers x {args.years} years; "
          f"{sol.sizes.get('variables')} columns, {sol.sizes.get('constraints')} rows, {sol.sizes.get('nonzeros')} nonzeros")
    for k, v in steps.items():
        print(f"  minplan {k:<10} {v:8.2f} s")
    print(f"  minplan end to end {total:8.2f} s   objective {sol.objective:.9g}  ({sol.status})")
    print(f"  highspy build      {ref_build:8.2f} s")
    print(f"  highspy solve      {ref_solve:8.2f} s   objective {ref_obj:.9g}")
    print(f"  ratio end to end   {total / ref_total:8.1f} x")
    print(f"  peak RSS: reference {ref_peak:,.0f} MB, with minplan {peak_mb():,.0f} MB")


if __name__ == "__main__":
    main()
