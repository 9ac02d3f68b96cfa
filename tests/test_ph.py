"""Progressive hedging (`minplan solve --engine ph`) against the extensive form, and its bad runs.

PH is a heuristic for MIPs; what must hold whatever it does: its Lagrangian
bound is a lower bound (≤ the extensive form's optimum), its plan is a
feasible plan (its recomputed cost ≥ that optimum), and on these small
cases it reaches the optimum's cost within 1% with the same decisions before
the first branching. Bad runs stop before any rank starts, or end every rank
with one message and no workbook.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from model.case.load import load_case
from model.case.writer import write_case
from model.solve.solver import solve_case
from tests.conftest import ROOT, run_cli

YEARS = (2026, 2027, 2028, 2029)
US = {"region": "US", "bloc": "ally", "member": "Y"}
X = {"region": "X", "bloc": "partner", "member": "N"}
AU = {"region": "AU", "bloc": "ally", "member": "N"}
MAG = {"material": "mag", "stage": "magnet", "price_usd_per_t": 20_000, "shortfall_penalty_usd_per_t": 200_000}
IDLE = {"project": "idle", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}


def _sheets(scenarios: list[tuple[str, float]], disruptions: list[dict]) -> dict:
    """US needs 10 t a year; X sells 10 t at 25,000 USD/t (cut in disruptions), AU 10 t at 40,000; three candidates
    make 6, 4 and 10 t at 5,000 USD/t; a 1 USD m grant a year with carry-over; a 20 t stockpile holding 3 t."""
    projects = [IDLE] + [{"project": f"P{i}", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": c,
                          "capex_musd": cx, "lead_time_yr": 0, "life_yr": 3, "var_cost_usd_per_t": 5000}
                         for i, (c, cx) in enumerate([(6, 0.2), (4, 0.15), (10, 0.5)])]
    return {
        "Regions": [US, X, AU], "Materials": [MAG], "Projects": projects,
        "Demand": [{"region": "US", "material": "mag", "year": y, "demand_t": 10} for y in YEARS],
        "Supply": [{"origin": o, "material": "mag", "year": y, "max_t": 10, "price_usd_per_t": p}
                   for y in YEARS for o, p in (("X", 25_000), ("AU", 40_000))],
        "Scenarios": [{"scenario": s, "probability": p} for s, p in scenarios], "Disruptions": disruptions,
        "Funds": [{"fund": "G", "owner": "US", "instrument": "grant", "carryover": "Y"}],
        "Budgets": [{"fund": "G", "year": y, "budget_musd": 1} for y in YEARS],
        "Stockpiles": [{"stockpile": "S", "owner": "US", "location": "US", "material": "mag", "initial_t": 3,
                        "capacity_t": 20}],
    }


def _cut(scenario: str, start: int, magnitude: float = 1.0) -> dict:
    return {"scenario": scenario, "kind": "supply_cut", "target": "X", "material": "mag", "start_year": start,
            "magnitude": magnitude}


def _write(path: Path, sheets: dict, **settings) -> Path:
    return write_case(path, {"start_year": YEARS[0], "end_year": YEARS[-1], "mip_rel_gap": 1e-6, **settings}, sheets)


def listed_case(path: Path) -> Path:
    """Three listed scenarios: calm, a full cut of X from 2027, a 60% cut from 2028 (the tree branches twice)."""
    return _write(path, _sheets([("calm", 0.5), ("ban27", 0.3), ("ban28", 0.2)],
                                [_cut("ban27", 2027), _cut("ban28", 2028, 0.6)]))


def many_case(path: Path) -> Path:
    """Calm plus a cut of X starting in 2027, 2028 or 2029 at 25, 50, 75 or 100%: 13 scenarios, decisions = now."""
    scen = [("calm", 0.4)] + [(f"cut{t}_{int(m * 100)}", 0.05) for t in YEARS[1:] for m in (0.25, 0.5, 0.75, 1.0)]
    rows = [_cut(s, int(s[3:7]), int(s[8:]) / 100) for s, _ in scen[1:]]
    return _write(path, _sheets(scen, rows), decisions="now")


def _sheet(path: Path, name: str) -> list[tuple]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(wb[name].iter_rows(values_only=True))
    finally:
        wb.close()


def _decided_now(rows: list[tuple], first_branch: int | None) -> dict:
    """FIDs of the Decisions rows decided before anything is known: the years before the first branching, and the
    decision node 'all' (decisions = now)."""
    head = rows[0]
    recs = [dict(zip(head, r)) for r in rows[1:]]
    return {(r["year"], r["node"]): r["fid"] or "" for r in recs
            if r["node"] == "all" or first_branch is None or r["year"] < first_branch}


def _run_ph(case: Path, out: Path, ranks: int) -> subprocess.CompletedProcess:
    return run_cli("solve", case, "-o", out, "--engine", "ph", "--ranks", ranks, timeout=240)


@pytest.fixture(scope="module", params=["listed", "many"])
def compared(request, tmp_path_factory):
    """(extensive-form Solution, its Decisions rows as a workbook would hold them, PH's Summary, PH's Decisions)."""
    folder = tmp_path_factory.mktemp(request.param)
    case_path = (listed_case if request.param == "listed" else many_case)(folder / "case.xlsx")
    ef = solve_case(load_case(case_path), {"evpi_vss": False})
    ef_rows = [tuple(ef.decisions.columns), *(tuple(None if v == "" else v for v in r)
                                              for r in ef.decisions.itertuples(index=False))]
    done = _run_ph(case_path, folder / "ph.xlsx", 3)
    assert done.returncode == 0, done.stderr
    summary = {(r[0], r[1]): r[2] for r in _sheet(folder / "ph.xlsx", "Summary")}
    return ef, ef_rows, summary, _sheet(folder / "ph.xlsx", "Decisions"), done.stdout


def test_ph_cost_is_within_one_percent_of_the_extensive_form(compared):
    ef, _, summary, _, _ = compared
    assert summary[("outcome", "objective")] == pytest.approx(ef.objective, rel=0.01)


def test_ph_bounds_bracket_the_extensive_form_optimum(compared):
    """Lagrangian bound ≤ optimum ≤ the cost of any feasible plan (xhatshuffle's, and the plan recomputed)."""
    ef, _, summary, _, _ = compared
    tol = 1e-6 * max(1.0, abs(ef.objective))
    assert summary[("outcome", "PH lower bound")] <= ef.objective + tol
    assert ef.bound - tol <= summary[("outcome", "PH upper bound")]
    assert ef.bound - tol <= summary[("outcome", "objective")] <= summary[("outcome", "PH upper bound")] + tol


def test_ph_takes_the_same_decide_now_fids(compared):
    ef, ef_rows, _, ph_rows, _ = compared
    first = ef.kpis.get("first_branching_year")
    now_ef = _decided_now(ef_rows, first)
    assert now_ef and any(now_ef.values())  # something is decided before anything is known
    assert _decided_now(ph_rows, first) == now_ef


def test_summary_says_ph_produced_the_plan(compared):
    _, _, summary, _, stdout = compared
    assert summary[("outcome", "engine")].startswith("PH")
    assert summary[("outcome", "ranks")] == 3
    assert summary[("outcome", "PH iterations")] >= 1
    assert "PH on 3 rank(s)" in stdout


def test_one_rank_runs_ph_alone_and_its_plan_costs_at_least_the_optimum(tmp_path):
    """On one rank the hub evaluates its rounded average: a feasible plan, so its cost ≥ the optimum ≥ its bound."""
    case_path = listed_case(tmp_path / "case.xlsx")
    ef = solve_case(load_case(case_path), {"evpi_vss": False})
    done = _run_ph(case_path, tmp_path / "ph.xlsx", 1)
    assert done.returncode == 0, done.stderr
    summary = {(r[0], r[1]): r[2] for r in _sheet(tmp_path / "ph.xlsx", "Summary")}
    assert summary[("outcome", "ranks")] == 1
    assert summary[("outcome", "PH lower bound")] <= ef.objective + 1e-6 <= summary[("outcome", "objective")] + 2e-6


@pytest.mark.parametrize(("ranks", "expected"), [
    (2, "--ranks must be 1 (PH alone) or a multiple of 3 (PH, its lower bound and its plan search each get ranks/3), not 2"),
    (12, "--ranks 12 gives each of the 3 cylinders 4 ranks but the case has only 3 scenarios: use at most 9"),
])
def test_ranks_that_cannot_run_are_refused_before_anything_starts(tmp_path, ranks, expected):
    case_path = listed_case(tmp_path / "case.xlsx")
    done = _run_ph(case_path, tmp_path / "ph.xlsx", ranks)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"error: {expected}"
    assert "progressive hedging on" not in done.stderr  # nothing was launched
    assert not (tmp_path / "ph.xlsx").exists()


def test_one_scenario_case_is_refused_for_ph(tmp_path):
    case_path = _write(tmp_path / "case.xlsx", _sheets([("calm", 1.0)], []))
    done = _run_ph(case_path, tmp_path / "ph.xlsx", 3)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "error: --engine ph needs a case with at least 2 scenarios (this one has 1): use --engine ef")


