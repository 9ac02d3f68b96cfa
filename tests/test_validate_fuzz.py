"""Whatever a planner types, validation answers in words, never with a traceback.

Random mutations of a small valid case (random values of random kinds in
random cells, deleted rows, columns and sheets, renamed headers, stray
sheets) must make `check_case` either return its problems or raise one of the
planner-facing exceptions; when it reports no error, the case must load. The
command line must exit 0, 1 or 2 and never print a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from pathlib import Path

from click.testing import CliRunner
from conftest import ROOT, run_cli
from fixtures.make_broken import good_case, good_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from cli import main
from model.case import schema as S
from model.case.load import check_case, load_case
from model.problems import CaseError, UnreadableFile

Raw = dict[str, list[list]]  # sheet -> rows of cell values, the first row the headers
EXAMPLE = ROOT / "cases" / "example.xlsx"
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)  # what Excel can store

VALUES = st.one_of(
    st.none(),
    SAFE_TEXT,
    st.sampled_from(["Y", "n", "US", "ore", "candidate", "2030", "1,000", "1,5", "-", "*", "CN>*", "#N/A", "=1+2", " ", "base.xlsx"]),
    st.integers(-10**6, 10**6),
    st.integers(1800, 2300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 1e16, -0.0, 0.5, 1.5, -1]),
    st.booleans(),
    st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 1, 1)),
    st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)


def raw_from_case(settings: dict, sheets: dict) -> Raw:
    raw: Raw = {"Settings": [["key", "value"], *[[k, v] for k, v in settings.items()]]}
    for name, rows in sheets.items():
        cols = [c.name for c in S.SHEET[name].columns if any(c.name in r for r in rows)]
        raw[name] = [cols, *[[r.get(c) for c in cols] for r in rows]]
    return raw


@functools.cache
def raw_from_file(path: Path) -> Raw:
    wb = load_workbook(path, read_only=True, data_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def write_raw(raw: Raw, path: Path) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in raw.items():
        ws = wb.create_sheet(name[:31] or "Sheet")
        for i, row in enumerate(rows, start=1):
            for j, v in enumerate(row, start=1):
                if v is not None:
                    ws.cell(row=i, column=j, value=v)  # '=...' text becomes a formula with no cached value
    if not wb.worksheets:
        wb.create_sheet("Empty")
    wb.save(path)
    return path


@st.composite
def mutations(draw, raw: Raw) -> Raw:
    """1-4 random edits of a copy of `raw`."""
    raw = {k: [list(r) for r in v] for k, v in raw.items()}
    for _ in range(draw(st.integers(1, 4))):
        if not raw:
            break
        sheet = draw(st.sampled_from(sorted(raw)))
        rows = raw[sheet]
        width = max((len(r) for r in rows), default=1) or 1
        kind = draw(st.sampled_from(["cell", "cell", "cell", "row", "column", "sheet", "header", "stray", "base"]))
        if kind == "cell" and rows:
            i, j = draw(st.integers(0, len(rows))), draw(st.integers(0, width))
            while i >= len(rows):
                rows.append([])
            rows[i].extend([None] * (j + 1 - len(rows[i])))
            rows[i][j] = draw(VALUES)
        elif kind == "row" and len(rows) > 1:
            del rows[draw(st.integers(1, len(rows) - 1))]
        elif kind == "column":
            j = draw(st.integers(0, width - 1))
            for r in rows:
                del r[j:j + 1]
        elif kind == "sheet":
            del raw[sheet]
        elif kind == "header" and rows and rows[0]:
            j = draw(st.integers(0, len(rows[0]) - 1))
            known = sorted(S.all_columns(S.SHEET.get(sheet, S.SHEETS[1])))
            rows[0][j] = draw(st.one_of(SAFE_TEXT, st.sampled_from(known), st.sampled_from([str(rows[0][j]).upper() + " "])))
        elif kind == "stray":
            raw[draw(st.sampled_from(["projects", "Sheet1", "Projets", "Demand "]))] = [["a", "b"], [1, 2]]
        elif kind == "base":
            raw.setdefault("Settings", [["key", "value"]]).append(["base_case", draw(st.one_of(SAFE_TEXT, st.just("x" * 300)))])
    return raw


def _check(raw: Raw, path: Path) -> None:
    write_raw(raw, path)
    try:
        _, problems = check_case(path)
    except (UnreadableFile, CaseError):
        return
    if not problems.errors:
        case = load_case(path)  # no error reported: the Case must build
        assert case.years and all(len(df.columns) >= 4 for df in case.tables.values())
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output


GOOD = raw_from_case(good_settings(), good_case())
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(raw=mutations(GOOD))
def test_mutated_small_case_never_crashes(raw, tmp_path):
    _check(raw, tmp_path / "fuzz.xlsx")


@FUZZ
@given(data=st.data())
def test_mutated_example_case_never_crashes(data, tmp_path):
    source = raw_from_file(EXAMPLE) if EXAMPLE.exists() else GOOD  # the shipped example, once it is there
    _check(data.draw(mutations(source)), tmp_path / "fuzz.xlsx")


def test_real_command_line_prints_no_traceback_on_hostile_cells(tmp_path):
    """A workbook holding every awkward value at once, through `python cli.py validate` itself."""
    raw = raw_from_case(good_settings(), good_case())
    awkward = [math.nan, math.inf, -1e300, True, dt.date(2030, 1, 1), "=1/0", "#DIV/0!", "", " x ", "1,5", -7]
    for name, rows in raw.items():
        for i, row in enumerate(rows[1:], start=1):
            row[i % len(row)] = awkward[(i + len(name)) % len(awkward)]
    r = run_cli("validate", write_raw(raw, tmp_path / "awkward.xlsx"))
    assert r.returncode in (1, 2), r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr and "internal error" not in r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1].endswith(("fix the errors before solving.", "nothing was checked."))


ALL_COLUMNS = [c for sheet in S.SHEETS for c in sheet.columns] + list(S.SETTINGS_KEYS) + [S.DELETE]


@settings(max_examples=150, deadline=None)
@given(col=st.sampled_from(ALL_COLUMNS), value=VALUES)
def test_fast_cell_parser_agrees_with_the_reference_parser(col, value):
    """The reader's per-column fast path gives exactly what parse_value gives, problems included."""
    from model.case.cells import parse_value, parser

    fast, slow = parser(col)(value), parse_value(col, value)
    if isinstance(slow[0], float) and math.isnan(slow[0]):
        assert math.isnan(fast[0]) and fast[1] == slow[1]
    else:
        assert fast == slow and type(fast[0]) is type(slow[0])
