"""The commands: what `minplan validate`, `solve`, `sweep`, `compare`, `coalition` and `alternatives` do, and
everything they print.

Progress goes to stderr as timed steps; the short summary table and the
path of the result go to stdout. A solve without a plan writes nothing and
says why in plain words. Pyomo is imported only once a solve is certain.
"""

from __future__ import annotations

import math
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from model.case.schema import MAX_THREADS  # noqa: F401  (the bound of --threads, read by cli.py)
from model.problems import EXIT_ERRORS, EXIT_UNREADABLE, Problems, RunError, UnreadableFile
from model.run import ProgressBar, RunInfo
from model.shipped import default_case, default_outputs
from model.solution import STOPPED_AT_GAP, TIME_LIMIT_FEASIBLE, Solution, no_plan_reason, unmet_demand
from model.workbook.outfile import check_output, file_name, resolved

if TYPE_CHECKING:
    from model.results.compare import Comparison
    from model.solve.alternatives import Alternatives
    from model.studies.coalition import CoalitionOutcome
    from model.sweep.engine import SweepOutcome


# Characters a terminal acts on rather than shows: C0/C1 controls (escape sequences that retitle or clear the
# terminal), and the invisible and direction-changing marks that make text read other than it is.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_closed: list[bool] = []  # standard output is a closed pipe: later output is dropped