def _pids(case_path: Path) -> list[int]:
    """Process ids of the PH ranks working on `case_path` (a unique temporary path)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"model.ph_main" in cmd and str(case_path).encode() in cmd and b"mpiexec" not in cmd[0]:
                pids.append(int(entry.name))
    return pids


def _ranks_of(case_path: Path, timeout: float = 60) -> list[int]:
    """The three ranks' process ids once they have all started."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pids = _pids(case_path)
        if len(pids) == 3:
            return pids
        time.sleep(0.2)
    return []


def _start(case_path: Path, out: Path) -> subprocess.Popen:
    """The PH run as a user starts it from a terminal, where Ctrl-C is not ignored.

    An ignored SIGINT is inherited across exec, and a Python started with it ignored never raises
    KeyboardInterrupt: a test process that has SIGINT ignored (as a background job of a non-interactive shell
    does) would start a CLI that Ctrl-C cannot stop. So the child starts with Ctrl-C at its default.
    """
    before = signal.getsignal(signal.SIGINT)
    if before == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a handler is reset to the default across exec
    try:
        return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "solve", str(case_path), "-o", str(out),
                                 "--engine", "ph", "--ranks", "3", "--iterations", "100000"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_rank_that_dies_ends_the_job_with_one_message_and_no_workbook(tmp_path):
    case_path = many_case(tmp_path / "case.xlsx")
    proc = _start(case_path, tmp_path / "ph.xlsx")
    ranks = _ranks_of(case_path)
    assert ranks, "the PH ranks did not start"
    os.kill(ranks[-1], signal.SIGKILL)  # at once: this small case's PH can converge within a second of starting
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: progressive hedging failed: ") and last.endswith("No result workbook was written.")
    assert not (tmp_path / "ph.xlsx").exists()
    assert not _pids(case_path)


