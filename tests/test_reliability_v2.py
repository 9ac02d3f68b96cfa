"""Reliability: no wrong answer passes as proven, no signal leaves a mess, no input reaches the terminal raw.

Each test reproduces one way the CLI was broken and asserts the exact outcome: the message and exit status,
the right answer, or no process and no file left behind. Signals are sent with os.kill to a real `cli.py`
process, with bounded waits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import cli
from model import commands
from model import solution as sol
from model.case.load import load_case
from model.case.writer import write_case
from model.problems import RunError
from model.results.write import write_result
from model.solution import Solution
from model.solve import solver
from model.solve.solver import _ledger_disagrees, solve_case
from model.sweep.vary import plan
from model.workbook import outfile
from model.workbook.outfile import TEMP_PREFIX, atomic_write
from tests.conftest import ROOT, minimal_sheets, run_cli

EXAMPLE = ROOT / "cases" / "example.xlsx"
CLEAN = ("Traceback", "internal error")


def clean(done: subprocess.CompletedProcess, status: int) -> str:
    text = done.stdout + done.stderr
    assert done.returncode == status, text
    assert not any(bad in text for bad in CLEAN), text
    return text


def summary_items(path: Path) -> dict:
    wb = load_workbook(path, read_only=True)
    rows = {(r[0], r[1]): r[2] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    wb.close()
    return rows


# ---------------------------------------------------------------- sweep variants are validated like a file


@pytest.fixture(scope="module")
def example():
    return load_case(EXAMPLE)


@pytest.mark.parametrize("vary, first", [
    ("Scenarios.probability[scenario=base]=0.9",
     ("error: example.xlsx: Scenarios!B2:B3: scenario probabilities sum to 1.15, not 1 (found '1.15'; expected "
     "probabilities that add up to 1, within 1e-6) (in the variant Scenarios.probability[scenario=base]=0.9)")),
    ("Regions.member=N",
     ("error: example.xlsx: Demand!A2: region must be a member region (found 'US'; expected a region with member = Y "
     "on the Regions sheet) (in the variant Regions.member=N)")),
    ("Projects.status=candidate",
     ("error: example.xlsx: Projects!G2: capex_musd is blank, and a candidate project needs it (expected a number of 0 "
     "or more, in USD m) (in the variant Projects.status=candidate)")),
    ("Budgets.budget_musd*=nan",
     ("error: example.xlsx: Budgets!C2: budget_musd is not a finite number (found 'nan'; expected a number from 0 to "
     "1e7, in USD m) (changed by --vary 'Budgets.budget_musd*=nan')")),
])
def test_sweep_variant_breaking_a_rule_gets_the_validators_message(example, vary, first):
    """The same edit in the file is refused by `minplan validate`; the variant is refused with the same words."""
    _, points, cases, invalid = plan(example, [vary])
    assert cases == [None] and invalid[points[0].vid][0] == first


@pytest.mark.parametrize("factor, shown", [("1e300", r"5e\+301"), ("inf", "inf")])
def test_sweep_variant_too_large_for_a_cell_is_refused_at_the_cell(example, factor, shown):
    """The column's own limit (1e7 USD m) refuses the product before any variant is built, naming row and limit."""
    from model.problems import RunError

    with pytest.raises(RunError, match=rf"--vary 'Budgets.budget_musd\*={factor}': variant v01 makes "
                                       rf"Budgets.budget_musd \(example.xlsx row 2\) {shown}; expected a number, at least 0 "
                                       r"and at most 10000000"):
        plan(example, [f"Budgets.budget_musd*={factor}"])


def test_sweep_variant_of_valid_values_solves_and_invalid_one_is_a_row(example):
    """'existing' for every project is a valid case (it solves); 'candidate' lacks capex and lead time."""
    _, _, cases, invalid = plan(example, ["Projects.status=existing,candidate"])
    assert cases[0] is not None and cases[1] is None and list(invalid) == ["v02"]
    assert set(cases[0].tables["Projects"]["status"]) == {"existing"}


def test_sweep_cli_shows_the_invalid_variant_as_a_row(tmp_path):
    done = run_cli("sweep", EXAMPLE, "--vary", "Scenarios.probability[scenario=base]=0.9", "-o", tmp_path / "sw")
    clean(done, 0)
    assert "v01 invalid: error: example.xlsx: Scenarios!B2:B3: scenario probabilities sum to 1.15, not 1" in done.stderr
    assert "v01      invalid" in done.stdout
    assert sorted(p.name for p in (tmp_path / "sw").iterdir()) == ["example_frontier.png", "example_sweep.xlsx"]