def plain(text: object) -> str:
    """`text` as it may reach a terminal: each control character shown as an escape (ESC as \\x1b), lines kept."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), str(text))


def echo(text: object = "", err: bool = False) -> None:
    """Print a line for the planner: control characters escaped (a case's text never drives the terminal), and a
    reader that stopped reading (`| head`) ends the output quietly instead of the command."""
    if _closed and not err:
        return
    try:
        click.echo(plain(text), err=err)
    except BrokenPipeError:
        _closed.append(True)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, (sys.stderr if err else sys.stdout).fileno())
        os.close(devnull)


class Terminated(KeyboardInterrupt):
    """SIGTERM (what `kill PID`, `timeout` and CI runners send), raised like Ctrl-C so that every temporary file
    is removed on the way out and a sweep keeps what finished."""


_awaited: list[tuple[Path, int]] = []  # the file whose placing completes the running command, and len(placed) then
_terminated: list[bool] = []


def _on_sigterm(_signum: int, _frame: object) -> None:
    _terminated.append(True)
    raise Terminated


def result_complete() -> Path | None:
    """The command's result when it has been written in full (an interrupt then changes nothing), else None."""
    from model.workbook.outfile import placed

    if not _awaited:
        return None
    target, since = _awaited[-1]
    return target if target in placed[since:] else None


def _await(target: Path) -> None:
    from model.workbook.outfile import placed

    _awaited[:] = [(target, len(placed))]


def interrupt_status() -> int:
    """Exit status of an interrupted command: 143 after SIGTERM, 130 after Ctrl-C."""
    return 143 if _terminated else 130


def console_setup() -> None:
    """Characters the console's encoding lacks (a ✓ on a cp1252 console) print as escapes, not as a crash; SIGTERM
    unwinds like Ctrl-C (see Terminated)."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a stream already closed
                pass


class Progress:
    """A progress callback: prints each step on stderr with the seconds since the run started."""

    def __init__(self, quiet: bool = False):
        self.t0 = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            echo(f"[{time.perf_counter() - self.t0:7.1f} s] {message}", err=True)


def run_validate(case_path: Path) -> int:
    """What `minplan validate` does: print every problem, then a line of counts; return the exit status."""
    from model.case.load import check_case

    try:
        _, problems = check_case(case_path)
    except UnreadableFile as exc:
        for p in exc.problems:
            echo(str(p))
        echo(f"{case_path}: cannot be read, so nothing was checked.")
        return EXIT_UNREADABLE
    for line in validation_text(problems, case_path):
        echo(line)
    return EXIT_ERRORS if problems.errors else 0


def validation_text(problems: Problems, path: str | Path) -> list[str]:
    """The lines `minplan validate` prints: errors, then warnings, then one line of counts."""
    e, w = len(problems.errors), len(problems.warnings)
    lines = [str(p) for p in problems.errors + problems.warnings]
    if e == 0 and w == 0:
        lines.append(f"{path}: no problems found.")
    else:
        lines.append(f"{path}: {_count(e, 'error')}, {_count(w, 'warning')}"
                     + (": fix the errors before solving." if e else ": the case can be solved."))
    return lines


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def run_new(path: Path, force: bool) -> None:
    """What `minplan new` does: write the documented template and say where to start."""
    from model.case.template import new_case

    new_case(path, force=force)
    echo(f"wrote {path}: start on its Overview sheet, replace the example rows, then run 'minplan validate {path}'")


def run_solve(case_path: Path | None, out: Path | None, force: bool, overrides: dict[str, Any], engine: str = "ef",
              ranks: int = 3) -> Path:
    """Load, check the output path, solve, write the result workbook; return its path.

    `engine` "ph" runs progressive hedging on `ranks` MPI ranks (run_solve_ph).
    Raises CaseError for a case with errors and RunError for an output that
    may not be written or a solve without a plan (nothing is written then).
    """
    from model.case.load import load_case

    case_path = case_path or default_case()
    run = RunInfo(overrides=dict(overrides))
    progress = Progress()
    progress(f"reading {case_path}")
    t0 = time.perf_counter()
    case = load_case(case_path)
    read_s = time.perf_counter() - t0
    for warning in case.warnings:
        echo(str(warning), err=True)
    target = check_output(out or default_outputs() / f"{file_name(case.name)}.xlsx", case.files, force=force)
    if engine == "ph":
        return run_solve_ph(case_path, case, target, force, overrides, ranks, progress)
    _await(target)
    from model.solve.solver import solve_case  # imports Pyomo: only once the output is known to be writable

    solution = solve_case(case, overrides, progress)
    solution.timings = {"read_s": read_s, **solution.timings}
    written, text = _write_solution(case, solution, target, force, run, overrides, progress)
    echo(text)
    return written


def _write_solution(case, solution: Solution, target: Path, force: bool, run: RunInfo, overrides: dict[str, Any],
                    progress: Progress) -> tuple[Path, str]:
    """Write the result workbook of a solve with a plan; return its path and the summary to print."""
    from model.results.write import write_result

    if not solution.has_plan:
        raise RunError(no_plan_message(solution, overrides))
    progress("writing the result workbook")
    t0 = time.perf_counter()
    written = write_result(target, case, solution, run, force=force, progress=progress)
    write_s = time.perf_counter() - t0
    return written, summary_text(case.name, solution, time.perf_counter() - run.clock, write_s) + f"\nresult: {written}"


PH_ENTRY = "model.ph_main"  # the MPI entry: mpiexec -n N python -m mpi4py -m model.ph_main CASE -o OUT


def run_solve_ph(case_path: Path, case, target: Path, force: bool, overrides: dict[str, Any], ranks: int,
                 progress: Progress) -> Path:
    """`minplan solve --engine ph`: check the run, launch PH under mpiexec, print what its rank 0 reported.

    Every check that can fail comes before any rank starts. A rank that fails ends the whole job (mpi4py's
    launcher aborts it); the run then says why in one line and writes nothing. Ctrl-C stops every rank."""
    import os
    import shlex
    import signal
    import subprocess
    import sys
    import tempfile

    from model.solve.ph import check_ranks

    n_scenarios = max(1, len(case.tables["Scenarios"]))
    problem = check_ranks(n_scenarios, ranks)
    if problem:
        raise RunError(problem)
    if float(case.settings.get("risk_weight") or 0) > 0:
        raise RunError("--engine ph minimises expected cost: set Settings risk_weight to 0, or use --engine ef")
    mpiexec = find_mpiexec()
    root = Path(__file__).resolve().parents[1]  # the folder holding this minplan's `model`, for every rank
    with tempfile.TemporaryDirectory(prefix="minplan_ph_") as work:  # mpi-sppy writes its logs in the working folder
        report = Path(work) / "report.txt"
        cmd = [mpiexec, "-n", str(ranks), sys.executable, "-m", "mpi4py", "-m", PH_ENTRY,
               str(Path(case_path).resolve()), "-o", str(target.resolve()), "--report", str(report),
               "--command", shlex.join(["minplan", *sys.argv[1:]]), *(["--force"] if force else []),
               *ph_option_words(overrides)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        progress(f"progressive hedging on {ranks} rank(s), {n_scenarios} scenarios")
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                errors="replace")
        said: list[str] = []
        readers = [_forward(proc.stdout, _hub_row, progress, []), _forward(proc.stderr, _progress_row, progress, said)]
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)  # mpiexec passes it on to every rank
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise RunError("interrupted: every rank was stopped and no result workbook was written", 130) from None
        for reader in readers:
            reader.join()
        if code != 0 or not report.exists():
            why = ph_failure("".join(said), code).removesuffix(".").removesuffix(". No result workbook was written")
            raise RunError(f"progressive hedging failed: {why}. No result workbook was written.")
        click.echo(report.read_text().rstrip("\n"))
    return target


def _forward(stream, pick, progress: Progress, keep: list[str]):
    """Read a rank stream in the background: keep every line, show the ones `pick` words as progress."""
    import threading

    def run():
        last = None
        for line in stream:
            keep.append(line)
            shown = pick(line)
            if shown and shown != last:  # the hub repeats its last row at termination
                progress(shown)
            last = shown or last

    reader = threading.Thread(target=run, daemon=True)
    reader.start()
    return reader


def _progress_row(line: str) -> str | None:
    """Rank 0's own progress lines ("[   1.2 s] message"), without their clock."""
    import re

    found = re.match(r"^\[\s*[\d.]+ s\] (.*)$", line.rstrip())
    return found.group(1) if found else None


def _hub_row(line: str) -> str | None:
    """mpi-sppy's hub table row ("[ 5.2]   2  L X   0.3265   0.3290   0.76%   0.0025") as a progress line."""
    import re

    found = re.match(r"^\[\s*[\d.]+\]\s+(\d+)\s+[A-Za-z ]*?\s+(\S+)\s+(\S+)\s+(\S+%)", line.rstrip())
    if not found:
        return None
    it, bound, best, gap = found.groups()
    return f"PH iteration {it}: lower bound {bound}, best plan {best}, gap {gap}"


def find_mpiexec() -> str:
    """mpiexec beside this Python (the mpich wheel installs it there), else on PATH."""
    import shutil
    import sys

    found = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    if not found:
        raise RunError("--engine ph needs MPI: pip install 'minplan[mpi]' (mpi-sppy, mpi4py and the mpich wheel)")
    return found


PH_OPTIONS = {"mip_rel_gap": "--mip-rel-gap", "time_limit_s": "--time-limit", "threads": "--threads",
              "random_seed": "--seed", "ph_iterations": "--iterations"}


def ph_option_words(overrides: dict[str, Any]) -> list[str]:
    """The entry's command-line words for the solver options given."""
    words = []
    for key, flag in PH_OPTIONS.items():
        if overrides.get(key) is not None:
            words += [flag, str(overrides[key])]
    return words


def ph_failure(stderr: str, code: int) -> str:
    """One line saying why the MPI job ended: the error a rank raised, else how a rank ended, else the exit status."""
    import re

    errors = re.findall(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception|Interrupt))(?::\s*(.*))?$", stderr, flags=re.MULTILINE)
    if errors:
        name, text = errors[-1]
        return f"a rank stopped with {name}" + (f": {text.strip()}" if text.strip() else "")
    said = re.findall(r"^error: (.*)$", stderr, flags=re.MULTILINE)
    if said:
        return said[-1].strip()
    killed = re.search(r"KILLED BY SIGNAL: (\d+)", stderr)
    if killed:
        return f"a rank was killed by signal {killed.group(1)}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    return f"mpiexec ended with status {code}" + (f" ({lines[-1].strip()})" if lines else "")


