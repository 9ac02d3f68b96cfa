"""cases/example.xlsx: it validates clean, is rebuilt identically, and every row says where it comes from."""

from __future__ import annotations

import importlib.util

import openpyxl
import pytest

from model.case import schema as S
from model.case.load import check_case, load_case
from tests.conftest import ROOT, run_cli

EXAMPLE = ROOT / "cases" / "example.xlsx"


@pytest.fixture(scope="module")
def case():
    """The example, loaded once for the read-only tests."""
    return load_case(EXAMPLE)


def _cells(path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_example_validates_without_errors_or_warnings():
    res = run_cli("validate", EXAMPLE)
    assert res.returncode == 0, res.stdout + res.stderr
    _, problems = check_case(EXAMPLE)
    assert problems.items == [], [str(p) for p in problems.items]


def test_builder_regenerates_identical_cells(tmp_path):
    spec = importlib.util.spec_from_file_location("build_example", ROOT / "data" / "build_example.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    out = builder.build(tmp_path / "example.xlsx")
    shipped, rebuilt = _cells(EXAMPLE), _cells(out)
    assert list(shipped) == list(rebuilt)
    for sheet in shipped:
        assert shipped[sheet] == rebuilt[sheet], f"sheet {sheet} differs: rerun data/build_example.py"


def test_every_row_of_the_example_has_a_source(case):
    for name, table in case.tables.items():
        if name == "Scenarios" or len(table) == 0:
            continue
        missing = table[table["source"].isna()]
        assert missing.empty, f"{name} rows without a source: {list(missing['_row'])}"
    wb = openpyxl.load_workbook(EXAMPLE)
    for key, _value, _note, source in wb["Settings"].iter_rows(min_row=2, values_only=True):
        assert source, f"setting {key} has no source"
    scenarios = wb["Scenarios"]
    assert all(row[-2] for row in scenarios.iter_rows(min_row=2, values_only=True))


def test_example_is_small_enough_to_check_by_hand(case):
    """A few regions, a three-stage chain, 4-6 projects of every status, two scenarios of known probability."""
    assert 6 <= len(case.years) <= 8
    regions = case.regions.set_index("region")
    assert set(regions["bloc"]) == {"ally", "partner", "concern"}
    assert sorted(case.materials["stage"]) == ["magnet", "ore", "oxide"]
    assert 4 <= len(case.projects) <= 6
    assert set(case.projects["status"]) == {"existing", "candidate", "committed"}
    assert dict(zip(case.scenarios["scenario"], case.scenarios["probability"])) == {"base": 0.75, "cn_ban": 0.25}
    supply = case.supply.groupby("origin")["price_usd_per_t"].min()
    assert supply["CN"] < supply["AU"], "China offers cheap, the partner dearer"
    tariffs = case.routes[case.routes["tariff_pct"] > 0]
    assert set(tariffs["destination"]) == {"US"} and set(tariffs["material"]) == {"ndfeb"}
    assert "CN" in set(tariffs["origin"]), "a tariff on Chinese magnets"


def test_example_keeps_the_template_layout():
    wb = openpyxl.load_workbook(EXAMPLE)
    assert wb.sheetnames[0] == "Overview"
    ws = wb["Projects"]
    assert ws.freeze_panes == "B2"
    assert all(c.comment is not None for c in ws[1])
    assert any(dv.type == "list" and dv.formula1.startswith("Regions!") for dv in ws.data_validations.dataValidation)
    assert S.SHEET["Projects"].doc in "\n".join(str(c.value) for r in wb["Overview"].iter_rows() for c in r if c.value)
