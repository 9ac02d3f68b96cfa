"""`load_case` gives the formulation a plain, complete Case: every column, every default, typed values."""

from __future__ import annotations

import hashlib
import math

import pytest
from conftest import minimal_sheets
from fixtures.make_broken import OUT

from model.case import schema as S
from model.case.load import Case, build_case, check_case, load_case
from model.problems import CaseError


@pytest.fixture(scope="module")
def good() -> Case:
    return load_case(OUT / "good.xlsx")


def test_every_sheet_has_every_schema_column_plus_provenance(good):
    for sheet in S.SHEETS:
        if sheet.name == "Settings":
            continue
        computed = ["options"] if sheet.name == "Scenarios" else []  # each scenario's event=option labels
        assert list(good.tables[sheet.name].columns) == ([c.name for c in sheet.columns] + ["source", "note", "_file", "_row"]
                                                         + computed)
    assert list(good.scenarios.options) == [(), ()]  # listed scenarios happen by name, not by event


def test_settings_have_their_defaults(good):
    s = good.settings
    assert (s["start_year"], s["end_year"], s["discount_rate"]) == (2026, 2035, 0.05)
    assert (s["mcpf"], s["risk_weight"], s["cvar_alpha"], s["random_seed"]) == (0.2, 0.0, 0.9, 0)
    assert s["time_limit_s"] is None and s["threads"] is None
    assert good.years == list(range(2026, 2036))
    assert good.name == "good"


def test_whole_numbers_stay_whole_and_blanks_are_none_never_nan(good):
    assert all(type(y) is int for y in good.demand["year"])
    assert all(type(y) is int for y in good.projects["earliest_fid_year"])
    p = good.projects.set_index("project")
    assert p.loc["au_mine", "capex_musd"] is None
    assert p.loc["au_mine", "retire_year"] is None
    for df in good.tables.values():
        for col in df.columns:
            assert not any(isinstance(v, float) and math.isnan(v) for v in df[col]), col


def test_computed_defaults(good):
    p = good.projects.set_index("project")
    assert p.loc["us_mine", "earliest_fid_year"] == 2026  # start_year
    assert p.loc["us_mine", "latest_fid_year"] == 2035 - 3  # end_year - lead_time_yr
    assert p.loc["us_ref", "earliest_fid_year"] == 2027  # as typed
    assert p.loc["au_mine", "latest_fid_year"] == 2035  # no lead time: end_year
    assert p.loc["us_mine", "life_yr"] == 20 and p.loc["us_mine", "ramp_yr"] == 0
    assert p.loc["us_ref", "min_public_share"] == 0.0 and p.loc["us_ref", "max_public_share"] == 1.0
    f = good.funds.set_index("fund")
    assert f.loc["us_grant", "budget_cost_per_musd"] == 1.0  # grant default
    assert f.loc["eu_loan", "eligible_regions"] == ("US", "AU")
    assert f.loc["eu_stock", "eligible_regions"] == ()
    assert f.loc["eu_stock", "carryover"] is False
    k = good.stockpiles.set_index("stockpile")
    assert k.loc["eu_pile", "buy_until_year"] == 2035
    assert k.loc["eu_pile", "release_only_in_disruption"] is True
    d = good.disruptions.set_index("kind")
    assert d.loc["supply_cut", "magnitude"] == 1.0  # supply_cut default
    assert d.loc["route_block", "magnitude"] is None
    r = good.routes.set_index("origin")
    assert r.loc["CN", "allowed"] is True and r.loc["CN", "material"] is None


def test_no_scenarios_sheet_means_one_base_scenario(make_case):
    case = load_case(make_case(**minimal_sheets()))
    assert case.scenarios[["scenario", "probability"]].values.tolist() == [["base", 1.0]]


def test_each_row_remembers_its_file_and_row(good):
    assert good.projects[["project", "_file", "_row"]].values.tolist()[:2] == [
        ["us_mine", "good.xlsx", 2], ["us_ref", "good.xlsx", 3]]


def test_source_and_note_travel_with_the_row(make_case):
    sheets = minimal_sheets()
    sheets["Demand"][0]["source"] = "USGS MCS 2025, p. 12"
    sheets["Demand"][0]["note"] = "assumption: flat"
    case = load_case(make_case(**sheets))
    assert case.demand[["source", "note"]].values.tolist() == [["USGS MCS 2025, p. 12", "assumption: flat"]]


def test_sheet_tables_by_attribute(good):
    assert good.projects is good.tables["Projects"]
    with pytest.raises(AttributeError):
        good.nonsense  # noqa: B018


def test_sha256_of_every_file(good):
    path = OUT / "good.xlsx"
    assert good.sha256() == {str(path.resolve()): hashlib.sha256(path.read_bytes()).hexdigest()}


def test_errors_refuse_to_load_and_carry_every_problem():
    with pytest.raises(CaseError) as info:
        load_case(OUT / "negative_capex.xlsx")
    assert info.value.exit_code == 1
    assert [p.where for p in info.value.problems if p.severity == "error"] == ["Projects!F2"]


def test_warnings_travel_with_the_case():
    case = load_case(OUT / "warn_member_without_demand.xlsx")
    assert [p.where for p in case.warnings] == ["Regions!A6"]


def test_build_case_from_check_case(good):
    merged, problems = check_case(OUT / "good.xlsx")
    case = build_case(OUT / "good.xlsx", merged, tuple(problems.warnings))
    for name, df in good.tables.items():
        assert df.equals(case.tables[name]), name


def test_equal_region_lists_stay_one_cell_each(make_case):
    sheets = minimal_sheets()
    sheets["Regions"].append({"region": "CA", "bloc": "ally", "member": "Y"})
    sheets["Demand"].append({"region": "CA", "material": "mag", "year": 2026, "demand_t": 1})
    sheets["Funds"] = [{"fund": f, "owner": "US", "instrument": "grant", "eligible_regions": "US, CA"} for f in ("a", "b")]
    case = load_case(make_case(**sheets))
    assert list(case.funds["eligible_regions"]) == [("US", "CA"), ("US", "CA")]


def test_case_name_defaults_to_the_file_name(make_case):
    case = load_case(make_case(name="my_case.xlsx", **minimal_sheets()))
    assert case.name == "my_case"
    assert case.settings["case_name"] == "my_case"
