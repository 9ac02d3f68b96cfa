"""minplan command line: parses options and calls one function per command."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from model import __version__
from model.commands import MAX_THREADS, console_setup, echo, interrupt_status, result_complete
from model.problems import CaseError, RunError


def planner_errors(fn):
    """Turn planner-facing exceptions into a clear message and an exit status; no traceback unless --debug."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = (ctx.find_root().obj or {}).get("debug", False)
        try:
            return fn(*args, **kwargs)
        except CaseError as exc:
            for p in exc.problems:
                echo(str(p), err=True)
            n = sum(1 for p in exc.problems if p.severity == "error")
            echo(f"{n} error(s): nothing was solved or written.", err=True)
            sys.exit(exc.exit_code)
        except RunError as exc:
            echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            _interrupted()
        except Exception as exc:  # the last line of defence: never a traceback for a planner
            if _during_interrupt(exc):  # e.g. Pyomo's "Exiting PauseGC context manager out of order"
                _interrupted()
            if debug:
                raise
            echo(f"internal error: {type(exc).__name__}: {exc}\nrerun with --debug for details, and report it.", err=True)
            sys.exit(3)

    return wrapper


def _interrupted() -> None:
    """Ctrl-C or SIGTERM: exit 130 or 143 with one line, or 0 when the command's result was already complete."""
    done = result_complete()
    if done is not None:
        echo(f"interrupted after the result was written in full; it stands: {done}", err=True)
        sys.exit(0)
    echo("interrupted." if interrupt_status() == 130 else "terminated.", err=True)
    sys.exit(interrupt_status())


