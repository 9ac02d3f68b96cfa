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
from tests.conftest import run_cli

BROKEN_DIR = OUT

# fixture -> the one error it must produce, after 'error: <file>: '
ERRORS = {
    "missing_sheet_projects": "Projects: missing required sheet Projects (expected a sheet named Projects; 'minplan new' "
                              "writes a template with every sheet)",
    "missing_column_capacity": "Projects!1:1: missing required column 'capacity_tpy' (expected a header capacity_tpy in row "
                               "1 of Projects)",
    "misspelt_column": "Projects!J1: column 'capacty_tpy' is not known; did you mean 'capacity_tpy'? Until it is renamed, "
                       "every row's capacity_tpy reads as blank (expected the header capacity_tpy)",
    "text_in_number": "Projects!F3: capex_musd is not a number (found 'lots'; expected a number from 0 to 1e7, in USD m)",
    "date_in_number": "Supply!D2: max_t holds a date, not a number (found '2026-03-01'; expected a number from 0 to 1e9, in "
                      "t)",
    "non_integer_year": "Demand!C3: year is not a whole number (found '2030.5'; expected a year typed as a whole number, "
                        "such as 2030)",
    "text_year": "Demand!C3: year is not a number (found 'twenty thirty'; expected a year typed as a whole number, such as "
                 "2030)",
    "negative_capacity": "Projects!E2: capacity_tpy is negative (found '-1000'; expected a number from 0 to 1e9, in t/yr)",
    "negative_capex": "Projects!F2: capex_musd is negative (found '-5'; expected a number from 0 to 1e7, in USD m)",
    "share_above_one": "Projects!J2: min_public_share is above 1 (found '1.5'; expected a number from 0 to 1)",
    "probability_above_one": "Scenarios!B2: probability is above 1 (found '1.3'; expected a number from 0 to 1)",
    "negative_lead_time": "Projects!G3: lead_time_yr is negative (found '-2'; expected a whole number of 0 or more, in "
                          "years)",
    "negative_price": "Materials!C3: price_usd_per_t is negative (found '-1'; expected a number from 0 to 1e10, in USD/t)",
    "negative_discount_rate": "Settings!B5: discount_rate is negative (found '-0.03'; expected a number of 0 or more)",
    "bad_status_word": "Projects!C2: status is not one of the allowed words; did you mean 'candidate'? (found 'candiate'; "
                       "expected one of candidate, committed, existing)",
    "bad_yes_no": "Regions!D2: member is not Y or N (found 'maybe'; expected Y or N; yes/no, true/false and 1/0 also work)",
    "year_outside_horizon": "Demand!C3: year is outside the planning horizon (found '2050'; expected a year from 2026 to "
                            "2035, the horizon set in Settings)",
    "start_after_end": "Settings!B4: end_year is before start_year (found '2035'; expected a year from 2040 on)",
    "missing_start_year": "Settings: setting start_year is missing (expected a row with key start_year and its value: a year "
                          "typed as a whole number, such as 2030)",
    "unknown_setting": "Settings!A6: unknown setting; did you mean 'discount_rate'? (found 'discount_rat'; expected one of "
                       "case_name, description, start_year, end_year, discount_rate, base_case, mcpf, risk_weight, "
                       "cvar_alpha, mip_rel_gap, time_limit_s, threads, random_seed, decisions, max_scenarios, max_nodes, fid_step_yr)",
    "blank_required_cell": "Demand!D2: demand_t is blank, and this column is required (expected a number from 0 to 1e9, in "
                           "t)",
    "duplicate_project": "Projects!A6: duplicate project: also at Projects!A2 (found 'us_mine'; expected each project once: "
                         "delete or merge one of the rows)",
    "duplicate_route": "Routes!A4: two Routes rows for the same origin, destination and material (also Routes!A2): they "
                       "match the same flows equally well (found 'CN, *, (blank)'; expected one row per origin, destination "
                       "and material: delete or merge one)",
    "project_unknown_region": "Projects!B2: unknown region; did you mean 'US'? (found 'USA'; expected a region listed on the "
                              "Regions sheet)",
    "project_lowercase_region": "Projects!B2: unknown region: did you mean 'US'? Capitals matter in identifiers (found 'us'; "
                                "expected a region listed on the Regions sheet)",
    "recipe_unknown_project": "Recipes!A2: unknown project; did you mean 'us_ref'? (found 'uk_ref'; expected a project "
                              "listed on the Projects sheet)",
    "recipe_unknown_material": "Recipes!B3: unknown material; did you mean 'oxide'? (found 'oxyde'; expected a material "
                               "listed on the Materials sheet)",
    "budget_unknown_fund": "Budgets!A3: unknown fund; did you mean 'eu_loan'? (found 'eu_lone'; expected a fund listed on "
                           "the Funds sheet)",
    "dependency_unknown_project": "Dependencies!C2: unknown project; did you mean 'us_mine'? (found 'ghost_mine'; expected a "
                                  "project listed on the Projects sheet)",
    "stockpile_unknown_location": "Stockpiles!C2: unknown region (found 'JP'; expected a region listed on the Regions sheet)",
    "stockpile_location_not_member": "Stockpiles!C2: location must be a member region (found 'AU'; expected a region with "
                                     "member = Y on the Regions sheet)",
    "demand_in_non_member": "Demand!A4: region must be a member region (found 'AU'; expected a region with member = Y on the "
                            "Regions sheet)",
    "disruption_unknown_project": "Disruptions!C4: project_fail targets an unknown project (found 'ghost'; expected a "
                                  "project listed on the Projects sheet)",
    "disruption_unknown_scenario": "Disruptions!A2: unknown scenario (found 'embargo'; expected a scenario listed on the "
                                   "Scenarios sheet or '*')",
    "route_block_bad_target": "Disruptions!C3: route_block needs origin>destination, each a known region or * (found "
                              "'CN-US'; expected for example CN>* for nothing leaving CN, or *>US)",
    "supply_cut_above_one": "Disruptions!F2: a supply_cut magnitude is the fraction cut (found '1.5'; expected a number from "
                            "0 to 1; blank means 1)",
    "probabilities_not_one": "Scenarios!B2:B3: scenario probabilities sum to 0.9, not 1 (found '0.9'; expected probabilities "
                             "that add up to 1, within 1e-6)",
    "committed_without_fid": "Projects!I4: a committed project needs its fid_year (expected the year of its final investment "
                             "decision, such as 2024; it may precede start_year)",
    "earliest_after_latest": "Projects!H3: earliest_fid_year is after latest_fid_year (found '2031'; expected a year up to "
                             "2029)",
    "fid_window_too_late": "Projects!G2: this project cannot come online inside the horizon: an FID in 2026 at the earliest, "
                           "plus 12 years of lead time, is online in 2038, after end_year 2035 (found '12'; expected an "
                           "earlier earliest_fid_year, a shorter lead_time_yr or a later end_year, so that the project is "
                           "online by 2035)",
    "excludes_between_going_ahead": "Dependencies!B3: 'excludes' between two projects that both go ahead: eu_magnet is "
                                    "committed and au_mine is existing (found 'excludes'; expected at least one candidate "
                                    "project in an excludes rule, or delete the row)",
    "member_in_concern_bloc": "Regions!C3: a member of the coalition cannot be in the concern bloc (found 'concern'; "
                              "expected ally or partner, or member = N)",
    "initial_above_capacity": "Stockpiles!E2: initial_t is above capacity_t (found '500'; expected at most 100)",
    "stockpile_paid_by_grant": "Stockpiles!G2: fund us_grant is a grant fund; acquisitions are paid by stockpile funds "
                               "(found 'us_grant'; expected a fund with instrument = stockpile, or blank)",
    "loan_without_cost": "Funds!D3: budget_cost_per_musd is blank, and a loan fund needs it (expected the credit subsidy "
                         "rate, a fraction such as 0.1)",
    "requires_chain_too_long": "Dependencies!C2: the requires-chain cannot fit the horizon: us_mine takes its FID in 2031 at "
                               "the earliest, plus lag_yr 3, puts us_ref's FID in 2034, after us_ref's last possible FID "
                               "year 2033 (found 'us_mine'; expected shorter lags or lead times, earlier FID windows, or a "
                               "later end_year)",
    "shortfall_step_falls": "ShortfallCosts!C3: the shortfall cost of magnet (every member without rows of its own) falls "
                            "from one step to the next: 50,000 USD/t up to share 0.6, after 100,000 USD/t up to share 0.2 at "
                            "ShortfallCosts!C2 (found '50000'; expected at least 100,000: cheaper steps (thrifting, "
                            "substitution) come first)",
    "shortfall_rest_below_last_step": "ShortfallCosts!C3: this last step of magnet (every member without rows of its own) "
                                      "stops at share 0.6, and the rest costs the Materials shortfall_penalty_usd_per_t of "
                                      "200,000 USD/t at Materials!D4, below this step's 300,000 (found '300000'; expected a "
                                      "penalty of at most 200,000, a last up_to_share of 1, or a higher Materials penalty)",
    "shortfall_region_not_member": "ShortfallCosts!B2: region must be a member region (found 'AU'; expected a region with "
                                   "member = Y on the Regions sheet)",
    "origin_block_from_member": "Disruptions!C4: origin_block cannot start at the member US: what members make is "
                                "coalition-made, and no origin_block stops it (found 'US>*'; expected a non-member region "
                                "before the >, such as CN>*)",
    "origin_block_to_non_member": "Disruptions!C4: origin_block must end at a member or *: it stops tonnes made in CN from "
                                  "reaching members, and AU is not one (found 'CN>AU'; expected CN>* for every member, or "
                                  "CN>EU for one)",
    "origin_block_bad_target": "Disruptions!C4: origin_block needs origin>destination: where the tonnes are made, then a "
                               "member or * (found 'CN'; expected for example CN>* for no tonne made in CN reaching any "
                               "member, or CN>US)",
    "route_block_unknown_region": "Disruptions!C3: route_block names an unknown destination region 'Japan' (found "
                                  "'CN>Japan'; expected origin>destination, each a region listed on the Regions sheet or *)",
    "recipe_input_is_output": "Recipes!B4: a project may not take its own output as an input: processing gives the output a "
                              "new origin, so the project would relabel its own tonnes (found 'oxide'; expected another "
                              "material: t_per_t is per tonne of the output)",
    "recipe_input_is_byproduct": "Recipes!A4: a project may not take one of its by-products as an input (the other row is "
                                 "Recipes!A2): processing gives the output a new origin, so the project would relabel its "
                                 "own tonnes (found 'us_ref, ore'; expected one row per project and material: input or "
                                 "byproduct)",
    "initial_origin_cannot_make": "Stockpiles!F2: initial_origin AU cannot make magnet: AU has no Supply row of magnet and "
                                  "no project making it, so the initial holding cannot have been made there (found 'AU'; "
                                  "expected a region with a Supply row or a project making magnet, a member (made in the "
                                  "coalition), or blank)",
    "region_reserved_word": "Regions!A6: 'coalition' is a reserved word and cannot name a region: coalition names the "
                            "members as a whole in the results (found 'coalition'; expected another identifier, such as a "
                            "country code)",
    "renamed_header": "Projects!J1: column 'capex' is not known; did you mean 'capex_musd'? Until it is renamed, every row's "
                      "capex_musd reads as blank (expected the header capex_musd)",
    "disruption_target_is_a_name": "Disruptions!C2: supply_cut targets an unknown region; did you mean 'CN'? China is CN's "
                                   "name on the Regions sheet (found 'China'; expected an origin region listed on the "
                                   "Regions sheet, or * for every origin)",
    "thousands_separator_text": "Projects!E2: capacity_tpy is text with a comma, which means 1000 in some locales and 1 in "
                                "others: type 1000 (or 1) as a number, digits only, a point for decimals (found '1,000'; "
                                "expected a number from 0 to 1e9, in t/yr)",
    "decimal_comma_text": "Recipes!D2: t_per_t is text with a decimal comma: type it as 1.5, with a point for decimals "
                          "(found '1,5'; expected a number of 0 or more, in t/t)",
    "arabic_indic_digits": "Demand!D2: demand_t is typed with digits other than 0-9: type it as 9000 with the digits 0 to 9 "
                           "(found '٩٠٠٠'; expected a number from 0 to 1e9, in t)",
    "fullwidth_digits": "Supply!D2: max_t is typed with digits other than 0-9: type it as 9000 with the digits 0 to 9 (found "
                        "'９０００'; expected a number from 0 to 1e9, in t)",
    "underscore_in_number": "Demand!D3: demand_t has underscores between its digits: type it as 9000, digits only (found "
                            "'9_000'; expected a number from 0 to 1e9, in t)",
    "control_character_in_identifier": "Regions!A6: region holds the control character \\x1b, invisible in Excel (a paste "
                                       "from a terminal or a web page, or a _x001B_ code): retype the identifier (found "
                                       "'JP\\x1b[2J'; expected text)",
    "mip_gap_as_percent": "Settings!B6: mip_rel_gap is above 0.5, the largest gap minplan accepts: the gap is a fraction, "
                          "not a percentage (found '5'; expected a fraction such as 0.05 for 5%, from 0 to 0.5)",
    "random_seed_too_large": "Settings!B6: random_seed is above 2147483647, the largest seed HiGHS takes (2^31 - 1) (found "
                             "'2147483648'; expected a whole number from 0 to 2147483647)",
    "capacity_too_large": "Projects!E2: capacity_tpy is above 1e9, the largest quantity minplan accepts: above 1e9 t the "
                          "solver's tolerances no longer separate a tonne from rounding error (found '900000000000000'; "
                          "expected a number from 0 to 1e9, in t/yr)",
    "budget_too_large": "Budgets!C2: budget_musd is above 1e7, the largest amount minplan accepts: above USD 1e7 m (10 "
                        "trillion) the solver's tolerances no longer separate one plan's cost from another's (found "
                        "'100000000'; expected a number from 0 to 1e7, in USD m)",
    "price_too_large": "Materials!C3: price_usd_per_t is above 1e10, the largest price minplan accepts: above 1e10 USD/t one "
                       "tonne's cost swamps every other cost and the solver's tolerances no longer separate one plan from "
                       "another (found '100000000000'; expected a number from 0 to 1e10, in USD/t)",
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
}

