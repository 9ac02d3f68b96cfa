"""Case inheritance: a variant workbook lists only what it changes.

Replace merges cell by cell (a blank keeps the base's value), new keys add
rows, delete = Y removes the base row, chains work, cycles and missing bases
are clear errors, and a value inherited from a base is reported at its cell
in the base file.
"""

from __future__ import annotations

import shutil

import pytest
from fixtures.make_broken import OUT, good_case, good_settings

from model.case.load import check_case, load_case
from model.case.writer import write_case
from model.problems import CaseError


@pytest.fixture
def base(tmp_path):
    """The valid fixture case, copied next to the variants."""
    return shutil.copy(OUT / "good.xlsx", tmp_path / "base.xlsx")


def _variant(tmp_path, name="variant.xlsx", settings=None, **sheets):
    s = {"base_case": "base.xlsx"}
    s.update(settings or {})
    return write_case(tmp_path / name, s, sheets)


def _row(case, sheet, **key):
    df = case.tables[sheet]
    for col, val in key.items():
        df = df[df[col] == val]
    assert len(df) == 1, df
    return df.iloc[0]


def test_a_variant_with_only_settings_is_the_base_case(tmp_path, base):
    case = load_case(_variant(tmp_path, settings={"case_name": "same"}))
    ref = load_case(base)
    assert case.name == "same"
    for sheet, df in ref.tables.items():
        cols = [c for c in df.columns if c != "_file"]
        assert case.tables[sheet][cols].equals(df[cols]), sheet
    assert [p.name for p in case.files] == ["variant.xlsx", "base.xlsx"]


def test_replace_merges_cell_by_cell_and_blank_keeps_the_base_value(tmp_path, base):
    v = _variant(tmp_path, Projects=[{"project": "us_mine", "capex_musd": 450, "region": None}])
    case = load_case(v)
    row = _row(case, "Projects", project="us_mine")
    assert row["capex_musd"] == 450  # replaced
    assert row["capacity_tpy"] == 1000 and row["region"] == "US" and row["lead_time_yr"] == 3  # kept
    assert len(case.projects) == 4
    assert row["_file"] == "variant.xlsx"


def test_settings_replace_the_base_one_key_at_a_time(tmp_path, base):
    case = load_case(_variant(tmp_path, settings={"end_year": 2040}))
    assert case.settings["end_year"] == 2040 and case.settings["start_year"] == 2026
    assert case.settings["discount_rate"] == 0.05


def test_a_new_key_adds_a_row(tmp_path, base):
    v = _variant(tmp_path, Demand=[{"region": "US", "material": "magnet", "year": 2033, "demand_t": 175}])
    case = load_case(v)
    assert len(case.demand) == 5
    assert _row(case, "Demand", year=2033)["demand_t"] == 175


def test_delete_removes_the_base_row(tmp_path, base):
    v = _variant(tmp_path, Dependencies=[{"project": "us_ref", "relation": "requires", "other": "us_mine", "delete": "Y"}],
                 Budgets=[{"fund": "eu_loan", "year": 2026, "delete": "yes"}])
    case = load_case(v)
    assert len(case.dependencies) == 0
    assert sorted(case.budgets["fund"]) == ["eu_stock", "us_grant"]
    assert any("this fund has no budget" in p.message for p in case.warnings)


def test_delete_of_a_row_the_base_lacks_warns_at_the_delete_cell(tmp_path, base):
    v = _variant(tmp_path, Budgets=[{"fund": "us_grant", "year": 2030, "delete": "Y"}])
    _, problems = check_case(v)
    assert problems.errors == []
    assert [str(p) for p in problems.warnings] == [
        ("warning: variant.xlsx: Budgets!C2: delete = Y names a row the base case does not have: nothing is removed "
        "(found 'us_grant, 2030')")
    ]


def test_delete_in_a_case_without_base_is_ignored_with_a_warning(make_case):
    from conftest import minimal_sheets

    sheets = minimal_sheets()
    sheets["Demand"].append({"region": "US", "material": "mag", "year": 2026, "demand_t": 3, "delete": "Y"})
    path = make_case(**sheets)
    _, problems = check_case(path)
    assert problems.errors == []
    assert [p.where for p in problems.warnings] == ["Demand!E3"]
    assert len(load_case(path).demand) == 1


def test_chain_c_then_b_then_a(tmp_path, base):
    b = _variant(tmp_path, "b.xlsx", Projects=[{"project": "us_mine", "capex_musd": 350}],
                 Materials=[{"material": "oxide", "price_usd_per_t": 65000}])
    a = write_case(tmp_path / "a.xlsx", {"base_case": "b.xlsx"}, {"Projects": [{"project": "us_mine", "lead_time_yr": 4}]})
    case = load_case(a)
    row = _row(case, "Projects", project="us_mine")
    assert (row["capex_musd"], row["lead_time_yr"], row["capacity_tpy"]) == (350, 4, 1000)
    assert _row(case, "Materials", material="oxide")["price_usd_per_t"] == 65000
    assert [p.name for p in case.files] == ["a.xlsx", "b.xlsx", "base.xlsx"]
    assert b.exists()