def _during_interrupt(exc: BaseException) -> bool:
    """True when `exc` arose while an interrupt was unwinding (an interrupt is in its context chain)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__context__ or exc.__cause__
    return False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="minplan")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """minplan: allied critical-mineral investment and stockpile planning."""
    console_setup()
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("case", type=click.Path(path_type=Path, readable=False))  # minplan words unreadable files itself
@planner_errors
def validate(case: Path) -> None:
    """Check CASE and report every problem at once (exit 1 if any error, 2 if unreadable)."""
    from model.commands import run_validate

    status = run_validate(case)
    if status:
        sys.exit(status)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it already exists.")
@planner_errors
def new(path: Path, force: bool) -> None:
    """Write a blank, documented case template to PATH (.xlsx): comments on every header, dropdowns, examples."""
    from model.commands import run_new

    run_new(path, force)


@main.command()
@click.argument("case", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Result workbook (default: outputs/<case name>.xlsx).")
@click.option("--force", is_flag=True, help="Replace OUT if it already exists.")
@click.option("--mip-rel-gap", type=click.FloatRange(min=0), help="Relative MIP gap at which to stop (overrides Settings).")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
              help="Time limit of the run in seconds: the main solve and every EVPI/VSS solve together.")
@click.option("--threads", type=click.IntRange(min=1, max=MAX_THREADS), help="Solver threads.")
@click.option("--seed", type=click.IntRange(min=0), help="Solver random seed.")
@click.option("--no-kpis", is_flag=True, help="Skip the EVPI, VSS and value-of-adapting solves.")
@click.option("--engine", type=click.Choice(["ef", "ph"]), default="ef", show_default=True,
              help="ef: the extensive form in one HiGHS solve; ph: progressive hedging with mpi-sppy over MPI ranks.")
@click.option("--ranks", type=int, default=3, show_default=True,
              help="MPI ranks for --engine ph: 1 (PH alone) or a multiple of 3 (PH, lower bound, plan search).")
@click.option("--iterations", type=click.IntRange(min=1), help="Most PH iterations for --engine ph (default 100).")
@planner_errors
def solve(case: Path | None, out: Path | None, force: bool, mip_rel_gap: float | None, time_limit: float | None,
          threads: int | None, seed: int | None, no_kpis: bool, engine: str, ranks: int, iterations: int | None) -> None:
    """Solve CASE (default cases/base.xlsx, here or shipped) and write the result workbook; exit 1 if there is no plan."""
    from model.commands import run_solve

    given = {"mip_rel_gap": mip_rel_gap, "time_limit_s": time_limit, "threads": threads, "random_seed": seed,
             "ph_iterations": iterations, "evpi_vss": False if no_kpis else None}
    run_solve(case, out, force, {k: v for k, v in given.items() if v is not None}, engine, ranks)


@main.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.option("--vary", "varies", multiple=True, required=True, metavar="TARGET=VALUES",
              help="What to vary: SHEET.COLUMN[FILTER]=V1,V2 sets, *=M1,M2 multiplies, e.g. "
                   "'Budgets.budget_musd[fund=vault]*=0.5,1,2' or 'Settings.risk_weight=0,0.5'. "
                   "Several --vary give every combination.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Output folder (default: outputs/<case>_sweep).")
@click.option("--force", is_flag=True, help="Replace files left in the output folder by an earlier sweep.")
@click.option("--mip-rel-gap", type=click.FloatRange(min=0), help="Relative MIP gap for every variant.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Time limit per variant, in seconds.")
@click.option("--no-evpi", is_flag=True, help="Skip EVPI and VSS in each variant (fewer solves in stochastic cases).")
@planner_errors
def sweep(case: Path, varies: tuple[str, ...], jobs: int | None, out: Path | None, force: bool, mip_rel_gap: float | None,
          time_limit: float | None, no_evpi: bool) -> None:
    """Solve a family of variants of CASE in parallel: result workbooks, a sweep workbook and a frontier chart."""
    from model.commands import sweep_command

    given = {"mip_rel_gap": mip_rel_gap, "time_limit_s": time_limit, "evpi_vss": False if no_evpi else None}
    outcome = sweep_command(case, varies, out, jobs, force, {k: v for k, v in given.items() if v is not None})
    if outcome.interrupted:
        sys.exit(interrupt_status())


@main.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Comparison workbook (default: outputs/compare.xlsx).")
@click.option("--force", is_flag=True, help="Replace OUT if it already exists.")
@planner_errors
def compare(results: tuple[Path, ...], out: Path | None, force: bool) -> None:
    """Compare result workbooks side by side against the first: KPIs, portfolio, yearly series, provenance."""
    import shlex

    from model.commands import compare_command

    compare_command(results, out, force, shlex.join(["minplan", *sys.argv[1:]]))


@main.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: all cores).")
@click.option("-o", "--out", type=click.Path(path_type=Path),
              help="Coalition workbook (default: outputs/<case name>_coalition.xlsx).")
@click.option("--force", is_flag=True, help="Replace OUT if it already exists.")
@click.option("--sample", type=click.IntRange(min=1), metavar="K",
              help="Draw K member orderings instead of solving every coalition (the default above 12 members).")
@click.option("--seed", type=click.IntRange(min=0), help="Seed of the sampled orderings (default: Settings random_seed).")
@click.option("--mip-rel-gap", type=click.FloatRange(min=0), help="Relative MIP gap for every coalition's solve.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Time limit per solve, in seconds.")
@planner_errors
def coalition(case: Path, jobs: int | None, out: Path | None, force: bool, sample: int | None, seed: int | None,
              mip_rel_gap: float | None, time_limit: float | None) -> None:
    """What each member gains from acting together, and fair shares of the cost: v(S) for every set S of
    members, Shapley shares, the least core and whether the shares are stable."""
    from model.commands import run_coalition

    given = {"mip_rel_gap": mip_rel_gap, "time_limit_s": time_limit}
    run_coalition(case, out, jobs, force, sample, seed, {k: v for k, v in given.items() if v is not None})


@main.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.option("--slack", type=click.FloatRange(min=0), default=0.05, show_default=True,
              help="How much dearer than the optimum a plan may be, as a share of the optimum's magnitude.")
@click.option("-n", "--count", type=click.IntRange(min=1), default=5, show_default=True, help="Plans to find.")
@click.option("-o", "--out", type=click.Path(path_type=Path),
              help="Alternatives workbook (default: outputs/<case name>_alternatives.xlsx).")
@click.option("--force", is_flag=True, help="Replace OUT if it already exists.")
@click.option("--mip-rel-gap", type=click.FloatRange(min=0), help="Relative MIP gap of every solve (overrides Settings).")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Time limit of each solve, in seconds.")
@planner_errors
def alternatives(case: Path, slack: float, count: int, out: Path | None, force: bool, mip_rel_gap: float | None,
                 time_limit: float | None) -> None:
    """Plans nearly as cheap as the optimum that differ most from it and from each other: which projects every
    plan needs, and which are interchangeable."""
    from model.commands import run_alternatives

    given = {"mip_rel_gap": mip_rel_gap, "time_limit_s": time_limit}
    run_alternatives(case, slack, count, out, force, {k: v for k, v in given.items() if v is not None})


if __name__ == "__main__":
    main()