# fixture -> the one warning it must produce (and no error), after 'warning: <file>: '
WARNINGS = {
    "warn_unused_material": "Materials!A5: nobody demands this material: no Demand row above 0 and no project uses it (found "
                            "'gallium')",
    "warn_fund_without_budget": "Funds!A5: this fund has no budget: no Budgets row above 0, so it can pay nothing (found "
                                "'us_equity')",
    "warn_fund_admits_concern": "Funds!E2: this fund may support projects in the concern region CN (found '(blank: any "
                                "region)')",
    "warn_member_without_demand": "Regions!A6: this member has no demand (found 'JP')",
    "warn_lookalike_regions": "Regions!A6: 'us' and 'US' at Regions!A2 differ only in capitals; minplan treats them as two "
                              "different identifiers (found 'us')",
    "warn_unreachable_demand": "Demand!B2: no source of magnet can reach US: it is found only in CN, EU, and the Routes "
                               "sheet forbids every way to US, so this demand will all be shortfall (found 'magnet'; "
                               "expected a route allowed to US, or a project, Supply row or stockpile of magnet in US)",
    "warn_fund_matches_no_project": "Funds!E3: this fund's eligibility matches no project it could support: no candidate, "
                                    "and no committed project with fid_year from start_year on, stands in an eligible region "
                                    "(found 'EU')",
    "warn_material_cycle": "Recipes!B2: member projects turn these materials into each other in a cycle: ore → oxide → ore "
                           "(us_ref makes oxide from ore; us_back makes ore from oxide); each pass makes the tonnes "
                           "coalition-made, so the cycle could give imported tonnes a new origin (found 'ore')",
    "warn_cyrillic_lookalike": "Regions!A6: 'СN' and 'CN' at Regions!A5 look the same but are different identifiers: 'СN' "
                               "holds С (CYRILLIC CAPITAL LETTER ES, U+0421) (found 'СN'; expected plain letters and digits: "
                               "retype the one that was pasted)",
    "warn_invisible_character": "Regions!A6: 'US\\u200b' and 'US' at Regions!A2 look the same but are different identifiers: "
                                "'US\\u200b' holds \\u200b (ZERO WIDTH SPACE, U+200B) (found 'US\\u200b'; expected plain "
                                "letters and digits: retype the one that was pasted)",
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


def test_a_misspelt_header_is_the_one_cause_of_its_blanks():
    """'capex' for capex_musd: one error at the header, not 'capex_musd is blank' at every candidate's row."""
    _, problems = check_case(BROKEN_DIR / "renamed_header.xlsx")
    assert [p.where for p in problems.items] == ["Projects!J1"]


def test_an_unknown_header_far_from_every_column_is_only_a_warning(make_case):
    from conftest import minimal_sheets

    sheets = minimal_sheets()
    sheets["Projects"][0]["comments"] = "checked"
    _, problems = check_case(make_case(**sheets))
    assert [str(p).split(": ", 2)[2] for p in problems.items] == ["Projects!F1: unknown column 'comments' is ignored"]


def test_a_misspelt_header_of_an_empty_column_is_only_a_warning(make_case):
    """Nothing is lost when the misspelt column holds no value: a warning with the suggestion."""
    from conftest import minimal_sheets

    sheets = minimal_sheets()
    sheets["Projects"][0]["ramp"] = None
    _, problems = check_case(make_case(**sheets))
    assert [str(p).split(": ", 2)[2] for p in problems.items] == [
        "Projects!F1: unknown column 'ramp' is ignored; did you mean 'ramp_yr'?"]


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
    (5, 5.0), ("5", 5.0), (" 7 ", 7.0), (0, 0.0), ("1e3", 1000.0), (".5", 0.5), ("12500.5", 12500.5),
])
def test_numbers_typed_as_plain_text_are_read(raw, value):
    assert parse_value(COST, raw) == (value, None)


