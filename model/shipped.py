"""Where things are by default: the shipped case workbooks, the default case and the output folder.

The shipped cases live in the checkout's top-level `cases/`; `model/cases`
links to that folder, so a wheel carries them inside the package
(package data) and an editable install reads them in place. The default case
is `cases/base.xlsx` in the working folder when there is one, else the
shipped copy; results go to `outputs/` in the working folder.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
DEFAULT_CASE_NAME = "base.xlsx"


def shipped_cases() -> Path:
    """The folder of the case workbooks shipped with minplan (installed package first, then the checkout)."""
    inside = PACKAGE / "cases"
    if inside.is_dir():
        return inside
    return PACKAGE.parent / "cases"


def default_case(cwd: Path | None = None) -> Path:
    """The case `minplan solve` solves when none is named."""
    local = (cwd or Path.cwd()) / "cases" / DEFAULT_CASE_NAME
    return local if local.is_file() else shipped_cases() / DEFAULT_CASE_NAME


def default_outputs(cwd: Path | None = None) -> Path:
    """The folder results go to when no output is named: outputs/ in the working folder."""
    return (cwd or Path.cwd()) / "outputs"
