"""A sweep: one solve per variant of a case, in parallel worker processes.

`run_sweep` builds every variant first (model.sweep.vary), so a bad `--vary`
stops the sweep before any solve. Each variant is solved and its result
workbook written inside a worker process; the parent collects one summary
row per variant, in the order they finish, and sorts them by variant id at
the end, so the sweep workbook does not depend on the number of workers.
Every variant is solved with the same solver options (one HiGHS thread
unless the case's Settings say otherwise) in a fresh worker process, even
with `-j 1`, so `-j` changes the time taken, not the answers.

A variant without a plan (infeasible, time limit) or whose solve fails is a
row with its status and the reason; the others go on. Ctrl-C stops the
workers, keeps the rows that finished and writes the sweep workbook with
them, saying so.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.case.load import Case
from model.problems import CaseError, RunError
from model.run import RunInfo
from model.solution import no_plan_reason
from model.sweep.vary import MULTIPLY, Variant, Vary, plan
from model.workbook.outfile import TEMP_PREFIX, check_output, file_name

ERROR_STATUS = "error"  # a variant whose solve or write raised
INVALID_STATUS = "invalid"  # a variant that breaks a rule of the case: not solved
# Loaded once in the server the workers start from. Pyomo's standard-form writer imports scipy.stats on the
# first solve in a process (about 5 s here); loading it up front spares every worker that wait.
PRELOAD = ["model.solve.solver", "model.results.write", "scipy.sparse", "scipy.stats"]
KPI_COLUMNS = ("objective_musd", "public_spend_musd", "expected_shortfall_t", "projects_funded")


@dataclass
class Task:
    """What a worker needs for one variant: the variant case, solver options and where to write."""

    vid: str
    case: Case
    options: dict[str, Any]
    out: Path
    force: bool
    command: str


@dataclass
class SweepOutcome:
    """What a sweep produced: one row per finished variant (sorted by id) and the files written."""

    rows: list[dict[str, Any]]
    planned: int
    interrupted: bool
    out_dir: Path
    workbook: Path | None = None
    chart: Path | None = None
    varies: list[Vary] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("result_file") is None]


Progress = Callable[[dict[str, Any], int, int], None]  # (row just finished, finished so far, planned)


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def value_column(vary: Vary) -> str:
    """Sweep-table header of a varied target: the target, with ' ×' when its values are multipliers."""
    return vary.label + (" ×" if vary.op == MULTIPLY else "")


def sweep_paths(case: Case, out_dir: Path, points: list[Variant]) -> tuple[dict[str, Path], Path, Path]:
    """(result workbook per variant id, sweep workbook, frontier chart) inside `out_dir`."""
    stem = file_name(case.name, "case")
    results = {p.vid: out_dir / f"{stem}_{p.vid}.xlsx" for p in points}
    return results, out_dir / f"{stem}_sweep.xlsx", out_dir / f"{stem}_frontier.png"


def run_sweep(case: Case, texts: list[str] | tuple[str, ...], out_dir: Path, *, jobs: int | None = None,
              force: bool = False, options: dict[str, Any] | None = None, progress: Progress | None = None,
              run: RunInfo | None = None) -> SweepOutcome:
    """Solve every variant of `case` named by the `--vary` texts; write results, the sweep workbook and chart.

    Raises RunError before any solve for a bad `--vary` or an output that may not be written.
    """
    from model.sweep.book import write_chart, write_sweep_book

    run = run or RunInfo()
    t0 = time.perf_counter()
    varies, points, cases, invalid = plan(case, texts)
    out_dir = Path(out_dir).expanduser().resolve()
    results, book, chart = sweep_paths(case, out_dir, points)
    for path in [*results.values(), book]:
        check_output(path, case.files, force=force)
    check_output(chart, case.files, force=force, suffix=".png")
    opts = {"threads": case.settings.get("threads") or 1, **(options or {})}
    tasks = [Task(p.vid, c, opts, results[p.vid], force, run.command) for p, c in zip(points, cases) if c is not None]
    jobs = max(1, min(jobs or default_jobs(), len(tasks) or 1))
    labels = {p.vid: {value_column(v): x for v, x in zip(varies, p.values)} for p in points}
    descriptions = {p.vid: p.describe(varies) for p in points}
    rows: list[dict[str, Any]] = []

    def done(row: dict[str, Any]) -> None:
        row = {"variant": row["variant"], **labels[row["variant"]], "description": descriptions[row["variant"]],
               **{k: v for k, v in row.items() if k != "variant"}}
        rows.append(row)
        if progress:
            progress(row, len(rows), len(points))

    for p in points:
        if p.vid in invalid:
            done(_row(Task(p.vid, case, opts, results[p.vid], force, run.command), INVALID_STATUS,
                      "; ".join(invalid[p.vid])))
    started = time.time()
    interrupted = False
    try:
        if tasks:
            _run_pool(tasks, jobs, done)
    except KeyboardInterrupt:
        interrupted = True
        _remove_temporaries(out_dir, started)
    rows.sort(key=lambda r: r["variant"])
    outcome = SweepOutcome(rows, len(points), interrupted, out_dir, varies=varies)
    outcome.seconds = time.perf_counter() - t0
    outcome.workbook = write_sweep_book(book, case, outcome, jobs, run, force=True)
    outcome.chart = write_chart(chart, case, outcome)
    return outcome


def _run_pool(tasks: list[Task], jobs: int, done: Callable[[dict[str, Any]], None]) -> None:
    """Solve the variants in `jobs` worker processes; call `done` with each row as it finishes."""
    died = "a worker process died while solving this variant (out of memory?)"
    run_pool(tasks, jobs, solve_variant, done, lambda task: _row(task, ERROR_STATUS, died))


def run_pool(tasks: list, jobs: int, work: Callable[[Any], Any], done: Callable[[Any], None],
             died: Callable[[Any], Any]) -> None:
    """Run `work(task)` for every task in `jobs` worker processes; call `done` with each result as it finishes.

    `work` must be a module-level function (it is sent to the workers by name). Results that finish together
    are passed on in task order; a task whose worker process died gets `died(task)` instead. Every worker is
    a fresh process started from the same server (see `_context`), so results do not depend on `jobs`.
    Ctrl-C stops the workers at once and is raised again.
    """
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=_quiet_worker,
                               initargs=(os.getpid(),))
    stopped = False
    try:
        order: dict[Future, int] = {}
        pending: dict[Future, Any] = {}
        for i, task in enumerate(tasks):
            fut = pool.submit(_guarded, work, task)
            order[fut], pending[fut] = i, task
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=order.__getitem__):
                task = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    result = died(task)
                done(result)
    except KeyboardInterrupt:
        stopped = True
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=not stopped, cancel_futures=True)


def _context() -> mp.context.BaseContext:
    """Fresh worker processes, started from a server that has loaded the solver modules but never run HiGHS.

    Not plain fork: HiGHS keeps one thread scheduler per process, fixed at its first solve, and a child
    forked from a process that has solved inherits it (with threads that do not exist in the child).
    """
    _workers_import_this_checkout()
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return mp.get_context("spawn")


def _workers_import_this_checkout() -> None:
    """Put the folder this minplan was imported from first on PYTHONPATH, which the worker server inherits.

    Python 3.11's forkserver starts with the default sys.path (the working folder, then site-packages), not the
    parent's: `python /path/to/checkout/cli.py` run from elsewhere, with another minplan installed, would
    otherwise solve in workers running that other copy, or fail to find a module this one has.
    """
    root = str(Path(__file__).resolve().parents[2])
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if not parts or parts[0] != root:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *(p for p in parts if p != root)])


def _quiet_worker(parent: int) -> None:
    """Workers leave Ctrl-C to the parent, which stops them and keeps what finished, print nothing (HiGHS writes
    a banner to standard output), and die with the sweep: SIGTERM ends a worker like Ctrl-C ends the parent
    (temporary files removed on the way out), and a worker whose sweep is gone ends itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _terminated)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    _die_with_parent()
    threading.Thread(target=_watch_parent, args=(parent,), name="minplan-parent-watch", daemon=True).start()