@pytest.mark.parametrize(("raw", "why"), [
    ("1,000", ("is text with a comma, which means 1000 in some locales and 1 in others: type 1000 (or 1) as a number, "
              "digits only, a point for decimals")),
    ("12,500.5", "is text with a thousands separator: type it as 12500.5, digits only, a point for decimals"),
    ("1 000 000", "is text with a thousands separator: type it as 1000000, digits only, a point for decimals"),
    ("1,5", "is text with a decimal comma: type it as 1.5, with a point for decimals"),
    ("1.250,75", "is text with a decimal comma: type it as 1250.75, with a point for decimals"),
    ("\u0669\u0660\u0660\u0660", "is typed with digits other than 0-9: type it as 9000 with the digits 0 to 9"),
    ("\uff19\uff10\uff10\uff10", "is typed with digits other than 0-9: type it as 9000 with the digits 0 to 9"),
    ("\u0969", "is typed with digits other than 0-9: type it as 3 with the digits 0 to 9"),  # Devanagari 3
    ("9_000", "has underscores between its digits: type it as 9000, digits only"),
    ("12 t", "is not a number"),
    (True, "holds TRUE/FALSE, not a number"),
    (math.inf, "is not a finite number"),
    (math.nan, "is not a finite number"),
    ("nan", "is not a finite number"),
    (1e300, "is too large to be meant (more than 1e+15 in size)"),
    (-0.5, "is negative"),
    (2e7, ("is above 1e7, the largest amount minplan accepts: above USD 1e7 m (10 trillion) the solver's tolerances no "
          "longer separate one plan's cost from another's")),
    ("#DIV/0!", "shows an Excel error instead of a value: correct the formula that produces it"),
])
def test_bad_numbers_are_refused_in_plain_words(raw, why):
    """Python's float() reads '1,000'-free text, '9_000' and non-ASCII digits; a number cell does not."""
    assert parse_value(COST, raw) == (None, why)


