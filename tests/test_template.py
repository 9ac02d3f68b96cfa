"""`minplan new`: the documented template, its dropdowns, and safe writing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import openpyxl
import pytest
from openpyxl.workbook.workbook import Workbook

from model.case import schema as S
from model.case.load import check_case
from model.case.template import LIST_ROWS, MAX_LIST_CHARS, new_case, sheet_columns
from model.case.writer import write_case
from model.problems import RunError
from tests.conftest import minimal_sheets, run_cli


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """One template written through the real CLI, shared by the read-only tests."""
    path = tmp_path_factory.mktemp("tpl") / "new_case.xlsx"
    res = run_cli("new", path)
    assert res.returncode == 0, res.stderr
    return path


def _rules(ws) -> dict[str, list]:
    """Column letter -> data validations whose range starts in that column's row 2."""
    out: dict[str, list] = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            letter = "".join(ch for ch in rng.coord.split(":")[0] if ch.isalpha())
            out.setdefault(letter, []).append(dv)
    return out


def test_new_template_validates_clean(template):
    res = run_cli("validate", template)
    assert res.returncode == 0, res.stdout + res.stderr
    _, problems = check_case(template)
    assert problems.errors == []


def test_overview_comes_first_and_names_every_sheet(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames[0] == "Overview"
    text = "\n".join(str(c.value) for row in wb["Overview"].iter_rows() for c in row if c.value is not None)
    for sheet in S.SHEETS:
        assert sheet.name in text and sheet.doc in text
    for word in ("base_case", "delete", "USD million", "Required sheets: Settings, Regions, Materials, Demand, Projects"):
        assert word in text


def test_every_schema_column_has_a_commented_header(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames[1:] == [s.name for s in S.SHEETS]
    for sheet in S.SHEETS:
        ws = wb[sheet.name]
        headers = [c.value for c in ws[1]]
        expected = [c.name for c in sheet.columns] + ["source", "note"]
        assert sorted(headers) == sorted(expected), sheet.name
        assert ws.freeze_panes == "B2"
        for cell in ws[1]:
            col = {c.name: c for c in sheet_columns(sheet)}[cell.value]
            assert cell.font.b, f"{sheet.name}!{cell.coordinate} is not bold"
            assert cell.comment is not None and col.doc in cell.comment.text, f"{sheet.name}!{cell.coordinate}"
            assert ("Required." in cell.comment.text) == col.required
            if col.unit:
                assert col.unit in cell.comment.text
            if col.default is not None and not col.required:
                assert "blank =" in cell.comment.text


def test_settings_lists_every_key_with_default_and_note(template):
    ws = openpyxl.load_workbook(template)["Settings"]
    assert [c.value for c in ws[1]][:3] == ["key", "value", "note"]
    rows = {r[0]: r[1:3] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert list(rows) == [k.name for k in S.SETTINGS_KEYS]
    for key in S.SETTINGS_KEYS:
        value, note = rows[key.name]
        assert key.doc in note
        if key.default is not None:
            assert value == key.default


def test_dropdowns_cover_enumerations_and_references(template):
    wb = openpyxl.load_workbook(template)
    for sheet in S.SHEETS:
        ws = wb[sheet.name]
        rules = _rules(ws)
        for j, col in enumerate(sheet_columns(sheet), start=1):
            letter = openpyxl.utils.get_column_letter(j)
            lists = [dv for dv in rules.get(letter, []) if dv.type == "list"]
            where = f"{sheet.name}.{col.name}"
            if sheet.name == "Settings" and col.name == "value":
                continue  # one rule per key's cell: test_each_setting_value_has_its_own_rule
            if col.kind == S.ENUM:
                assert len(lists) == 1, where
                assert lists[0].formula1.strip('"').split(",") == list(col.choices), where
            elif col.kind == S.YN:
                assert len(lists) == 1 and lists[0].formula1 == '"Y,N"', where
            elif col.ref:
                target = S.SHEET[col.ref]
                key_letter = openpyxl.utils.get_column_letter(
                    [c.name for c in sheet_columns(target)].index(target.key[0]) + 1)
                assert len(lists) == 1, where
                assert lists[0].formula1 == f"{col.ref}!${key_letter}$2:${key_letter}${LIST_ROWS}", where
            else:
                assert lists == [], where
            for dv in lists:
                assert len(dv.formula1) <= MAX_LIST_CHARS + 2
                assert f"{letter}2:{letter}{LIST_ROWS}" in str(dv.sqref)
    key_rule = _rules(wb["Settings"])["A"][0]
    assert "start_year" in key_rule.formula1 and "random_seed" in key_rule.formula1


def test_new_refuses_to_overwrite_without_force(tmp_path):
    path = write_case(tmp_path / "mine.xlsx", {"start_year": 2026, "end_year": 2026}, minimal_sheets())
    before = _sha(path)
    res = run_cli("new", path)
    assert res.returncode == 1
    assert "already exists" in res.stderr and "--force" in res.stderr
    assert _sha(path) == before
    res = run_cli("new", path, "--force")
    assert res.returncode == 0, res.stderr
    assert _sha(path) != before
    assert openpyxl.load_workbook(path).sheetnames[0] == "Overview"


def test_new_refuses_a_path_that_is_not_xlsx(tmp_path):
    res = run_cli("new", tmp_path / "case.xls")
    assert res.returncode == 1
    assert ".xlsx" in res.stderr and "Traceback" not in res.stderr
    for name in ("case", "case.ods", "case.xlsx.bak"):
        with pytest.raises(RunError, match=r"does not end in \.xlsx"):
            new_case(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = write_case(tmp_path / "keep.xlsx", {"start_year": 2026, "end_year": 2026}, minimal_sheets())
    before = _sha(path)

    def broken_save(self, filename):
        Path(filename).write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Workbook, "save", broken_save)
    with pytest.raises(RunError, match="No space left"):
        new_case(path, force=True)
    with pytest.raises(RunError):
        new_case(tmp_path / "fresh.xlsx")
    assert _sha(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.xlsx"]


def _replace_rows(ws, rows: list[list]) -> None:
    ws.delete_rows(2, ws.max_row)
    for i, values in enumerate(rows, start=2):
        for j, v in enumerate(values, start=1):
            ws.cell(row=i, column=j, value=v)


def test_filled_template_validates_clean(template, tmp_path):
    """A planner's path: open the template, replace the examples with a small case of their own, validate."""
    wb = openpyxl.load_workbook(template)
    settings = wb["Settings"]
    for row in settings.iter_rows(min_row=2):
        if row[0].value in ("start_year", "end_year"):
            row[1].value = 2030
        if row[0].value == "case_name":
            row[1].value = "lithium_check"
    own = {
        "Regions": [["CA", "Canada", "ally", "Y"], ["AR", "Argentina", "partner", "N"]],
        "Materials": [["li2co3", "Lithium carbonate", "oxide", 12000, 60000, 50]],
        "Demand": [["CA", "li2co3", 2030, 400]],
        "Projects": [["ca_refinery", "Refinery", "CA", "existing", "li2co3", 300]],
        "Supply": [["AR", "li2co3", 2030, 1000, 11000]],
    }
    keep = {"Settings", *own}
    for sheet in S.SHEETS:
        if sheet.name not in keep:
            _replace_rows(wb[sheet.name], [])
        elif sheet.name != "Settings":
            _replace_rows(wb[sheet.name], own[sheet.name])
    out = tmp_path / "filled.xlsx"
    wb.save(out)
    merged, problems = check_case(out)
    assert problems.errors == [], [str(p) for p in problems.errors]
    assert [r.values["region"] for r in merged.tables["Regions"]] == ["CA", "AR"]
    assert merged.settings["start_year"].values["value"] == 2030


def test_each_setting_value_has_its_own_rule(template):
    """Settings mixes kinds in one column: decisions offers adaptive/now, mip_rel_gap is checked from 0 to 0.5."""
    ws = openpyxl.load_workbook(template)["Settings"]
    row = {r[0].value: r[0].row for r in ws.iter_rows(min_row=2)}
    by_cell = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    decisions = by_cell[f"B{row['decisions']}"]
    assert (decisions.type, decisions.formula1) == ("list", '"adaptive,now"')
    gap = by_cell[f"B{row['mip_rel_gap']}"]
    assert (gap.type, gap.operator, gap.formula1, gap.formula2) == ("decimal", "between", "0", "0.5")
    seed = by_cell[f"B{row['random_seed']}"]
    assert (seed.type, seed.formula2) == ("whole", str(S.MAX_SEED))
    assert f"B{row['case_name']}" not in by_cell


def _comments(wb, sheet: str) -> dict[str, str]:
    return {c.value: c.comment.text for c in wb[sheet][1]}


def test_every_word_of_every_dropdown_is_explained_where_it_is_typed(template):
    wb = openpyxl.load_workbook(template)
    overview = "\n".join(str(c.value) for row in wb["Overview"].iter_rows() for c in row if c.value is not None)
    notes = {r[0]: r[2] for r in wb["Settings"].iter_rows(min_row=2, values_only=True)}
    for sheet in S.SHEETS:
        for col in (*sheet.columns, *(S.SETTINGS_KEYS if sheet.name == "Settings" else ())):
            if col.kind != S.ENUM or col.name == "key":
                continue
            assert [w for w, _ in col.meanings] == list(col.choices), f"{sheet.name}.{col.name} explains every word"
            text = notes[col.name] if sheet.name == "Settings" else _comments(wb, sheet.name)[col.name]
            for word, meaning in col.meanings:
                assert f"{word}: {meaning}" in text and f"{word}: {meaning}" in overview, (sheet.name, word)


def test_magnitude_and_target_say_per_kind_what_they_mean(template):
    wb = openpyxl.load_workbook(template)
    comments = _comments(wb, "Disruptions")
    for col in ("magnitude", "target"):
        assert "see docs" not in comments[col]
        assert all(kind in comments[col] for kind in S.DISRUPTION_KINDS), col
    assert "origin_block: no tonne made in the origin reaches the destination" in comments["kind"]
    lists = [dv for dv in wb["Disruptions"].data_validations.dataValidation if dv.type == "list"]
    assert any("origin_block" in dv.formula1 for dv in lists)


def test_overview_explains_the_scenario_tree_shortfall_costs_and_how_to_type_numbers(template):
    wb = openpyxl.load_workbook(template)
    overview = "\n".join(str(c.value) for row in wb["Overview"].iter_rows() for c in row if c.value is not None)
    for words in ("a scenario tree", "decisions = adaptive", "decisions = now", "ShortfallCosts", "max_nodes",
                  "fid_step_yr", "Penalties must not fall", "region * applies to the coalition as a whole",
                  "not 1,000", "1e9 t", "Disruptions magnitude"):
        assert words in overview, words


def test_template_examples_show_a_two_step_cost_curve_and_a_coalition_policy(template):
    wb = openpyxl.load_workbook(template)
    steps = [r[:4] for r in wb["ShortfallCosts"].iter_rows(min_row=2, values_only=True)]
    assert steps == [("magnet", None, 0.1, 100000), ("magnet", None, 0.3, 200000)]
    assert "*" in [r[0] for r in wb["Policies"].iter_rows(min_row=2, values_only=True)]
    region_rule = next(dv for dv in wb["Policies"].data_validations.dataValidation if str(dv.sqref).startswith("A2:"))
    assert region_rule.errorStyle == "warning" and "type *" in region_rule.prompt