def run_ph_ranks(case_path: Path, out: Path, force: bool, overrides: dict[str, Any], report: Path | None = None,
                 command: str | None = None) -> Path | None:
    """What every MPI rank of the PH entry does: load the case, run PH together; rank 0 recomputes the plan in the
    extensive form, writes the result workbook and prints (or writes to `report`) the summary."""
    from model.case.load import load_case
    from model.solve.ph import plan_solution, run_ph
    from model.solve.solver import solver_options

    run = RunInfo(overrides=dict(overrides))
    if command:
        run.command = command
    t0 = time.perf_counter()
    case = load_case(case_path)
    read_s = time.perf_counter() - t0
    opts = solver_options(case, overrides)
    t0 = time.perf_counter()
    result = run_ph(case, opts)
    if result is None:  # not global rank 0
        return
    progress = Progress()
    progress(f"PH: {result['iterations']} iterations on {result['ranks']} rank(s), bounds "
             f"{_num(result['lower'])} .. {_num(result['upper'])} USD m")
    target = check_output(out, case.files, force=force)
    solution = plan_solution(case, result, opts, progress, {"read_s": read_s, "ph_s": time.perf_counter() - t0})
    if not solution.has_plan:
        raise RunError(no_plan_message(solution, overrides))
    written, text = _write_solution(case, solution, target, force, run, overrides, progress)
    if report is not None:
        report.write_text(text + "\n")
    else:
        echo(text)
    return written