@pytest.mark.parametrize(("sheet", "col", "limit"), [
    ("Projects", "capacity_tpy", S.MAX_TONNES), ("Demand", "demand_t", S.MAX_TONNES), ("Supply", "max_t", S.MAX_TONNES),
    ("Stockpiles", "capacity_t", S.MAX_TONNES), ("Stockpiles", "initial_t", S.MAX_TONNES),
    ("Stockpiles", "max_purchase_tpy", S.MAX_TONNES), ("Stockpiles", "max_release_tpy", S.MAX_TONNES),
    ("Projects", "capex_musd", S.MAX_MUSD), ("Budgets", "budget_musd", S.MAX_MUSD),
    ("Funds", "max_per_project_musd", S.MAX_MUSD), ("Projects", "fixed_opex_musd_per_yr", S.MAX_MUSD),
    ("Materials", "price_usd_per_t", S.MAX_USD_PER_T), ("Materials", "shortfall_penalty_usd_per_t", S.MAX_USD_PER_T),
    ("Supply", "price_usd_per_t", S.MAX_USD_PER_T), ("ShortfallCosts", "penalty_usd_per_t", S.MAX_USD_PER_T),
])
def test_magnitudes_the_solver_cannot_separate_are_refused_with_the_limit(sheet, col, limit):
    c = S.SHEET[sheet].by_name[col]
    assert parse_value(c, limit) == (limit, None)
    value, why = parse_value(c, limit * 1.5)
    assert value is None and why.startswith(f"is above {limit:.0e}".replace("e+0", "e").replace("e+", "e") + ", the largest")
    assert "tolerances" in why


