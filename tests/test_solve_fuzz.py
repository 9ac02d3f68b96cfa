"""Whatever a planner types into a case, `minplan solve` ends cleanly and never touches the case.

A copy of cases/example.xlsx is mutated (random values of random kinds in
random cells of its numeric columns, deleted rows) and solved through the
real command line with a short time limit. Every run must end in one of two
ways: a clean result (exit 0; the result workbook exists and opens, with a
plan) or a clean error (exit 1 or 2; no traceback; no result and no
temporary file left in the output folder). The case file's SHA-256 must be
the same after the run as before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from model.case import schema as S
from model.solution import HAS_PLAN
from tests.conftest import ROOT, run_cli

EXAMPLE = ROOT / "cases" / "example.xlsx"
NUMERIC = (S.NUMBER, S.INTEGER, S.YEAR)
NUMERIC_SETTINGS = {k.name for k in S.SETTINGS_KEYS if k.kind in NUMERIC}

# Mostly values a planner might type (so that many mutated cases still solve), and some that no one should.
VALUES = st.one_of(
    st.sampled_from([0, 0.0, -0.0, 0.5, 1, 2, 3, 10, 100, 1e4, 1e6, 1e9, 2026, 2029, 2033, 2040]),
    st.integers(-100, 10**6),
    st.floats(min_value=-1e3, max_value=1e7, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -1, -1e300, 1e300]),
    st.sampled_from(["", " ", "abc", " 12 ", "1,000", "1,5", "=1+2", "#N/A", "Y", "-"]),
    st.none(),
    st.booleans(),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)),
)


def numeric_cells(wb) -> list[tuple[str, int, int]]:
    """(sheet, row, column) of every data cell in a numeric column; in Settings, the values of numeric keys."""
    cells = []
    for ws in wb.worksheets:
        header = [c.value for c in ws[1]]
        if ws.title == "Settings":
            col = header.index("value") + 1
            cells += [(ws.title, r, col) for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value in NUMERIC_SETTINGS]
            continue
        sheet = S.SHEET.get(ws.title)
        kinds = {c.name: c.kind for c in sheet.columns} if sheet else {}
        cols = [j for j, h in enumerate(header, start=1) if kinds.get(h) in NUMERIC]
        cells += [(ws.title, r, j) for r in range(2, ws.max_row + 1) for j in cols]
    return cells


FACTORS = (0, 0.5, 0.9, 1.1, 2, 10)  # a number a planner rescales; a whole number or year moves by -2..+2 instead


@st.composite
def edits(draw) -> list[tuple]:
    """1-4 edits, by index into numeric_cells: ('scale', cell, i) rescales the value there, ('cell', cell, value)
    types a random value; ('row', sheet, row) deletes a data row."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["scale"] * 5 + ["cell"] * 3 + ["row"] * 2))
        if kind == "scale":
            out.append(("scale", draw(st.integers(0, 10**6)), draw(st.integers(0, len(FACTORS) - 1))))
        elif kind == "cell":
            out.append(("cell", draw(st.integers(0, 10**6)), draw(VALUES)))
        else:
            out.append(("row", draw(st.integers(0, 100)), draw(st.integers(0, 10**6))))
    return out


def rescaled(value, i: int):
    """The value a 'scale' edit writes: FACTORS[i] times a number, or a whole number moved by i - 2."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return value + i - 2 if isinstance(value, int) else value * FACTORS[i]


def mutate(path: Path, changes: list[tuple]) -> None:
    """Apply `changes` to the workbook at `path` (a copy of the example) and save it."""
    wb = load_workbook(path)
    for kind, a, b in changes:
        if kind in ("cell", "scale"):
            cells = numeric_cells(wb)
            cell = wb[cells[a % len(cells)][0]].cell(*cells[a % len(cells)][1:])
            # '=...' becomes a formula Excel never computed: a planner's mistake too
            cell.value = b if kind == "cell" else rescaled(cell.value, b)
        else:
            ws = wb.worksheets[a % len(wb.worksheets)]
            if ws.max_row > 1:
                ws.delete_rows(2 + b % (ws.max_row - 1))
    wb.save(path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_run(case: Path, folder: Path) -> None:
    """Solve `case` into `folder`/result.xlsx and check the outcome is a clean result or a clean error."""
    out = folder / "result.xlsx"
    before = sha256(case)
    done = run_cli("solve", case, "-o", out, "--time-limit", "10", timeout=240)
    text = done.stdout + done.stderr
    assert sha256(case) == before, "the case file changed"
    assert "Traceback" not in text and "internal error" not in text, text
    assert done.returncode in (0, 1, 2), text
    if done.returncode == 0:
        assert [p.name for p in folder.iterdir()] == ["result.xlsx"], text
        wb = load_workbook(out, read_only=True)
        status = next(r[2] for r in wb["Summary"].iter_rows(values_only=True) if r[:2] == ("outcome", "status"))
        wb.close()
        assert status in HAS_PLAN, text
    else:
        assert not any(folder.iterdir()), f"left behind: {list(folder.iterdir())}\n{text}"
        assert "error" in text, text


FUZZ = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(changes=edits())
def test_mutated_example_solves_or_fails_cleanly(changes, tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz")
    case = Path(shutil.copy(EXAMPLE, work / "case.xlsx"))
    mutate(case, changes)
    out = work / "out"
    out.mkdir()
    check_run(case, out)


def test_unmutated_example_gives_a_clean_result(tmp_path):
    """The baseline the mutations start from: a clean result, so check_run's success branch is exercised."""
    case = Path(shutil.copy(EXAMPLE, tmp_path / "case.xlsx"))
    (tmp_path / "out").mkdir()
    check_run(case, tmp_path / "out")
    assert (tmp_path / "out" / "result.xlsx").exists()