def test_a_base_in_another_folder_is_found_relative_to_the_variant(tmp_path, base):
    (tmp_path / "variants").mkdir()
    v = write_case(tmp_path / "variants" / "v.xlsx", {"base_case": "../base.xlsx"}, {})
    assert len(load_case(v).projects) == 4


def test_a_base_path_typed_with_backslashes_is_found(tmp_path, base):
    (tmp_path / "variants").mkdir()
    v = write_case(tmp_path / "variants" / "v.xlsx", {"base_case": "..\\base.xlsx"}, {})
    assert len(load_case(v).projects) == 4


def test_cycle_is_an_error_naming_the_files(tmp_path):
    a = write_case(tmp_path / "a.xlsx", {"base_case": "b.xlsx", "start_year": 2026, "end_year": 2030}, good_case())
    write_case(tmp_path / "b.xlsx", {"base_case": "a.xlsx"}, {})
    _, problems = check_case(a)
    assert [str(p) for p in problems.errors] == [
        ("error: b.xlsx: Settings!B2: circular inheritance: a.xlsx -> b.xlsx -> a.xlsx (found 'a.xlsx'; "
        "expected a base_case that does not lead back to this file)")
    ]


def test_a_case_that_names_itself_as_base_is_a_cycle(tmp_path):
    settings = {**good_settings(), "base_case": "self.xlsx"}
    _, problems = check_case(write_case(tmp_path / "self.xlsx", settings, good_case()))
    assert [p.message for p in problems.errors] == ["circular inheritance: self.xlsx -> self.xlsx"]


def test_missing_base_names_both_files(tmp_path):
    v = write_case(tmp_path / "v.xlsx", {"base_case": "gone.xlsx"}, {})
    _, problems = check_case(v)
    assert len(problems.errors) == 1
    first = str(problems.errors[0])
    assert first.startswith("error: v.xlsx: Settings!B2: base case gone.xlsx not found (looked for ")
    assert first.endswith("(found 'gone.xlsx'; expected the path of an existing .xlsx workbook, relative to this file's folder)")


def test_unreadable_base_is_an_error_at_the_base_case_cell(tmp_path):
    shutil.copy(OUT / "not_an_xlsx.xlsx", tmp_path / "bad.xlsx")
    v = write_case(tmp_path / "v.xlsx", {"base_case": "bad.xlsx"}, {})
    _, problems = check_case(v)
    assert len(problems.errors) == 1
    assert problems.errors[0].where == "Settings!B2"
    assert problems.errors[0].message.startswith("base case bad.xlsx cannot be read: ")


def test_an_inherited_bad_value_is_reported_at_its_cell_in_the_base(tmp_path):
    sheets = good_case()
    sheets["Projects"][1]["lead_time_yr"] = 12  # us_ref can never come online: the base's Projects!G3
    write_case(tmp_path / "base.xlsx", good_settings(), sheets)
    v = _variant(tmp_path, Projects=[{"project": "us_ref", "capex_musd": 250}])
    _, problems = check_case(v)
    assert [(p.file.rsplit("/", 1)[-1], p.where) for p in problems.errors] == [("base.xlsx", "Projects!G3")]


def test_a_replaced_value_is_reported_in_the_variant(tmp_path, base):
    v = _variant(tmp_path, Projects=[{"project": "us_ref", "lead_time_yr": 12}])
    _, problems = check_case(v)
    assert [(p.file.rsplit("/", 1)[-1], p.where) for p in problems.errors] == [("variant.xlsx", "Projects!B2")]


def test_duplicate_keys_inside_a_variant_are_an_error(tmp_path, base):
    v = _variant(tmp_path, Projects=[{"project": "us_mine", "capex_musd": 1}, {"project": "us_mine", "capex_musd": 2}])
    _, problems = check_case(v)
    assert [str(p) for p in problems.errors] == [
        ("error: variant.xlsx: Projects!A3: duplicate project: also at Projects!A2 (found 'us_mine'; "
        "expected each project once: delete or merge one of the rows)")
    ]


def test_variant_errors_refuse_to_load(tmp_path, base):
    v = _variant(tmp_path, Projects=[{"project": "us_mine", "capex_musd": -1}])
    with pytest.raises(CaseError) as info:
        load_case(v)
    assert "variant.xlsx: Projects!B2: capex_musd is negative" in str(info.value)