def test_a_gap_typed_as_a_percentage_is_refused_at_its_cell():
    gap = S.SETTING["mip_rel_gap"]
    assert parse_value(gap, 0.05) == (0.05, None)
    assert parse_value(gap, 5)[1] == "is above 0.5, the largest gap minplan accepts: the gap is a fraction, not a percentage"
    assert expected_text(gap) == "a fraction such as 0.05 for 5%, from 0 to 0.5"


def test_random_seed_is_below_two_to_the_31():
    seed = S.SETTING["random_seed"]
    assert parse_value(seed, 2**31 - 1) == (2**31 - 1, None)
    assert parse_value(seed, 2**31)[0] is None


@pytest.mark.parametrize("raw", ["EU\x1b]0;PWNED\x07\x1b[2J", "US\x00", "a\nb", "CN\x9b"])
def test_control_characters_in_identifiers_are_refused_and_shown_escaped(raw):
    region = S.SHEET["Regions"].by_name["region"]
    value, why = parse_value(region, raw)
    assert value is None and why.startswith("holds the control character")
    assert not any(ch in why for ch in raw if not ch.isprintable())  # shown as \x1b, never raw


def test_control_characters_in_free_text_are_kept():
    name = S.SHEET["Regions"].by_name["name"]
    assert parse_value(name, "line one\nline two") == ("line one\nline two", None)


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


