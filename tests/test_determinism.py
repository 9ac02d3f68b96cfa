"""Same case, same answer: solving a case again gives the same result workbook, timings aside.

Each solve runs in its own process through the real command line: HiGHS keeps
one thread scheduler per process, fixed at its first solve, so a process that
has solved once cannot solve again with another `threads`. The workbooks are
compared sheet by sheet, cell by cell; only rows that record when and how
long the run took (and the command line, which names the output) are left out.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import ROOT, run_cli

EXAMPLE = ROOT / "cases" / "example.xlsx"
RUN_ROWS = ("started_utc", "duration_s", "command_line")  # Manifest rows that differ from run to run by nature
THREAD_ROWS = ("option.threads", "override.threads")  # Manifest rows that record the thread count itself


def tables(path: Path, leave_out: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every sheet of a result workbook as rows of values, without timing rows and the rows in `leave_out`."""
    wb = load_workbook(path, read_only=True)
    out = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if ws.title == "Summary":
            rows = [r for r in rows if r[0] != "time"]
        elif ws.title == "Manifest":
            rows = [r for r in rows if r[0] not in RUN_ROWS + leave_out and not str(r[0]).startswith("time.")]
        out[ws.title] = rows
    wb.close()
    return out


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> dict[tuple[int, str], Path]:
    """example.xlsx solved twice with one thread and twice with two, each in a fresh process."""
    folder = tmp_path_factory.mktemp("determinism")
    runs = [(threads, run) for threads in (1, 2) for run in ("a", "b")]

    def solve(key: tuple[int, str]) -> Path:
        out = folder / f"t{key[0]}{key[1]}.xlsx"
        done = run_cli("solve", EXAMPLE, "-o", out, "--threads", str(key[0]), timeout=180)
        assert done.returncode == 0, done.stderr
        return out

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(runs, pool.map(solve, runs)))


@pytest.mark.parametrize("threads", [1, 2])
def test_same_case_solved_twice_gives_identical_tables(solved, threads):
    first, second = tables(solved[threads, "a"]), tables(solved[threads, "b"])
    assert list(first) == list(second)
    for sheet in first:
        assert first[sheet] == second[sheet], f"{sheet} differs between two solves with {threads} thread(s)"
    status = {r[1]: r[2] for r in first["Summary"] if r[0] == "outcome"}["status"]
    assert status == "optimal"


def test_one_and_two_threads_give_identical_tables(solved):
    """Holds on example.xlsx (and was seen on base.xlsx): HiGHS's branch and bound does not depend on the thread
    count here. Only the rows that record the thread count differ."""
    one, two = solved[1, "a"], solved[2, "a"]
    assert tables(one, THREAD_ROWS) == tables(two, THREAD_ROWS)
    threads = [{r[0]: r[1] for r in tables(p)["Manifest"] if len(r) > 1}["option.threads"] for p in (one, two)]
    assert threads == [1, 2]