def test_sweep_checks_its_targets_before_announcing_the_run(tmp_path):
    done = run_cli("sweep", EXAMPLE, "--vary", "Budgets.budget=1", "-o", tmp_path / "sw")
    clean(done, 1)
    assert "Budgets has no column 'budget'" in done.stderr and "sweeping" not in done.stderr
    assert not (tmp_path / "sw").exists()


# ---------------------------------------------------------------- the numbers guard


def _with(case, sheet: str, column: str, value: float):
    t = dict(case.tables)
    t[sheet] = t[sheet].copy()
    t[sheet][column] = [value] * len(t[sheet])
    return dataclasses.replace(case, tables=t, records=None)


def test_capacities_of_9e14_are_not_called_optimal(example):
    """More capacity can never raise cost, yet HiGHS says 'optimal' at 20,011.70 > the case's 15,026.64: the guard
    must say the answer cannot be trusted, and name the magnitudes (validation bypassed: the Case is built in code)."""
    s = solve_case(_with(example, "Projects", "capacity_tpy", 9e14), {"evpi_vss": False})
    assert s.status == sol.UNRELIABLE and not s.has_plan
    assert s.message.startswith("the solver reports a plan as optimal, but it may not be; the case's numbers span too "
                                "many orders of magnitude for the solver: constraint coefficients from 0.1 to 6.3e+10")
    assert "over the 1e+10 it handles reliably" in s.message


def test_demand_of_1e14_is_not_called_infeasible(example):
    """Shortfall is always allowed (at its penalty), so 'infeasible' is false: the guard says it cannot be trusted."""
    s = solve_case(_with(example, "Demand", "demand_t", 1e14), {"evpi_vss": False})
    assert s.status == sol.UNRELIABLE
    assert s.message.startswith("the solver reports the case infeasible, but that cannot be trusted: the case's "
                                "numbers span too many orders of magnitude")


def test_a_plan_that_breaks_a_row_is_caught(example, monkeypatch):
    """Shift the solver's plan by 1 t in one column: the check recomputes the rows and finds the break."""
    from model.formulation import build_model
    from model.solve.highs import HighsRun

    run = HighsRun(build_model(example), {})
    out = run.run()
    assert out.status == sol.OPTIMAL and run.trusted(out) is out
    x = run.values().copy()
    j = next(i for i in range(len(x)) if not run.integer[i] and run.a[:, i].nnz)
    x[j] += 1e3
    monkeypatch.setattr(run, "values", lambda: x)
    bad = run.trusted(out)
    assert bad.status == sol.UNRELIABLE and bad.message.startswith("the solver's plan breaks the constraint ")


def test_ledger_that_disagrees_with_the_solver_is_caught():
    s = Solution(sol.OPTIMAL, objective=100.0, kpis={"expected_cost_musd": 90.0, "cvar_term_musd": 5.0})
    assert _ledger_disagrees(s) == ("the solver reports a cost of 100 USD m, but its plan's expected cost and risk "
                                    "term add up to 95 USD m; the case's numbers may span too many orders of "
                                    "magnitude for the solver")
    assert _ledger_disagrees(dataclasses.replace(s, kpis={"expected_cost_musd": 95.0, "cvar_term_musd": 5.0})) == ""


# ---------------------------------------------------------------- the run's time limit, --no-kpis


def test_every_kpi_solve_gets_what_is_left_of_the_run_time_limit(example, monkeypatch):
    from model.solve import highs

    limits = []
    real = highs.HighsRun.__init__

    def record(self, model, options):
        limits.append(options.get("time_limit_s"))
        real(self, model, options)

    monkeypatch.setattr(highs.HighsRun, "__init__", record)
    s = solve_case(example, {"time_limit_s": 500})
    assert s.status == sol.OPTIMAL and len(limits) >= 5  # main, WS x scenarios, mean value, EEV
    assert limits[0] == 500 and all(b < a for a, b in itertools.pairwise(limits)) and limits[-1] > 400


def test_kpi_solves_are_skipped_when_the_run_time_is_up_and_the_summary_says_so(example, monkeypatch, tmp_path):
    calls = []
    real = solver.RunClock.options

    def after_duals(self):
        calls.append(1)
        return real(self) if len(calls) == 1 else None

    monkeypatch.setattr(solver.RunClock, "options", after_duals)
    s = solve_case(example, {"time_limit_s": 500})
    assert s.status == sol.OPTIMAL and s.kpis["evpi_musd"] is None and s.kpis["vss_musd"] is None
    note = s.kpis["kpi_note"]
    assert note == ("not solved, the run's time limit had run out: WS base, WS cn_ban, mean value, RP (decisions "
                    "now); the values they feed are blank")
    out = write_result(tmp_path / "r.xlsx", example, s)
    assert summary_items(out)[("kpi", "note on EVPI, VSS and value of adapting")] == note
    assert f"note: {note}" in commands.summary_text("example", s, 1.0)