# ---------------------------------------------------------------- v2 rules and what a planner types, case by case


def _messages(problems, severity: str = "errors") -> list[str]:
    return [str(p).split(": ", 2)[2] for p in getattr(problems, severity)]


def _good(**changes):
    from fixtures.make_broken import good_case

    sheets = good_case()
    for sheet, rows in changes.items():
        sheets[sheet] = rows
    return sheets


def test_initial_origin_may_name_a_maker_or_a_member(make_case):
    """CN offers magnet (a Supply row), EU is a member (coalition-made): both are fine; AU makes none."""
    from fixtures.make_broken import good_settings

    for origin, errors in (("CN", []), ("EU", []), (None, []), ("AU", ["Stockpiles!F2"])):
        sheets = _good()
        sheets["Stockpiles"][0]["initial_origin"] = origin
        _, problems = check_case(make_case(good_settings(), **sheets))
        assert [p.where for p in problems.errors] == errors, origin


def test_a_region_named_star_is_reserved(make_case):
    from conftest import minimal_sheets

    sheets = minimal_sheets()
    sheets["Regions"].append({"region": "*", "bloc": "partner", "member": "N"})
    _, problems = check_case(make_case(**sheets))
    assert _messages(problems) == [("Regions!A3: '*' is a reserved word and cannot name a region: * means every region "
                                   "in Routes, Disruptions and Policies (found '*'; expected another identifier, such as "
                                   "a country code)")]


