"""minplan command line: parses options and calls one function per command."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from model import __version__
from model.problems import EXIT_ERRORS, CaseError, RunError

ROOT = Path(__file__).resolve().parent
DEFAULT_CASE = ROOT / "cases" / "base.xlsx"


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
                click.echo(str(p), err=True)
            n = sum(1 for p in exc.problems if p.severity == "error")
            click.echo(f"{n} error(s): nothing was solved or written.", err=True)
            sys.exit(exc.exit_code)
        except RunError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted.", err=True)
            sys.exit(130)
        except Exception as exc:  # the last line of defence: never a traceback for a planner
            if debug:
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc}\nrerun with --debug for details, and report it.", err=True)
            sys.exit(3)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="minplan")
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """minplan: allied critical-mineral investment and stockpile planning."""
    ctx.obj = {"debug": debug}


@main.command()
@click.argument("case", type=click.Path(path_type=Path))
@planner_errors
def validate(case: Path) -> None:
    """Check CASE and report every problem at once (exit 1 if any error, 2 if unreadable)."""
    from model.case import check_case

    _, problems = check_case(case)
    for p in problems.errors + problems.warnings:
        click.echo(str(p))
    e, w = len(problems.errors), len(problems.warnings)
    click.echo(f"{case}: {e} error(s), {w} warning(s)")
    if e:
        sys.exit(EXIT_ERRORS)


if __name__ == "__main__":
    main()