def test_solve_no_kpis_skips_evpi_and_says_so(tmp_path):
    done = run_cli("solve", EXAMPLE, "-o", tmp_path / "r.xlsx", "--no-kpis")
    clean(done, 0)
    assert "EVPI / VSS" not in done.stdout and "computing EVPI" not in done.stderr
    items = summary_items(tmp_path / "r.xlsx")
    assert items[("kpi", "note on EVPI, VSS and value of adapting")] == \
        "EVPI, VSS and the value of adapting were not computed (--no-kpis)"
    assert ("kpi", "EVPI") not in items


# ---------------------------------------------------------------- races, durability, leftovers


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path):
    """The second of two runs to the same -o: its file is placed with a hard link, which fails when one is there."""
    out = tmp_path / "r.xlsx"

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"second")
        out.write_bytes(b"first")  # the other run finishes first

    with pytest.raises(RunError) as err:
        atomic_write(out, write, force=False)
    assert str(err.value).startswith(f"{out} appeared while minplan was writing it (another run writing the same "
                                     "output?); it was left as it is and nothing was written")
    assert out.read_bytes() == b"first" and [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]


def test_the_file_and_its_folder_are_flushed_before_the_result_stands(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    out = atomic_write(tmp_path / "r.xlsx", lambda tmp: tmp.write_bytes(b"x"), force=False)
    assert len(synced) == 2 and Path(synced[0]).name.startswith(TEMP_PREFIX) and synced[1] == str(tmp_path)
    assert out.read_bytes() == b"x"


def test_dangling_symlink_at_out_is_not_followed(tmp_path):
    (tmp_path / "r.xlsx").symlink_to(tmp_path / "far" / "away.xlsx")
    done = run_cli("solve", EXAMPLE, "-o", tmp_path / "r.xlsx")
    clean(done, 1)
    assert f"error: the output {tmp_path / 'r.xlsx'} is a symbolic link to {tmp_path / 'far' / 'away.xlsx'}, which " \
           "does not exist; minplan does not follow it" in done.stderr
    assert not (tmp_path / "far").exists()


def _env(tmp_path: Path) -> dict:
    tmp = tmp_path / "tmpdir"
    tmp.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp)}


def _popen(tmp_path: Path, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "cli.py"), *map(str, args)], cwd=ROOT, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(proc: subprocess.Popen, words: str, timeout: float = 120) -> list[str]:
    seen, t0 = [], time.monotonic()
    while time.monotonic() - t0 < timeout:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if words in line:
            return seen
    raise AssertionError(f"never saw {words!r}: {''.join(seen)}")


def _children(pid: int) -> set[int]:
    """Every descendant of `pid`, from /proc."""
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = {c for c, pp in parent.items() if pp == p}
        out |= kids
        todo += list(kids)
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(p)
    return alive


def _gone(pids: set[int], timeout: float = 30) -> set[int]:
    t0 = time.monotonic()
    while _alive(pids) and time.monotonic() - t0 < timeout:
        time.sleep(0.2)
    return _alive(pids)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_sweep_workers_die_with_their_parent_and_leave_nothing(tmp_path, sig):
    out = tmp_path / "sw"
    proc = _popen(tmp_path, "sweep", EXAMPLE, "--vary", "Settings.risk_weight=0,0.25,0.5,0.75", "-j", "2", "-o", out)
    _wait_for_line(proc, "sweeping example")
    t0 = time.monotonic()
    while len(_children(proc.pid)) < 4 and time.monotonic() - t0 < 60:  # fork server, tracker, two workers
        time.sleep(0.2)
    kids = _children(proc.pid)
    assert len(kids) >= 3
    os.kill(proc.pid, sig)
    proc.wait(timeout=60)
    assert _gone(kids) == set()
    assert not list((tmp_path / "tmpdir").glob("openpyxl.*"))  # the sheets' temporary files were beside the output
    assert not list(out.glob(f"{TEMP_PREFIX}*")) if out.exists() else True
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        assert (out / "example_sweep.xlsx").exists()  # what finished is kept, as after Ctrl-C