def test_a_name_typed_where_a_code_belongs_suggests_the_code(make_case):
    """Projects region 'China' (CN's name on Regions) and a Cyrillic 'СN' both point at CN."""
    from fixtures.make_broken import good_settings

    sheets = _good()
    sheets["Projects"][3]["region"] = "China"
    sheets["Supply"][1]["origin"] = "\u0421N"
    _, problems = check_case(make_case(good_settings(), **sheets))
    assert _messages(problems) == [
        ("Projects!B5: unknown region; did you mean 'CN'? China is CN's name on the Regions sheet (found 'China'; "
        "expected a region listed on the Regions sheet)"),
        ("Supply!A3: unknown region: did you mean 'CN'? '\u0421N' holds \u0421 (CYRILLIC CAPITAL LETTER ES, U+0421) "
        "(found '\u0421N'; expected a region listed on the Regions sheet)"),
    ]


def test_origin_block_needs_one_non_member_origin(make_case):
    from fixtures.make_broken import good_settings

    sheets = _good()
    sheets["Disruptions"].append({"scenario": "*", "kind": "origin_block", "target": "*>US", "start_year": 2028})
    sheets["Disruptions"].append({"scenario": "ban", "kind": "origin_block", "target": "CN>EU", "start_year": 2028})
    _, problems = check_case(make_case(good_settings(), **sheets))
    assert _messages(problems) == [("Disruptions!C4: origin_block needs the one region where the tonnes are made, not * "
                                   "(found '*>US'; expected a non-member region before the >, such as CN>*)")]


def test_each_members_cost_curve_is_checked_on_its_own(make_case):
    """EU's own curve falls (its second step is cheaper); US's rises; the blank-region curve is fine."""
    from fixtures.make_broken import good_settings

    sheets = _good()
    sheets["ShortfallCosts"] += [
        {"material": "magnet", "region": "US", "up_to_share": 0.5, "penalty_usd_per_t": 10000},
        {"material": "magnet", "region": "US", "up_to_share": 1, "penalty_usd_per_t": 20000},
        {"material": "magnet", "region": "EU", "up_to_share": 0.5, "penalty_usd_per_t": 30000},
        {"material": "magnet", "region": "EU", "up_to_share": 1, "penalty_usd_per_t": 20000},
    ]
    _, problems = check_case(make_case(good_settings(), **sheets))
    assert [p.where for p in problems.errors] == ["ShortfallCosts!D7"]
    assert "the shortfall cost of magnet in EU falls from one step to the next" in problems.errors[0].message


def test_a_cycle_through_a_non_member_is_no_warning(make_case):
    """AU (not a member) makes ore from oxide: processing there gives AU's origin, which the cycle cannot wash."""
    from fixtures.make_broken import good_settings

    sheets = _good()
    sheets["Projects"].append({"project": "au_back", "region": "AU", "status": "existing", "output": "ore",
                               "capacity_tpy": 10})
    sheets["Recipes"].append({"project": "au_back", "material": "oxide", "role": "input", "t_per_t": 2})
    _, problems = check_case(make_case(good_settings(), **sheets))
    assert problems.items == []


def test_the_cli_shows_control_characters_escaped_and_exits_1():
    """A region holding _x001B_[2J (decoded to ESC by the reader) is an error at its cell; nothing raw reaches the terminal."""
    res = run_cli("validate", BROKEN_DIR / "control_character_in_identifier.xlsx")
    assert res.returncode == 1
    assert "\x1b" not in res.stdout + res.stderr
    assert f"error: control_character_in_identifier.xlsx: {ERRORS['control_character_in_identifier']}" in res.stdout + res.stderr


@pytest.mark.parametrize("name", ["renamed_header", "mip_gap_as_percent", "thousands_separator_text", "capacity_too_large"])
def test_the_cli_prints_the_pinned_error_first(name):
    res = run_cli("validate", BROKEN_DIR / f"{name}.xlsx")
    assert res.returncode == 1
    lines = [line for line in (res.stdout + res.stderr).splitlines() if line.startswith(("error:", "warning:"))]
    assert lines[0] == f"error: {name}.xlsx: {ERRORS[name]}"