def no_plan_message(solution: Solution, overrides: dict[str, Any] | None = None) -> str:
    """Why there is no plan, in a planner's words, ending with what was (not) written."""
    return f"no plan: {no_plan_reason(solution, overrides)}. No result workbook was written."


def _num(value: Any, unit: str = "", digits: int = 2) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "n/a"
    if abs(value) < 0.5 * 10**-digits:
        value = 0.0  # a solver's -1e-12 would print as -0.00
    return f"{value:,.{digits}f}" + (f" {unit}" if unit else "")


def summary_text(name: str, solution: Solution, total_s: float, write_s: float | None = None) -> str:
    """The short summary table printed after a solve."""
    k = solution.kpis
    port = solution.portfolio
    funded = k.get("projects_funded")
    if funded is None and "funded" in port.columns:
        funded = int(port["funded"].fillna(False).astype(bool).sum())
    of = f" of {len(port)}" if len(port) else ""
    gap = solution.gap
    t = solution.timings
    parts = ", ".join(f"{label} {t[key]:.1f} s" for label, key in (("solve", "solve_s"), ("duals", "duals_s"))
                      if isinstance(t.get(key), (int, float)))
    if write_s is not None:
        parts += f"{', ' if parts else ''}write {write_s:.1f} s"
    rows = [
        ("case", name),
        ("status", solution.status),
        ("objective", _num(solution.objective, "USD m")),
        ("public spend", _num(k.get("public_spend_musd"), "USD m")),
        ("expected shortfall", _num(k.get("expected_shortfall_t"), "t", 1)),
        ("projects funded", f"{funded}{of}" if funded is not None else "n/a"),
        ("gap", f"{gap:.2%}" if isinstance(gap, (int, float)) else "n/a"),
        *([("engine", engine_words(solution.engine))] if solution.engine.get("name") == "PH" else []),
        *([("EVPI / VSS", f"{_num(k.get('evpi_musd'))} / {_num(k.get('vss_musd'), 'USD m')}")]
          if "evpi_musd" in k or "vss_musd" in k else []),
        ("time", f"{total_s:.1f} s" + (f" ({parts})" if parts else "")),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"  {label:<{width}}  {value}" for label, value in rows]
    if solution.status == TIME_LIMIT_FEASIBLE:
        shown = f"{gap:.2%}" if isinstance(gap, (int, float)) else "an unknown margin"
        lines.append(f"NOT PROVEN OPTIMAL: the time limit stopped the solver; the best plan may cost up to {shown} less "
                     "than this one. Allow more time with --time-limit to close the gap.")
    if isinstance(k.get("kpi_note"), str):
        lines.append(f"note: {k['kpi_note']}")
    if solution.status == STOPPED_AT_GAP:
        shown = f"{gap:.2%}" if isinstance(gap, (int, float)) else "an unknown margin"
        lines.append(f"NOT PROVEN OPTIMAL: progressive hedging stopped with this plan; the best plan may cost up to {shown} "
                     "less. Allow more with --iterations or --time-limit, or solve with --engine ef.")
    return "\n".join(lines + unmet_demand_text(solution))


