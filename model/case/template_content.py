"""What the case template says: the Overview text and its example rows.

The Overview's sheet list and the header comments are generated from
`model.case.schema`; only the prose that explains how a case works is written
here. The example rows form a tiny case that validates clean, so a planner
sees the shape of every sheet before replacing them.
"""

from __future__ import annotations

from typing import Any

from model.case import schema as S

TITLE = "minplan case workbook"

INTRO = (
    "A case describes one planning problem: the materials on a value chain, the regions (the coalition's "
    "members and everyone else), the projects that could be financed, the public funds that can back them, "
    "outside supply offers, trade routes, stockpiles and the disruption scenarios to plan against. minplan "
    "chooses which projects to finance, when, from which funds, and how much to stockpile, at the least "
    "expected cost."
)

HOW_TO = (
    ("Sheets", ("One sheet per table, one header row, one record per row. Sheet and column names must stay as they "
               "are. Blank rows are ignored; extra sheets (like this one) are ignored.")),
    ("Required", ("Required sheets: {required}. Every other sheet may be left empty or deleted, which means it has "
                 "no rows. Dark blue headers are required columns; light blue headers are optional.")),
    ("Comments", ("Hover over a header (the red corner mark) to read what the column means, its unit, whether it "
                 "is required and its default.")),
    ("Units", ("Units are in the column names (see the table below). Money is in USD million unless the name says "
              "otherwise, quantities in tonnes, years as whole numbers such as 2030.")),
    ("Blanks", ("A blank cell is missing, never zero: a required blank is an error, an optional blank takes the "
               "default shown in the header's comment.")),
    ("Dropdowns", ("Columns with a fixed list of words (bloc, stage, status, ...) and Y/N columns offer a dropdown. "
                  "Columns that name a region, material, project, fund or scenario offer the identifiers typed on "
                  "that sheet. Identifiers are case-sensitive.")),
    ("Sources", ("Every sheet may carry 'source' and 'note' columns. The model does not use them; they travel with "
                "each row into the result's Inputs sheet, so every number can be traced to where it came from.")),
    ("Inheritance", ("A scenario variant can be a small workbook: set base_case on its Settings sheet to the path of "
                    "another case (relative to this file's folder). It starts from that case and replaces or adds "
                    "the rows it lists, matched on each sheet's key columns ('one row per' below); a blank cell "
                    "keeps the base's value. Add a column named 'delete' and put Y in it to remove a base row. "
                    "A variant needs only its Settings sheet; keep only the settings it changes, since every value "
                    "typed there replaces the base's.")),
    ("Events", ("List scenarios one by one on the Scenarios sheet, or declare independent events on the Events "
               "sheet (not both): each event has mutually exclusive options whose probabilities sum to at most 1, "
               "the rest being 'the event does not happen'. A Disruptions row whose scenario is event=option acts "
               "whenever that option happens. minplan generates every combination of one option (or none) per "
               "event, with probability the product, named by its event=option pairs joined by + ('calm' when "
               "nothing happens); above Settings max_scenarios it draws a seeded sample instead.")),
    ("Numbers", ("Type numbers as numbers: digits 0 to 9, a point for decimals, no thousands separators (1000, "
                "not 1,000 or 1 000; 1.5, not 1,5). A number typed as text with a comma is refused, because it reads "
                "differently in different locales. Quantities up to 1e9 t, money up to USD 1e7 m and prices up to "
                "1e10 USD/t: beyond them the solver cannot tell a tonne or a dollar from rounding error.")),
    ("Scenarios", ("Each Scenarios row is one future with its probability; its Disruptions rows say what happens in "
                  "it (scenario * = in every one). minplan learns a disruption when it acts, which makes the scenarios "
                  "a scenario tree: they share every decision until the year their data first differ, then branch. With "
                  "Settings decisions = adaptive (the default) the plan says what to decide now and what to do if a "
                  "disruption begins; with decisions = now every decision is fixed before anything is known. "
                  "max_nodes limits the tree's size; fid_step_yr allows FIDs only every few years.")),
    ("Shortfall", ("Demand that is not met costs its material's shortfall_penalty_usd_per_t. A ShortfallCosts sheet "
                  "makes that a curve: steps of rising cost per tonne up to a cumulative share of demand (thrifting "
                  "and substitution first, lost output last), per material, for one member or (region blank) every "
                  "member without rows of its own. Penalties must not fall from one step to the next; above the "
                  "last step's up_to_share the Materials penalty applies, so it must be at least the last step's.")),
    ("Origin", ("Every tonne carries its origin: where it was last made (mined, refined, made into magnets). Tariffs "
               "and Policies' concern and single-origin limits follow it, so a tonne re-exported through another "
               "member keeps its origin; a plant in a member gives its output a new one. A Policies row with region "
               "* applies to the coalition as a whole.")),
    ("Examples", "The rows below each header are a small example that validates clean. Replace them with your own."),
    ("Check", "Run 'minplan validate FILE' to list every problem at once, each with its sheet and cell."),
)