def _guarded(work: Callable[[Any], Any], task: Any) -> Any:
    """`work(task)` in a worker; SIGTERM (`_terminated`) ends the worker once the work has unwound (its temporary
    files removed) rather than being sent back as the task's result."""
    try:
        return work(task)
    except SystemExit as exc:
        os._exit(exc.code if isinstance(exc.code, int) else 1)


def _terminated(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds the solve and the write: their finally blocks remove temporary files


PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): a signal the kernel sends when the parent process ends
WATCH_S = 1.0  # how often a worker checks that its sweep is still there
GRACE_S = 5.0  # after asking itself to stop, how long a worker waits before exiting at once


def _die_with_parent() -> None:
    """On Linux, have the kernel send SIGTERM to this worker when the process that forked it ends."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watch thread still ends the worker
        pass


def _watch_parent(parent: int) -> None:
    """End this worker once the sweep's process is gone (its parent is the fork server, not the sweep)."""
    while True:
        time.sleep(WATCH_S)
        try:
            os.kill(parent, 0)
            continue
        except PermissionError:  # the pid is someone else's now: the sweep is gone
            pass
        except ProcessLookupError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)  # Python code unwinds at its next bytecode
        time.sleep(GRACE_S)  # a long solve inside HiGHS does not return to Python: stop without unwinding
        os._exit(128 + signal.SIGTERM)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the running worker processes now rather than after their current solve."""
    terminate = getattr(pool, "terminate_workers", None)  # public from Python 3.14
    if terminate is not None:
        terminate()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()


def _remove_temporaries(out_dir: Path, since: float) -> None:
    """A worker ended mid-write leaves its temporary file and folder: remove those this sweep created."""
    for tmp in out_dir.glob(f"{TEMP_PREFIX}*"):
        try:
            if tmp.lstat().st_mtime < since - 1:
                continue
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink()
        except OSError:
            pass


def _row(task: Task, status: str, reason: str, **values: Any) -> dict[str, Any]:
    row = {"variant": task.vid, "status": status, "reason": reason, **{k: None for k in KPI_COLUMNS},
           "gap": None, "time_s": None, "result_file": None}
    row.update(values)
    return row


def solve_variant(task: Task) -> dict[str, Any]:
    """Solve one variant and write its result workbook; return its sweep row. Never raises for a failed solve."""
    from model.results.write import write_result
    from model.solve.solver import solve_case

    t0 = time.perf_counter()
    try:
        solution = solve_case(task.case, task.options)
        if not solution.has_plan:
            return _row(task, solution.status, no_plan_reason(solution, task.options),
                        time_s=time.perf_counter() - t0)
        info = RunInfo(command=task.command, overrides=dict(task.options))
        written = write_result(task.out, task.case, solution, info, force=task.force)
    except (CaseError, RunError) as exc:
        return _row(task, ERROR_STATUS, str(exc).replace("\n", "; "), time_s=time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - one variant's failure must not stop the sweep; its row says why
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
        return _row(task, ERROR_STATUS, f"internal error {type(exc).__name__}: {exc}{at}", time_s=time.perf_counter() - t0)
    k = solution.kpis
    return _row(task, solution.status, solution.message or "", time_s=time.perf_counter() - t0,
                result_file=written.name, gap=solution.gap, **{c: k.get(c) for c in KPI_COLUMNS})