def engine_words(engine: dict[str, Any]) -> str:
    """How progressive hedging ran, in one line."""
    return (f"PH on {engine['ranks']} rank(s), {engine['iterations']} iterations, bounds {_num(engine.get('lower_musd'))}"
            f" .. {_num(engine.get('upper_musd'), 'USD m')}")


def unmet_demand_text(solution: Solution) -> list[str]:
    """The largest unmet member demands, one per line under a heading; nothing when all demand is met."""
    sentences, total = unmet_demand(solution)
    if not sentences:
        return []
    which = f"the largest {len(sentences)} of {total}" if total > len(sentences) else f"all {total}"
    heading = f"UNMET DEMAND, {which} (every shortfall is on the result's Supply sheet, column shortfall_t):"
    return [heading, *(f"  - {s}" for s in sentences)]


def sweep_command(case_path: Path, texts: tuple[str, ...], out_dir: Path | None, jobs: int | None, force: bool,
                  options: dict[str, Any]) -> SweepOutcome:
    """What `minplan sweep` does: load, sweep with progress on stderr, print the table; exit status is the caller's."""
    from model.case.load import load_case
    from model.sweep.engine import default_jobs, run_sweep, sweep_paths
    from model.sweep.vary import parse_varies, variants

    run = RunInfo(overrides=dict(options))
    case = load_case(case_path)
    for warning in case.warnings:
        echo(str(warning), err=True)
    target = out_dir or default_outputs() / f"{file_name(case.name, 'case')}_sweep"
    points = variants(parse_varies(texts, case))  # a bad target is said before the run is announced
    _await(sweep_paths(case, resolved(target, "output folder"), points)[2])  # the chart is written last
    bar: ProgressBar | None = None

    def progress(row: dict[str, Any], finished: int, planned: int) -> None:
        nonlocal bar
        bar = bar or ProgressBar("sweep", planned, stream=click.get_text_stream("stderr"))
        kpi = row.get("objective_musd")
        shown = f"objective {kpi:,.3f} USD m" if isinstance(kpi, (int, float)) else row.get("reason", "")
        bar.update(finished, f"{row['variant']} {row['status']}: {shown}")

    n_jobs = jobs or default_jobs()
    echo(f"sweeping {case.name} with {n_jobs} worker(s); Ctrl-C stops and keeps what finished", err=True)
    try:
        outcome = run_sweep(case, texts, target, jobs=n_jobs, force=force, options=options, progress=progress, run=run)
    finally:
        if bar is not None:
            bar.close()
    echo(sweep_text(outcome))
    echo(f"sweep workbook: {outcome.workbook}")
    echo(f"frontier chart: {outcome.chart}")
    if outcome.interrupted:
        echo(f"interrupted: {len(outcome.rows)} of {outcome.planned} variants finished and are in the sweep workbook; "
                   "the others were not solved.", err=True)
    return outcome


