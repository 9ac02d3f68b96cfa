"""The pipeline's stages import only the stages they consume (STYLE.md, "One-way flow, separate rooms").

Every module of model/ and cli.py is parsed with `ast`; every import counts,
including those inside functions and under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SHARED = "shared"  # the top-level modules of model/: problems, solution, run, tables, ...: they import no stage
STAGES = ("workbook", "case", "formulation", "solve", "results", "sweep", "studies")
# stage -> the stages it may import (besides itself and the shared modules)
ALLOWED: dict[str, set[str]] = {
    SHARED: set(),  # the shared words import only each other
    "workbook": set(),
    "case": {"workbook"},
    "formulation": {"case"},
    "solve": {"formulation", "case"},
    "results": {"case", "workbook"},
    "sweep": {"solve", "results", "case", "workbook"},  # the sweep workbook is written with the safe writers
    "studies": {"solve", "results", "case", "workbook", "sweep"},  # sweep: its worker pool
    "commands": {SHARED, *STAGES},
    "cli": {"commands"},
}
# third-party package -> the only stages that may import it
EXCLUSIVE: dict[str, set[str]] = {
    "pyomo": {"formulation", "solve"},
    "highspy": {"formulation", "solve"},
    "click": {"commands", "cli"},
}


def stage_of(module: str) -> str | None:
    """The stage a dotted module name belongs to; None for anything outside minplan."""
    if module in ("cli", "model.ph_main"):  # the entry points: the command line and the MPI entry of PH
        return "cli"
    parts = module.split(".")
    if parts[0] != "model":
        return None
    if len(parts) == 1:
        return SHARED
    if parts[1] in STAGES:
        return parts[1]
    if parts[1] == "commands":
        return "commands"
    return SHARED


def module_name(path: Path) -> str:
    """model/case/load.py -> model.case.load; model/case/__init__.py -> model.case."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """Every module `source` imports, as (line, dotted name), wherever the import statement sits."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from model import solution` imports model.solution: name each imported name as a possible submodule
            found += [(node.lineno, f"{base}.{a.name}" if base in ("model", *(f"model.{s}" for s in STAGES)) else base)
                      for a in node.names]
    return found


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """The forbidden imports of one module, in words; empty when it keeps the rule."""
    own = stage_of(module)
    out = []
    for line, name in imported(module, source, is_package):
        top = name.split(".")[0]
        if top in EXCLUSIVE and own not in EXCLUSIVE[top]:
            out.append(f"{module}:{line} imports {name}: only {sorted(EXCLUSIVE[top])} may")
        target = stage_of(name)
        if target is None or target == own:
            continue
        if target == SHARED and own != SHARED:
            continue
        if target not in ALLOWED[own]:
            out.append(f"{module}:{line} ({own}) imports {name} ({target})")
    return out


def project_modules() -> list[Path]:
    return [ROOT / "cli.py", *sorted((ROOT / "model").rglob("*.py"))]


def test_every_stage_imports_only_the_stages_it_consumes():
    found = []
    for path in project_modules():
        found += violations(module_name(path), path.read_text(encoding="utf-8"), path.name == "__init__.py")
    assert found == []


def test_solving_and_the_result_writers_never_import_each_other():
    assert "results" not in ALLOWED["solve"] and "solve" not in ALLOWED["results"]
    assert not ({"pyomo", "highspy"} & {top for top, stages in EXCLUSIVE.items() if "results" in stages})


def test_every_module_belongs_to_a_stage_or_is_shared():
    for path in project_modules():
        name = module_name(path)
        parts = name.split(".")
        if len(parts) > 2:
            assert parts[1] in STAGES, f"{path}: a folder of model/ that is not a stage"


def test_the_checker_catches_a_writer_importing_the_solver():
    source = (
        "from typing import TYPE_CHECKING\n"
        "from model.case.load import Case\n"  # allowed: results consume the case
        "if TYPE_CHECKING:\n"
        "    from model.solve.solver import solve_case\n"
        "def draw():\n"
        "    import pyomo.environ as pyo\n"
        "    from model import formulation\n"
        "    import click\n"
    )
    found = violations("model.results.write", source)
    assert found == [
        "model.results.write:4 (results) imports model.solve.solver (solve)",
        "model.results.write:6 imports pyomo.environ: only ['formulation', 'solve'] may",
        "model.results.write:7 (results) imports model.formulation (formulation)",
        "model.results.write:8 imports click: only ['cli', 'commands'] may",
    ]


def test_the_checker_catches_shared_words_importing_a_stage_and_relative_imports():
    assert violations("model.solution", "def f():\n    from model.workbook import outfile\n") == [
        "model.solution:2 (shared) imports model.workbook.outfile (workbook)"]
    assert violations("model.case.load", "from ..sweep import vary\n") == [
        "model.case.load:1 (case) imports model.sweep.vary (sweep)"]
    assert violations("model.studies.coalition", "from model.formulation.data import crf\n") == [
        "model.studies.coalition:1 (studies) imports model.formulation.data (formulation)"]
    assert violations("model.studies.coalition", "from model.sweep.engine import run_pool\n") == []
    assert violations("cli", "from model.case.schema import MAX_THREADS\n") == [
        "cli:1 (cli) imports model.case.schema (case)"]