def test_ctrl_c_ends_every_rank_and_writes_nothing(tmp_path):
    case_path = many_case(tmp_path / "case.xlsx")
    proc = _start(case_path, tmp_path / "ph.xlsx")
    assert _ranks_of(case_path), "the PH ranks did not start"
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    proc.send_signal(signal.SIGINT)  # at once: this small case's PH can converge within a second of starting
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, f"exit {proc.returncode} (SIGINT ignored in the test process: {ignored}); {err[-500:]}"
    assert err.strip().splitlines()[-1] == "error: interrupted: every rank was stopped and no result workbook was written"
    assert not (tmp_path / "ph.xlsx").exists()
    assert not _pids(case_path)


def test_a_plan_that_funds_a_project_twice_keeps_its_decide_now_fids_and_chooses_the_rest(tmp_path):
    """PH's plan put together node by node can fund P0 at the root (2026) and again at every 2027 node: fixed as it
    is, the extensive form is infeasible (FID at most once). The recomputation then keeps the 2026 FIDs (P0 only)
    and chooses every later decision, so its cost is the extensive form's optimum with P0 forced in 2026: at least
    the free optimum, and exactly what solving with that one FID fixed gives."""
    from model.formulation import build_model
    from model.solve.ph import fix_plan, plan_solution
    from model.solve.solver import solve_model

    case = load_case(listed_case(tmp_path / "case.xlsx"))
    model = build_model(case)
    plan = {var.name: float(p == "P0" and tau in (2026, 2027)) for (p, tau, _v), var in model.fid.items()}
    result = {"plan": plan, "lower": 0.0, "upper": None, "iterations": 1, "ranks": 3}
    out = plan_solution(case, result, {"evpi_vss": False, "mip_rel_gap": 1e-6})
    assert out.has_plan
    assert "FIDs of 2026 fixed and every later decision chosen" in out.message
    forced = build_model(case)
    assert fix_plan(forced, plan, {2026}) == 3  # P0, P1 and P2 at the root node
    expected = solve_model(case, forced, {"evpi_vss": False, "mip_rel_gap": 1e-6})
    free = solve_case(case, {"evpi_vss": False})
    assert out.objective == pytest.approx(expected.objective, rel=1e-6)
    assert out.objective >= free.objective - 1e-6
    funded = out.portfolio.set_index("project")["fid_when"].to_dict()
    assert funded["P0"].startswith("2026")