def sweep_text(outcome: SweepOutcome) -> str:
    """The sweep table as printed: variant, what it changes, status and the main KPIs."""
    def num(v: Any, digits: int) -> str:
        return f"{v:,.{digits}f}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "-"

    head = ("variant", "status", "objective_musd", "public_spend_musd", "expected_shortfall_t", "funded", "changes")
    lines = [head]
    for r in outcome.rows:
        lines.append((r["variant"], r["status"], num(r.get("objective_musd"), 3), num(r.get("public_spend_musd"), 3),
                      num(r.get("expected_shortfall_t"), 1), num(r.get("projects_funded"), 0), r.get("description", "")))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head) - 1)]
    out = ["  ".join(f"{c!s:<{w}}" for c, w in zip(line[:-1], widths)) + "  " + str(line[-1]) for line in lines]
    return "\n".join(out)


def compare_command(paths: tuple[Path, ...], out: Path | None, force: bool, command: str) -> Comparison:
    """What `minplan compare` does: read and check every file, compare, write, print the KPI table."""
    from model.results.compare import compare_results
    from model.results.comparebook import write_comparison
    from model.results.read import read_results

    if len(paths) < 2:
        raise RunError("compare needs at least two result workbooks: minplan compare OUT1.xlsx OUT2.xlsx ...")
    target = check_output(out or default_outputs() / "compare.xlsx", paths, force=force)  # before reading: a wrong -o is said at once
    cmp = compare_results(read_results(paths))
    written = write_comparison(target, cmp, list(paths), command, force=force)
    echo(kpi_text(cmp))
    for w in cmp.warnings:
        echo(f"warning: {w}", err=True)
    for n in cmp.notes:
        echo(f"note: {n}", err=True)
    echo(f"comparison: {written}")
    return cmp


def kpi_text(cmp: Comparison, max_rows: int = 60, width: int = 100) -> str:
    """The KPI table as printed on the console, at most `width` characters wide: value per run, change in percent.

    Each run's value, its difference from the first run and the change in percent (for fractions, in points);
    when that is too wide the differences are left to the workbook's KPIs sheet, and the KPI names are shortened
    only as far as the runs need the room.
    """
    from model.results.compare import as_number, is_missing

    def show(v: Any, unit: str, pct: bool = False) -> str:
        x = as_number(v) if not isinstance(v, str) else None
        if x is None or math.isnan(x):
            return "" if is_missing(v) else str(v)[:12]
        if pct:
            return f"{x:+.1%}"
        if unit == "fraction":
            return f"{x:.2%}"
        if x.is_integer() or abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:,.2f}" if abs(x) >= 0.01 else f"{x:.2g}"

    base = cmp.labels[0]
    others = cmp.labels[1:]
    rows = []
    for _, r in cmp.kpis.head(max_rows).iterrows():
        unit = r["unit"] or ""
        group = {"outcome": "", "kpi": "", "objective breakdown": "cost: "}.get(r["group"], f"{r['group']}: ")
        name = f"{group}{r['item']}" + (f" ({unit})" if unit and unit != "fraction" else "")
        diffs, pcts = [], []
        for lab in others:
            d = r.get(f"{lab} − {base}")
            if unit == "fraction":
                x = as_number(d) if not isinstance(d, str) else None
                diffs.append(show(d, unit))
                pcts.append("" if x is None or math.isnan(x) else f"{x * 100:+.2f} pt")
            else:
                diffs.append(show(d, unit) if not isinstance(d, str) else "")
                pcts.append(show(r.get(f"{lab} Δ%"), unit, True))
        rows.append((name, [show(r[c], unit) for c in cmp.labels], diffs, pcts))

    def table(with_diffs: bool) -> list[list[str]]:
        head = ["kpi", *cmp.labels, *([f"{lab} − {base}" for lab in others] if with_diffs else []),
                *[f"{lab} Δ%" for lab in others]]
        return [head, *[[n, *v, *(d if with_diffs else []), *p] for n, v, d, p in rows]]

    def widths_of(lines: list[list[str]]) -> list[int]:
        return [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]

    lines = table(True)
    widths = widths_of(lines)
    if sum(widths[1:]) + 2 * (len(widths) - 1) + 30 > width:  # too wide with the differences: keep values and Δ%
        lines = table(False)
        widths = widths_of(lines)
    room = width - sum(widths[1:]) - 2 * (len(widths) - 1)
    widths[0] = max(16, min(widths[0], room))
    text = []
    for line in lines:
        first = line[0] if len(line[0]) <= widths[0] else line[0][: widths[0] - 1] + "…"
        text.append("  ".join([first.ljust(widths[0]), *[c.rjust(w) for c, w in zip(line[1:], widths[1:])]]).rstrip())
    if len(cmp.kpis) > max_rows:
        text.append(f"... {len(cmp.kpis) - max_rows} more rows in the KPIs sheet")
    return "\n".join(text)


