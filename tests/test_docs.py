"""The documentation generated from code stays in step with it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from model.case import schema as S

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_schema_page_is_generated_from_the_schema():
    """docs/schema.md is exactly what docs/make_schema.py writes: rerun it after changing model/case/schema.py."""
    assert (ROOT / "docs" / "schema.md").read_text(encoding="utf-8") == _load(ROOT / "docs" / "make_schema.py").page()


def test_schema_page_names_every_column_of_every_sheet():
    page = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    for sheet in S.SHEETS:
        cols = S.SETTINGS_KEYS if sheet.name == "Settings" else sheet.columns
        for c in cols:
            assert f"| {sheet.name} |" in page and f"`{c.name}`" in page, (sheet.name, c.name)


def test_readme_quick_start_is_what_ci_runs():
    """The README's test command is exactly the one .ci/run executes."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = 'pip install -e ".[test]" && python -m pytest -q'
    assert command in readme and command in ci
