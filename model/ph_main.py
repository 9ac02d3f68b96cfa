"""The MPI entry of progressive hedging: every rank runs it, rank 0 writes the result workbook.

    mpiexec -n N python -m mpi4py -m model.ph_main CASE -o OUT [--force] [--iterations K] ...

N is 1 (PH alone, its plan the rounded average) or a multiple of 3 (PH, a
Lagrangian lower bound and an xhatshuffle plan search, N/3 ranks each).
`minplan solve CASE --engine ph --ranks N` checks the run and launches this.
Launched through `python -m mpi4py`, an error on any rank ends every rank.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from model.commands import run_ph_ranks
from model.problems import CaseError, RunError


@click.command()
@click.argument("case", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Result workbook.")
@click.option("--force", is_flag=True, help="Replace OUT if it already exists.")
@click.option("--mip-rel-gap", type=float, help="Relative gap of each scenario's MIP, and PH's target gap.")
@click.option("--time-limit", type=float, help="PH's wall-time limit in seconds.")
@click.option("--threads", type=int, help="HiGHS threads per rank (default 1).")
@click.option("--seed", type=int, help="HiGHS random seed.")
@click.option("--iterations", type=int, help="Most PH iterations (default 100).")
@click.option("--report", type=click.Path(path_type=Path), help="Write the summary here instead of printing it.")
@click.option("--command", help="The command line to record in the Manifest.")
def main(case: Path, out: Path, force: bool, mip_rel_gap: float | None, time_limit: float | None, threads: int | None,
         seed: int | None, iterations: int | None, report: Path | None, command: str | None) -> None:
    """Progressive hedging on CASE over every rank of this MPI job; rank 0 writes OUT."""
    given = {"mip_rel_gap": mip_rel_gap, "time_limit_s": time_limit, "threads": threads, "random_seed": seed,
             "ph_iterations": iterations}
    try:
        run_ph_ranks(case, out, force, {k: v for k, v in given.items() if v is not None}, report, command)
    except CaseError as exc:  # a non-zero exit on one rank ends the job (mpi4py aborts it)
        for p in exc.problems:
            click.echo(str(p), err=True)
        sys.exit(exc.exit_code)
    except RunError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