def run_alternatives(case_path: Path, slack: float, count: int, out: Path | None, force: bool,
                     overrides: dict[str, Any]) -> Alternatives:
    """What `minplan alternatives` does: solve, find the plans with progress on stderr, write the alternatives
    workbook, print the plans and the project classification. Raises RunError when the case itself has no plan
    (nothing is written then); a plan that cannot be found is reported, and what was found is written."""
    from model.case.load import load_case
    from model.studies.alternatives_book import write_alternatives_book

    run = RunInfo(overrides=dict(overrides))
    progress = Progress()
    progress(f"reading {case_path}")
    case = load_case(case_path)
    for warning in case.warnings:
        echo(str(warning), err=True)
    target = check_output(out or default_outputs() / f"{file_name(case.name, 'case')}_alternatives.xlsx", case.files,
                          force=force)
    from model.solve.alternatives import find_alternatives  # imports Pyomo: only once the output is known to be writable

    result = find_alternatives(case, slack, count, overrides, progress)
    if result.optimum is None or not result.optimum.has_plan:
        raise RunError(f"no plan: {no_plan_reason(result.optimum, overrides)}. No alternatives workbook was written.")
    progress("writing the alternatives workbook")
    written = write_alternatives_book(target, case, result, run, force=force)
    click.echo(alternatives_text(case.name, result))
    click.echo(f"alternatives workbook: {written}")
    return result