UNITS = (
    ("_musd", "USD million"),
    ("_musd_per_yr", "USD million per year"),
    ("_usd_per_t", "US dollars per tonne"),
    ("_usd_per_t_yr", "US dollars per tonne per year"),
    ("_t", "tonnes"),
    ("_tpy", "tonnes per year"),
    ("_t_per_t", "tonnes per tonne of the project's output"),
    ("_pct", "percent (25 means 25%)"),
    ("_yr", "a number of years"),
    ("_year, year", "a calendar year such as 2030"),
    ("share, probability", "a fraction from 0 to 1"),
)


def overview_rows(case_text: str | None = None) -> list[tuple[str, str, str]]:
    """The Overview sheet as (label, text, style) rows; style is 'title', 'head' or ''."""
    required = ", ".join(s.name for s in S.SHEETS if s.required)
    rows: list[tuple[str, str, str]] = [(TITLE, "", "title"), ("", INTRO, "")]
    if case_text:
        rows.append(("This case", case_text, ""))
    rows.append(("", "", ""))
    rows.append(("How it works", "", "head"))
    rows.extend((label, text.format(required=required), "") for label, text in HOW_TO
                if not (case_text and label == "Examples"))  # a finished case's rows are not placeholders
    rows.append(("", "", ""))
    rows.append(("Sheet", "What it holds", "head"))
    for sheet in S.SHEETS:
        need = "Required." if sheet.required else "Optional."
        rows.append((sheet.name, f"{need} One row per {', '.join(sheet.key)}. {sheet.doc}", ""))
    rows.append(("", "", ""))
    rows.append(("Column", "Its words, and what each means", "head"))
    for sheet in S.SHEETS:
        for col in (*sheet.columns, *(S.SETTINGS_KEYS if sheet.name == "Settings" else ())):
            if col.meanings:
                rows.append((f"{sheet.name} {col.name}", "; ".join(f"{w}: {m}" for w, m in col.meanings) + ".", ""))
    magnitude = S.SHEET["Disruptions"].by_name["magnitude"]
    rows.append(("Disruptions magnitude", magnitude.doc, ""))
    rows.append(("", "", ""))
    rows.append(("Name ends in", "Unit", "head"))
    rows.extend((suffix, unit, "") for suffix, unit in UNITS)
    return rows


# A tiny case that validates clean: two regions, two materials, two projects.
EXAMPLE_SETTINGS: dict[str, Any] = {
    "case_name": "my_case",
    "description": "Replace with what this case is about.",
    "start_year": 2026,
    "end_year": 2035,
}

