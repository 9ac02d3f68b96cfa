"""Every class of slip a planner can make gives one exact message at the exact cell.

The workbooks are in tests/fixtures/broken/, made by tests/fixtures/make_broken.py
from a small valid case with one deliberate slip each. A slip gives exactly one
error (no cascade of follow-on errors), in the words pinned below.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from fixtures.make_broken import BROKEN, OUT, WARNING_ONLY, build

from model.case import schema as S
from model.case.cells import expected_text, parse_value
from model.case.load import check_case
from model.problems import UnreadableFile

BROKEN_DIR = OUT

# fixture -> the one error it must produce, after 'error: <file>: '
ERRORS = {
    "missing_sheet_projects": "Projects: missing required sheet Projects (expected a sheet named Projects; "
                              "'minplan new' writes a template with every sheet)",
    "missing_column_capacity": "Projects!1:1: missing required column 'capacity_tpy' (expected a header capacity_tpy in row 1 of Projects)",
    "misspelt_column": "Projects!1:1: missing required column 'capacity_tpy' (expected a header capacity_tpy in row 1 of Projects)",
    "text_in_number": "Projects!F3: capex_musd is not a number (found 'lots'; expected a number of 0 or more, in USD m)",
    "date_in_number": "Supply!D2: max_t holds a date, not a number (found '2026-03-01'; expected a number of 0 or more, in t)",
    "non_integer_year": "Demand!C3: year is not a whole number (found '2030.5'; expected a year typed as a whole number, such as 2030)",
    "text_year": "Demand!C3: year is not a number (found 'twenty thirty'; expected a year typed as a whole number, such as 2030)",
    "negative_capacity": "Projects!E2: capacity_tpy is negative (found '-1000'; expected a number of 0 or more, in t/yr)",
    "negative_capex": "Projects!F2: capex_musd is negative (found '-5'; expected a number of 0 or more, in USD m)",
    "share_above_one": "Projects!J2: min_public_share is above 1 (found '1.5'; expected a number from 0 to 1)",
    "probability_above_one": "Scenarios!B2: probability is above 1 (found '1.3'; expected a number from 0 to 1)",
    "negative_lead_time": "Projects!G3: lead_time_yr is negative (found '-2'; expected a whole number of 0 or more, in years)",
    "negative_price": "Materials!C3: price_usd_per_t is negative (found '-1'; expected a number of 0 or more, in USD/t)",
    "negative_discount_rate": "Settings!B5: discount_rate is negative (found '-0.03'; expected a number of 0 or more)",
    "bad_status_word": "Projects!C2: status is not one of the allowed words; did you mean 'candidate'? "
                       "(found 'candiate'; expected one of candidate, committed, existing)",
    "bad_yes_no": "Regions!D2: member is not Y or N (found 'maybe'; expected Y or N; yes/no, true/false and 1/0 also work)",
    "year_outside_horizon": "Demand!C3: year is outside the planning horizon (found '2050'; expected a year from 2026 to 2035, "
                            "the horizon set in Settings)",
    "start_after_end": "Settings!B4: end_year is before start_year (found '2035'; expected a year from 2040 on)",
    "missing_start_year": "Settings: setting start_year is missing (expected a row with key start_year and its value: "
                          "a year typed as a whole number, such as 2030)",
    "unknown_setting": "Settings!A6: unknown setting; did you mean 'discount_rate'? (found 'discount_rat'; expected one of "
                       "case_name, description, start_year, end_year, discount_rate, base_case, mcpf, risk_weight, cvar_alpha, "
                       "mip_rel_gap, time_limit_s, threads, random_seed, decisions, max_scenarios, max_nodes, fid_step_yr)",
    "blank_required_cell": "Demand!D2: demand_t is blank, and this column is required (expected a number of 0 or more, in t)",
    "duplicate_project": "Projects!A6: duplicate project: also at Projects!A2 (found 'us_mine'; expected each project once: "
                         "delete or merge one of the rows)",
    "duplicate_route": "Routes!A4: two Routes rows for the same origin, destination and material (also Routes!A2): they match "
                       "the same flows equally well (found 'CN, *, (blank)'; expected one row per origin, destination and "
                       "material: delete or merge one)",
    "project_unknown_region": "Projects!B2: unknown region; did you mean 'US'? (found 'USA'; expected a region listed on the Regions sheet)",
    "project_lowercase_region": "Projects!B2: unknown region: did you mean 'US'? Capitals matter in identifiers (found 'us'; "
                                "expected a region listed on the Regions sheet)",
    "recipe_unknown_project": "Recipes!A2: unknown project; did you mean 'us_ref'? (found 'uk_ref'; expected a project listed on the Projects sheet)",
    "recipe_unknown_material": "Recipes!B3: unknown material; did you mean 'oxide'? (found 'oxyde'; expected a material listed on the Materials sheet)",
    "budget_unknown_fund": "Budgets!A3: unknown fund; did you mean 'eu_loan'? (found 'eu_lone'; expected a fund listed on the Funds sheet)",
    "dependency_unknown_project": "Dependencies!C2: unknown project; did you mean 'us_mine'? (found 'ghost_mine'; "
                                  "expected a project listed on the Projects sheet)",
    "stockpile_unknown_location": "Stockpiles!C2: unknown region (found 'JP'; expected a region listed on the Regions sheet)",
    "stockpile_location_not_member": "Stockpiles!C2: location must be a member region (found 'AU'; expected a region with "
                                     "member = Y on the Regions sheet)",
    "demand_in_non_member": "Demand!A4: region must be a member region (found 'AU'; expected a region with member = Y on the Regions sheet)",
    "disruption_unknown_project": "Disruptions!C4: project_fail targets an unknown project (found 'ghost'; expected a project "
                                  "listed on the Projects sheet)",
    "disruption_unknown_scenario": "Disruptions!A2: unknown scenario (found 'embargo'; expected a scenario listed on the Scenarios sheet or '*')",
    "route_block_bad_target": "Disruptions!C3: route_block needs origin>destination, each a known region or * (found 'CN-US'; "
                              "expected for example CN>* for nothing leaving CN, or *>US)",
    "supply_cut_above_one": "Disruptions!F2: a supply_cut magnitude is the fraction cut (found '1.5'; expected a number from 0 to 1; "
                            "blank means 1)",
    "probabilities_not_one": "Scenarios!B2:B3: scenario probabilities sum to 0.9, not 1 (found '0.9'; expected probabilities "
                             "that add up to 1, within 1e-6)",
    "committed_without_fid": "Projects!I4: a committed project needs its fid_year (expected the year of its final investment "
                             "decision, such as 2024; it may precede start_year)",
    "earliest_after_latest": "Projects!H3: earliest_fid_year is after latest_fid_year (found '2031'; expected a year up to 2029)",
    "fid_window_too_late": "Projects!G2: this project cannot come online inside the horizon: an FID in 2026 at the earliest, plus "
                           "12 years of lead time, is online in 2038, after end_year 2035 (found '12'; expected an earlier "
                           "earliest_fid_year, a shorter lead_time_yr or a later end_year, so that the project is online by 2035)",
    "excludes_between_going_ahead": "Dependencies!B3: 'excludes' between two projects that both go ahead: eu_magnet is committed "
                                    "and au_mine is existing (found 'excludes'; expected at least one candidate project in an "
                                    "excludes rule, or delete the row)",
    "member_in_concern_bloc": "Regions!C3: a member of the coalition cannot be in the concern bloc (found 'concern'; expected "
                              "ally or partner, or member = N)",
    "initial_above_capacity": "Stockpiles!E2: initial_t is above capacity_t (found '500'; expected at most 100)",
    "stockpile_paid_by_grant": "Stockpiles!G2: fund us_grant is a grant fund; acquisitions are paid by stockpile funds "
                               "(found 'us_grant'; expected a fund with instrument = stockpile, or blank)",
    "loan_without_cost": "Funds!D3: budget_cost_per_musd is blank, and a loan fund needs it (expected the credit subsidy rate, "
                         "a fraction such as 0.1)",
    "event_options_above_one": "Events!C2:C3: the options of event cn have probabilities summing to 1.2, above 1 (found "
                               "'1.2'; expected probabilities that add up to at most 1; the rest is 'the event does not "
                               "happen')",
    "disruption_unknown_event": "Disruptions!A2: unknown event 'cnn'; did you mean 'cn'? (found 'cnn=ban'; expected "
                                "event=option with an event and option listed on the Events sheet, or * for every scenario)",
    "disruption_unknown_option": "Disruptions!A3: event cn has no option 'bann'; did you mean 'cn=ban'? (found 'cn=bann'; "
                                 "expected one of cn=ban)",
    "scenarios_and_events": "Events!A2: this case lists scenarios on the Scenarios sheet and declares events on the Events "
                            "sheet (found 'cn'; expected either listed scenarios (Scenarios sheet) or events (Events sheet): "
                            "delete the rows of one)",
    "requires_chain_too_long": "Dependencies!C2: the requires-chain cannot fit the horizon: us_mine takes its FID in 2031 at the "
                               "earliest, plus lag_yr 3, puts us_ref's FID in 2034, after us_ref's last possible FID year 2033 "
                               "(found 'us_mine'; expected shorter lags or lead times, earlier FID windows, or a later end_year)",
}

# fixture -> the one warning it must produce (and no error), after 'warning: <file>: '
WARNINGS = {
    "warn_unused_material": "Materials!A5: nobody demands this material: no Demand row above 0 and no project uses it (found 'gallium')",
    "warn_fund_without_budget": "Funds!A5: this fund has no budget: no Budgets row above 0, so it can pay nothing (found 'us_equity')",
    "warn_fund_admits_concern": "Funds!E2: this fund may support projects in the concern region CN (found '(blank: any region)')",
    "warn_member_without_demand": "Regions!A6: this member has no demand (found 'JP')",
    "warn_lookalike_regions": "Regions!A6: 'us' and 'US' at Regions!A2 differ only in capitals; minplan treats them as two "
                              "different identifiers (found 'us')",
    "warn_unreachable_demand": "Demand!B2: no source of magnet can reach US: it is found only in CN, EU, and the Routes sheet "
                               "forbids every way to US, so this demand will all be shortfall (found 'magnet'; expected a route "
                               "allowed to US, or a project, Supply row or stockpile of magnet in US)",
    "warn_fund_matches_no_project": "Funds!E3: this fund's eligibility matches no project it could support: no candidate, and no "
                                    "committed project with fid_year from start_year on, stands in an eligible region (found 'EU')",
}

# files that cannot be read at all -> words the message must contain (model/workbook/read.py words the rest)
UNREADABLE = {
    "not_an_xlsx.xlsx": ("not an Excel workbook", "save it as 'Excel Workbook (.xlsx)'"),
    "password_protected.xlsx": ("password",),
    "legacy.xls": (".xls", "save it as 'Excel Workbook (.xlsx)'"),
    "truncated.xlsx": ("damaged",),
}


def test_every_fixture_has_a_pinned_message():
    assert set(ERRORS) == set(BROKEN)
    assert set(WARNINGS) == set(WARNING_ONLY)
    on_disk = {p.name for p in BROKEN_DIR.iterdir()}
    expected = {f"{n}.xlsx" for n in [*ERRORS, *WARNINGS, "good", "formula_without_value"]} | set(UNREADABLE)
    assert on_disk == expected


def test_the_good_case_has_no_problem_at_all():
    _, problems = check_case(BROKEN_DIR / "good.xlsx")
    assert [str(p) for p in problems.items] == []


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_broken_workbook_gives_one_exact_error_at_its_cell(name):
    _, problems = check_case(BROKEN_DIR / f"{name}.xlsx")
    assert [str(p) for p in problems.errors] == [f"error: {name}.xlsx: {ERRORS[name]}"]


@pytest.mark.parametrize("name", sorted(WARNINGS))
def test_suspicious_workbook_gives_one_exact_warning_and_no_error(name):
    _, problems = check_case(BROKEN_DIR / f"{name}.xlsx")
    assert [str(p) for p in problems.items] == [f"warning: {name}.xlsx: {WARNINGS[name]}"]


def test_unknown_column_warns_with_a_suggestion():
    _, problems = check_case(BROKEN_DIR / "misspelt_column.xlsx")
    assert [str(p) for p in problems.warnings] == [
        "warning: misspelt_column.xlsx: Projects!J1: unknown column 'capacty_tpy' is ignored; did you mean 'capacity_tpy'?"
    ]


def test_formula_without_cached_value_is_named_by_cell_and_not_taken_as_blank():
    _, problems = check_case(BROKEN_DIR / "formula_without_value.xlsx")
    expected = ("error: formula_without_value.xlsx: Demand!D3: this cell holds a formula saved without its value, so minplan "
                "cannot see its result (expected the value itself, or open and save the file in Excel or LibreOffice, which "
                "stores formula values)")
    assert [str(p) for p in problems.items] == [expected]


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_unreadable_file_raises_with_how_to_fix(name):
    with pytest.raises(UnreadableFile) as info:
        check_case(BROKEN_DIR / name)
    assert info.value.exit_code == 2
    text = str(info.value)
    assert text.startswith(f"error: {name}: ")
    assert all(words in text for words in UNREADABLE[name]), text


@pytest.mark.parametrize("name", ["negative_capex", "duplicate_route", "warn_unreachable_demand"])
def test_committed_fixtures_match_their_generator(name, tmp_path):
    """The committed workbook and a fresh one from make_broken.py give the same messages."""
    fresh = build(name, {**BROKEN, **WARNING_ONLY}[name], out=tmp_path)
    _, a = check_case(BROKEN_DIR / f"{name}.xlsx")
    _, b = check_case(fresh)
    assert [(p.where, p.message) for p in a.items] == [(p.where, p.message) for p in b.items]


def test_every_problem_is_reported_at_once(make_case):
    """Three independent slips on three sheets give three errors in one run, in sheet order."""
    from fixtures.make_broken import good_case

    sheets = good_case()
    sheets["Regions"][0]["bloc"] = "friend"
    sheets["Projects"][1]["capex_musd"] = -1
    sheets["Budgets"][0]["fund"] = "nofund"
    _, problems = check_case(make_case({"end_year": 2035}, **sheets))
    assert [p.where for p in problems.errors] == ["Regions!C2", "Projects!F3", "Budgets!A2"]


def test_empty_sheet_means_no_rows_and_optional_sheets_may_be_absent(make_case):
    from conftest import minimal_sheets

    sheets = minimal_sheets()
    _, problems = check_case(make_case(**sheets, Recipes=[]))
    assert problems.errors == []


def test_identifiers_are_trimmed_so_surrounding_spaces_do_not_break_references(make_case):
    from conftest import minimal_sheets

    sheets = minimal_sheets()
    sheets["Projects"][0]["region"] = "  US "
    _, problems = check_case(make_case(**sheets))
    assert problems.errors == []


def test_identifiers_differing_only_by_spaces_are_duplicates(make_case):
    from conftest import minimal_sheets

    sheets = minimal_sheets()
    sheets["Regions"].append({"region": "US ", "bloc": "ally", "member": "Y"})
    _, problems = check_case(make_case(**sheets))
    assert [p.where for p in problems.errors] == ["Regions!A3"]
    assert "duplicate region: also at Regions!A2" in problems.errors[0].message


# ---------------------------------------------------------------- single cells


COST = S.SHEET["Projects"].by_name["capex_musd"]
YEAR = S.SHEET["Demand"].by_name["year"]
MEMBER = S.SHEET["Regions"].by_name["member"]
ALPHA = S.SETTING["cvar_alpha"]


@pytest.mark.parametrize(("raw", "value"), [
    (5, 5.0), ("5", 5.0), ("1,250", 1250.0), ("12,500.5", 12500.5), (" 7 ", 7.0), (0, 0.0),
])
def test_numbers_typed_as_text_or_with_thousands_separators_are_read(raw, value):
    assert parse_value(COST, raw) == (value, None)


@pytest.mark.parametrize(("raw", "why"), [
    ("1,5", "is not a number"),  # a decimal comma, not a thousands separator: never read as 15
    ("12 t", "is not a number"),
    (True, "holds TRUE/FALSE, not a number"),
    (math.inf, "is not a finite number"),
    (math.nan, "is not a finite number"),
    (1e300, "is too large to be meant (more than 1e+15 in size)"),
    (-0.5, "is negative"),
    ("#DIV/0!", "shows an Excel error instead of a value: correct the formula that produces it"),
])
def test_bad_numbers_are_refused_in_plain_words(raw, why):
    assert parse_value(COST, raw) == (None, why)


def test_years_are_whole_numbers_typed_as_numbers_or_text():
    assert parse_value(YEAR, "2030") == (2030, None)
    assert parse_value(YEAR, 2030.0) == (2030, None)
    assert parse_value(YEAR, 2030.5) == (None, "is not a whole number")
    assert parse_value(YEAR, -1) == (None, "is not a plausible year")


@pytest.mark.parametrize(("raw", "value"), [("Y", True), ("yes", True), ("TRUE", True), (1, True), (1.0, True),
                                             ("n", False), ("No", False), ("false", False), (0, False), (False, False)])
def test_yes_no_words(raw, value):
    assert parse_value(MEMBER, raw) == (value, None)


def test_open_bounds_are_explained():
    assert parse_value(ALPHA, 1) == (None, "must be less than 1")
    assert expected_text(ALPHA) == "a number from 0 up to but not including 1"


def test_no_message_uses_python_type_names():
    words = ("float", "int(", "str(", "NoneType", "bool", "ValueError", "TypeError", "nan")
    for sheet in S.SHEETS:
        for col in (*sheet.columns, *S.SETTINGS_KEYS):
            text = expected_text(col)
            assert not any(w in text for w in words), (sheet.name, col.name, text)
    for raw in ("x", True, math.nan, 1e99, -1, 2.5, "2,5"):
        _, why = parse_value(YEAR, raw)
        assert why and not any(w in why for w in words)


def test_fixture_files_are_small():
    assert all(p.stat().st_size < 20_000 for p in Path(BROKEN_DIR).iterdir())