def test_sigterm_while_writing_the_result_leaves_no_file(tmp_path):
    out = tmp_path / "o" / "r.xlsx"
    proc = _popen(tmp_path, "solve", EXAMPLE, "-o", out)
    _wait_for_line(proc, "writing the result workbook")
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err.rstrip().endswith("terminated.") and "Traceback" not in err
    assert not out.exists() and not list(out.parent.glob(f"{TEMP_PREFIX}*"))
    assert not list((tmp_path / "tmpdir").iterdir())


def _invoke(*args: str):
    return CliRunner().invoke(cli.main, list(args))


def test_error_raised_while_an_interrupt_unwinds_is_the_interrupt(monkeypatch, make_case):
    """Pyomo's PauseGC raises RuntimeError when Ctrl-C lands in its hand-over: that is the interrupt, exit 130."""
    def handover(*_a, **_k):
        try:
            raise KeyboardInterrupt
        finally:
            raise RuntimeError("Exiting PauseGC context manager out of order")

    monkeypatch.setattr(commands, "run_solve", handover)
    monkeypatch.setattr(commands, "_awaited", [])  # no earlier in-process command's result
    result = _invoke("solve", str(make_case(**minimal_sheets())))
    assert result.exit_code == 130 and result.output.strip() == "interrupted."


def test_interrupt_after_the_result_is_complete_returns_0(monkeypatch, make_case, tmp_path):
    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "summary_text", interrupted)
    out = tmp_path / "r.xlsx"
    result = _invoke("solve", str(make_case(**minimal_sheets())), "-o", str(out))
    assert result.exit_code == 0 and out.exists()
    assert result.output.strip().endswith(f"interrupted after the result was written in full; it stands: {out}")


# ---------------------------------------------------------------- messages, not internal errors


def test_output_name_too_long_is_a_message(tmp_path):
    done = run_cli("solve", EXAMPLE, "-o", tmp_path / ("a" * 251 + ".xlsx"))
    clean(done, 1)
    assert "error: the output name aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... is 256 characters long, more than file " \
           "systems allow (255 bytes); choose a shorter name" in done.stderr


def test_long_case_name_gets_a_default_output_that_fits(make_case, tmp_path):
    case = make_case({"case_name": "n" * 300}, **minimal_sheets())
    done = run_cli("solve", case, cwd=tmp_path)
    clean(done, 0)
    assert [p.name for p in (tmp_path / "outputs").iterdir()] == ["n" * 150 + ".xlsx"]


def test_symlink_loops_are_messages(make_case, tmp_path):
    (tmp_path / "a.xlsx").symlink_to(tmp_path / "b.xlsx")
    (tmp_path / "b.xlsx").symlink_to(tmp_path / "a.xlsx")
    done = run_cli("validate", tmp_path / "a.xlsx")
    clean(done, 2)
    assert done.stdout.startswith(f"error: a.xlsx: {tmp_path / 'a.xlsx'} is a loop of symbolic links, not a file")
    done = run_cli("solve", EXAMPLE, "-o", tmp_path / "a.xlsx")
    clean(done, 1)
    assert f"error: the output {tmp_path / 'a.xlsx'} is a loop of symbolic links; choose another path" in done.stderr
    case = make_case({"base_case": "a.xlsx"}, name="top.xlsx", **minimal_sheets())
    done = run_cli("validate", case)
    clean(done, 1)
    assert "Settings!B" in done.stdout and "base case a.xlsx not found" in done.stdout


def test_unknown_home_folder_is_a_message():
    done = run_cli("solve", EXAMPLE, "-o", "~nouser/x.xlsx")
    clean(done, 1)
    assert "error: the output ~nouser/x.xlsx starts with ~nouser, the home folder of a user this computer does not " \
           "know; write the full path" in done.stderr


def test_console_without_the_characters_gets_escapes(make_case, tmp_path):
    sheets = minimal_sheets()
    sheets["Regions"][0]["member"] = "maybe"
    case = make_case({"case_name": "tick ✓"}, **sheets)
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "validate", str(case)], cwd=ROOT, capture_output=True, check=False,
                          env={**os.environ, "PYTHONIOENCODING": "cp1252"}, timeout=120)
    assert done.returncode == 1 and b"Traceback" not in done.stderr
    assert b"error: case.xlsx: Regions!C2: member is not Y or N (found 'maybe'" in done.stdout
    sheets = minimal_sheets()
    for s in ("Regions", "Demand", "Projects"):
        sheets[s][0]["region"] = "US✓"
    sheets["Demand"][0]["demand_t"] = 20
    case = make_case(name="tick.xlsx", **sheets)
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "solve", str(case), "-o", str(tmp_path / "r.xlsx")],
                          cwd=ROOT, capture_output=True, env={**os.environ, "PYTHONIOENCODING": "cp1252"}, timeout=120, check=False)
    assert done.returncode == 0 and b"  - US\\u2713 cannot be supplied 10 t" in done.stdout