EXAMPLE_ROWS: dict[str, list[dict[str, Any]]] = {
    "Regions": [
        {"region": "US", "name": "United States", "bloc": "ally", "member": "Y"},
        {"region": "CN", "name": "China", "bloc": "concern", "member": "N"},
    ],
    "Materials": [
        {"material": "ndpr_oxide", "name": "NdPr oxide", "stage": "oxide", "price_usd_per_t": 60000,
         "shortfall_penalty_usd_per_t": 300000, "holding_cost_usd_per_t_yr": 200},
        {"material": "magnet", "name": "NdFeB magnet", "stage": "magnet", "price_usd_per_t": 70000,
         "shortfall_penalty_usd_per_t": 350000},
    ],
    "Demand": [
        {"region": "US", "material": "magnet", "year": 2026, "demand_t": 1000},
        {"region": "US", "material": "magnet", "year": 2027, "demand_t": 1100},
    ],
    "Projects": [
        {"project": "us_magnet", "name": "US magnet plant", "region": "US", "status": "candidate", "output": "magnet",
         "capacity_tpy": 1000, "capex_musd": 100, "fixed_opex_musd_per_yr": 3, "var_cost_usd_per_t": 30000,
         "lead_time_yr": 2, "ramp_yr": 1, "min_public_share": 0.2},
        {"project": "us_sep", "name": "US separation plant", "region": "US", "status": "candidate",
         "output": "ndpr_oxide", "capacity_tpy": 500, "capex_musd": 80, "lead_time_yr": 3},
    ],
    "Recipes": [{"project": "us_magnet", "material": "ndpr_oxide", "role": "input", "t_per_t": 0.35}],
    "Dependencies": [{"project": "us_magnet", "relation": "requires", "other": "us_sep", "lag_yr": 0}],
    "Funds": [
        {"fund": "us_grant", "owner": "US", "instrument": "grant", "budget_cost_per_musd": 1,
         "eligible_regions": "domestic", "carryover": "N"},
        {"fund": "us_stock", "owner": "US", "instrument": "stockpile", "budget_cost_per_musd": 1},
    ],
    "Budgets": [
        {"fund": "us_grant", "year": 2026, "budget_musd": 50},
        {"fund": "us_stock", "year": 2026, "budget_musd": 20},
    ],
    "Supply": [
        {"origin": "CN", "material": "magnet", "year": 2026, "max_t": 5000, "price_usd_per_t": 50000},
        {"origin": "CN", "material": "ndpr_oxide", "year": 2026, "max_t": 5000, "price_usd_per_t": 55000},
    ],
    "Routes": [
        {"origin": "*", "destination": "*", "transport_usd_per_t": 1000, "allowed": "Y"},
        {"origin": "CN", "destination": "US", "material": "magnet", "transport_usd_per_t": 1000, "tariff_pct": 25},
    ],
    "Stockpiles": [
        {"stockpile": "us_ndpr", "owner": "US", "location": "US", "material": "ndpr_oxide", "initial_t": 0,
         "capacity_t": 1000, "purchase_premium_pct": 5, "fund": "us_stock", "release_only_in_disruption": "Y"},
    ],
    "Disruptions": [
        {"scenario": "cn_ban=from_2029", "kind": "supply_cut", "target": "CN", "start_year": 2029, "magnitude": 1},
        {"scenario": "cn_ban=from_2029", "kind": "route_block", "target": "CN>*", "start_year": 2029},
        {"scenario": "cn_ban=from_2029", "kind": "origin_block", "target": "CN>*", "start_year": 2029},
    ],
    "Events": [
        {"event": "cn_ban", "option": "from_2029", "probability": 0.2, "description": "China stops exporting from 2029."},
    ],
    "Policies": [
        {"region": "US", "material": "magnet", "year_from": 2030, "max_single_origin_share": 0.65},
        {"region": "*", "material": "ndpr_oxide", "year_from": 2030, "max_concern_share": 0.8},
    ],
    "ShortfallCosts": [  # the first 10% short costs less (thrifting), up to 30% more (substitution), the rest 350,000
        {"material": "magnet", "up_to_share": 0.1, "penalty_usd_per_t": 100000},
        {"material": "magnet", "up_to_share": 0.3, "penalty_usd_per_t": 200000},
    ],
}

EXAMPLE_SOURCE = "example: replace with your own data and its source"