def alternatives_text(name: str, result: Alternatives) -> str:
    """The plans, one line each, then the candidates in every plan, in some and in none."""
    from model.studies.alternatives_book import EVERY, NONE, SOME, classification, plans_table, slack_words

    table = plans_table(result)
    title = (f"{name}: {result.found} of {result.requested} alternatives within {slack_words(result.slack)} of the "
             f"optimum ({_num(result.z, 'USD m')}; at most {_num(result.limit, 'USD m')})")
    lines = [title]
    head = ("plan", "objective USD m", "above optimum", "from optimum", "from nearest", "status")
    rows = [head] + [(str(r.plan), _num(r.objective_musd), f"{r.excess_share:+.2%}", f"{r.distance_to_optimum:.3g}",
                      "-" if r.plan == 0 else f"{r.distance_to_nearest:.3g}", r.status)
                     for r in table.itertuples() if r.status != "not found"]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines += [("  " + "  ".join(c.rjust(w) if 0 < i < 5 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
              .rstrip() for row in rows]
    classes = classification(result)
    words = {EVERY: "funded in every plan (the robust core)", SOME: "funded in some plans (interchangeable)",
             NONE: "funded in no plan"}
    for cls in (EVERY, SOME, NONE):
        items = classes[cls]
        shown = ", ".join(p if cls != SOME else f"{p} (plans {which})" for p, which in items)
        lines.append(f"{words[cls]}: {shown or 'none'}")
    lines.append("distances are the expected number of candidate projects funded in one plan and not the other")
    if result.missing:
        lines.append(f"plan {len(result.plans)} not found: {result.missing}")
    if result.optimum.status == TIME_LIMIT_FEASIBLE:
        gap = result.optimum.gap
        shown = f"{gap:.2%}" if isinstance(gap, (int, float)) else "an unknown margin"
        lines.append(f"NOT PROVEN OPTIMAL: the time limit stopped the first solve; the best plan may cost up to {shown} "
                     "less than plan 0, from which the slack is measured. Allow more time with --time-limit.")
    return "\n".join(lines)
def run_coalition(case_path: Path, out: Path | None, jobs: int | None, force: bool, sample: int | None, seed: int | None,
                  options: dict[str, Any]) -> CoalitionOutcome:
    """What `minplan coalition` does: solve the coalitions with progress on stderr, write the coalition workbook,
    print the shares table. Raises RunError for a case with one member or an output that may not be written."""
    from model.case.load import load_case
    from model.studies.coalition import coalition_label, coalition_study, plan_study
    from model.studies.coalition_book import write_coalition_book
    from model.sweep.engine import default_jobs

    run = RunInfo(overrides=dict(options))
    case = load_case(case_path)
    for warning in case.warnings:
        echo(str(warning), err=True)
    plan_study(case, sample, seed)  # one member: said before anything else
    target = check_output(out or default_outputs() / f"{file_name(case.name, 'case')}_coalition.xlsx", case.files,
                          force=force)
    t0 = time.perf_counter()

    def say(message: str) -> None:
        echo(f"[{time.perf_counter() - t0:7.1f} s] {message}", err=True)

    bar: ProgressBar | None = None

    def progress(row: dict[str, Any], finished: int, planned: int) -> None:
        nonlocal bar
        bar = bar or ProgressBar("coalitions", planned, stream=click.get_text_stream("stderr"))
        v = row.get("v_musd")
        shown = f"v = {v:,.3f} USD m" if isinstance(v, (int, float)) else row.get("reason", "")
        bar.update(finished, plain(f"{coalition_label(row['members'])} {row['status']}: {shown}"))

    n_jobs = jobs or default_jobs()
    say(f"coalition study of {case.name} with {n_jobs} worker(s): the whole coalition first, for the time estimate")
    try:
        outcome = coalition_study(case, jobs=n_jobs, sample=sample, seed=seed, options=options, progress=progress,
                                  say=say)
    finally:
        if bar is not None:
            bar.close()
    written = write_coalition_book(target, outcome, run, force=force)
    echo(coalition_text(outcome))
    echo(f"coalition workbook: {written}")
    if outcome.shares is None:
        raise RunError(f"{len(outcome.failed)} coalition(s) have no value (see the Coalitions sheet), so the shares "
                       "could not be computed")
    return outcome


def coalition_text(outcome: CoalitionOutcome) -> str:
    """The shares table as printed, then the stability lines (the Shares and Stability sheets)."""
    from model.studies.coalition_book import shares_table, stability_rows

    share = shares_table(outcome)
    head = [c for c in share.columns]
    lines = [head] + [[_cell(c, r[c]) for c in head] for r in share.to_dict("records")]
    widths = [max(len(str(line[j])) for line in lines) for j in range(len(head))]
    out = ["  ".join(f"{c!s:>{w}}" if j else f"{c!s:<{w}}" for j, (c, w) in enumerate(zip(line, widths)))
           for line in lines]
    noted = ("coalitions solved", "blocking coalition", "largest gap")
    for item, value, unit, note in stability_rows(outcome):
        if item in ("members", "time", "sum of stand-alone costs") or value is None:
            continue
        if item == "coalitions without a value" and not value:
            continue
        shown = _cell("share" if unit == "fraction" else "musd" if unit == "USD m" else "", value)
        show_note = note and (item in noted or (item == "coalition saving" and value < 0))
        out.append(f"  {item}: {shown}{' ' + unit if unit and unit != 'fraction' else ''}"
                   + (f" ({note})" if show_note else ""))
    if outcome.shares is not None:
        out.append("  the shares add up to v(N), the case objective less K(N): the capital and fixed opex of existing "
                   "and committed projects outside the members' regions")
    return "\n".join(out)


def _cell(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if "share" in column and not column.endswith("musd"):
        return f"{value:.1%}"
    if column.endswith("musd"):
        return _num(value, digits=3)
    return f"{value:g}"