def test_closed_stdout_pipe_ends_quietly(tmp_path):
    done = subprocess.run(f"'{sys.executable}' cli.py solve '{EXAMPLE}' -o '{tmp_path / 'r.xlsx'}' | true; "
                          "echo status=${PIPESTATUS[0]} >&2", shell=True, executable="/bin/bash", cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.stderr.rstrip().endswith("status=0") and "Error" not in done.stderr
    assert (tmp_path / "r.xlsx").exists()


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "r1.xlsx"
    clean(run_cli("solve", EXAMPLE, "-o", out, "--no-kpis"), 0)
    return out


@pytest.mark.parametrize("edit, message", [
    ("row", ("error: edited.xlsx: Portfolio!6:6 repeats the row at Portfolio!2:2 (same project: us_magnet_c); the "
            "result was edited after minplan wrote it; solve the case again, or undo the edit")),
    ("header", ("error: edited.xlsx: Funding!B1: the header 'fund' appears twice (also at Funding!A1); the result was "
               "edited after minplan wrote it; solve the case again, or undo the edit")),
    ("year", ("error: edited.xlsx: Supply!D2: year holds 'twenty', not a year typed as a whole number; the result was "
             "edited after minplan wrote it; solve the case again, or undo the edit")),
])
def test_compare_names_the_cell_of_a_hand_edit(result, tmp_path, edit, message):
    wb = load_workbook(result)
    if edit == "row":
        ws = wb["Portfolio"]
        ws.append([c.value for c in ws[2]])
    elif edit == "header":
        wb["Funding"].cell(1, 2).value = wb["Funding"].cell(1, 1).value
    else:
        ws = wb["Supply"]
        ws.cell(2, [c.value for c in ws[1]].index("year") + 1).value = "twenty"
    wb.save(tmp_path / "edited.xlsx")
    done = run_cli("compare", result, tmp_path / "edited.xlsx", "-o", tmp_path / "c.xlsx")
    clean(done, 1)
    assert done.stderr.splitlines()[0] == message and not (tmp_path / "c.xlsx").exists()


# ---------------------------------------------------------------- hostile text, provenance


def test_escape_sequences_in_a_case_never_reach_the_terminal(make_case, tmp_path):
    """calamine decodes _x001B_ into a real ESC; every line minplan prints shows it escaped."""
    hostile = "EU_x001B_]0;PWNED_x0007__x001B_[2J"
    sheets = minimal_sheets()
    for s in ("Regions", "Demand", "Projects"):
        sheets[s][0]["region"] = hostile
    sheets["Demand"][0]["demand_t"] = 20
    case = make_case(**sheets)
    done = run_cli("solve", case, "-o", tmp_path / "r.xlsx")  # validation refuses the identifier at its cells
    text = clean(done, 1)
    assert "\x1b" not in text and "\x07" not in text
    assert "Regions!A2: region holds the control characters \\x07, \\x1b" in done.stderr
    assert "found 'EU\\x1b]0;PWNED\\x07\\x1b[2J'" in done.stderr


def test_manifest_hash_is_of_the_bytes_that_were_read(make_case, tmp_path):
    path = make_case(**minimal_sheets())
    read = hashlib.sha256(path.read_bytes()).hexdigest()
    case = load_case(path)
    s = solve_case(case)
    sheets = minimal_sheets()
    sheets["Demand"][0]["demand_t"] = 5
    write_case(path, {"start_year": 2026, "end_year": 2026}, sheets)  # edited during the solve
    assert hashlib.sha256(path.read_bytes()).hexdigest() != read
    out = write_result(tmp_path / "r.xlsx", case, s)
    wb = load_workbook(out, read_only=True)
    manifest = {r[0]: r[1] for r in wb["Manifest"].iter_rows(min_row=2, values_only=True) if len(r) > 1}
    assert manifest["case_sha256"] == read == manifest["file_1_sha256"]


def test_placed_files_are_recorded_for_the_command(tmp_path):
    out = atomic_write(tmp_path / "r.xlsx", lambda tmp: tmp.write_bytes(b"x"))
    assert outfile.placed[-1] == out
