"""The result tables, declared once as data: what a Solution holds and what the result workbook shows.

Each `Table` names its Solution attribute, its result sheet (None when it is
not a sheet of its own), what one row is, the sheet's header comment and its
columns in sheet order, each with its unit and the comment on its header.
Extraction builds its DataFrames with these columns, the writer orders and
comments its sheets by them, the reader knows which sheets a result has and
the comparison reads the same names. Adding a column is one line here, and
the code that fills it.

Money is USD million, quantities tonnes.
"""

from __future__ import annotations

from dataclasses import dataclass

T, MUSD, YEAR, SHARE = "t", "USD m", "year", "fraction"


@dataclass(frozen=True)
class Col:
    """One column of a result table."""

    name: str
    unit: str = ""
    doc: str = ""  # the comment on its header in the result workbook ("" for none)
    label: str = ""  # its name in a chart legend, for the columns a chart draws


@dataclass(frozen=True)
class Table:
    """One result table: a Solution attribute and, when `sheet` is set, a sheet of the result workbook."""

    name: str
    sheet: str | None
    rows: str  # what one row is
    comment: str  # the note on the sheet's first header cell
    key: tuple[Col, ...]
    values: tuple[Col, ...]

    @property
    def columns(self) -> list[str]:
        """Every column, key first, in sheet order."""
        return [c.name for c in (*self.key, *self.values)]

    @property
    def value_columns(self) -> list[str]:
        return [c.name for c in self.values]

    @property
    def docs(self) -> dict[str, str]:
        """Header comments by column."""
        return {c.name: c.doc for c in (*self.key, *self.values) if c.doc}


SCENARIO, REGION, MATERIAL = Col("scenario"), Col("region"), Col("material")

BREAKDOWN = Table(
    "breakdown", None, "component of the objective",
    "Expected present value of each objective part; they sum to the objective.",
    (Col("component"),), (Col("value_musd", MUSD),))

PORTFOLIO = Table(
    "portfolio", "Portfolio", "candidate or committed project",
    "Every candidate and committed project; funded ones first.",
    (Col("project"),),
    (Col("name"), Col("funded", doc="TRUE when the project goes ahead in this plan."), Col("region"), Col("status"),
     Col("output"), Col("capacity_tpy", "t per year"), Col("capex_musd", MUSD), Col("fid_year", YEAR),
     Col("online_year", YEAR, "Planned first year of output (FID year + lead time), before any delay in a scenario."),
     Col("aid_musd", MUSD), Col("public_share", SHARE, "Aid as a share of capex.")))

AID = Table(
    "aid", None, "project x fund x year with aid", "Aid by project, fund and year (non-zero rows only).",
    (Col("project"), Col("fund"), Col("year")), (Col("aid_musd", MUSD),))

FUNDING = Table(
    "funding", "Funding", "fund x year",
    "Fund x year. Marginal values are given the chosen portfolio.",
    (Col("fund"), Col("year")),
    (Col("instrument"), Col("owner"), Col("budget_musd", MUSD), Col("aid_musd", MUSD), Col("acquisitions_musd", MUSD),
     Col("budget_use_musd", MUSD, "What the year's aid and acquisitions cost the fund's budget: c_f x (aid + acquisitions)."),
     Col("carry_in_musd", MUSD), Col("carry_out_musd", MUSD),
     Col("marginal_value", "USD per USD",
         "USD saved per extra USD of budget in that year, given the chosen portfolio (undiscounted)."),
     Col("marginal_value_pv", "USD per USD", "The same saving in present value (discounted to the start year).")))

SUPPLY = Table(
    "supply", "Supply", "member x material x year x scenario",
    "Members only, by scenario. Charts: expected over scenarios.",
    (SCENARIO, REGION, MATERIAL, Col("year")),
    (Col("demand_t", T), Col("from_projects_t", T, label="projects"), Col("byproduct_t", T, label="by-products"),
     Col("external_t", T, "Bought at the region's own Supply offers.", label="own supply offers"),
     Col("imports_ally_t", T, label="imports from allies"), Col("imports_partner_t", T, label="imports from partners"),
     Col("imports_concern_t", T, label="imports from concern"), Col("exports_t", T),
     Col("stockpile_release_t", T, label="stockpile release"),
     Col("shortfall_t", T, "Demand not met.", label="shortfall")))

STOCKPILES = Table(
    "stockpiles", "Stockpiles", "stockpile x year x scenario",
    "Stockpile x year x scenario; buy_t is the same in every scenario.",
    (SCENARIO, Col("stockpile"), Col("year")),
    (MATERIAL, Col("location"), Col("buy_t", T), Col("release_t", T), Col("inventory_t", T), Col("capacity_t", T)))

STOCKPILE_VALUES = Table(
    "stockpile_values", None, "stockpile", "Shown on the Stockpiles sheet, beside each stockpile's rows.",
    (Col("stockpile"),),
    (Col("capacity_marginal_value_usd_per_t", "USD per t",
         "USD saved per extra tonne of stockpile capacity, given the chosen portfolio "
         "(the same value on every row of a stockpile)."),))

DEPENDENCE = Table(
    "dependence", "Dependence", "member x material x year x scenario", "Members only, by scenario.",
    (SCENARIO, REGION, MATERIAL, Col("year")),
    (Col("consumption_t", T), Col("concern_imports_t", T),
     Col("concern_share", SHARE, "Imports from concern regions as a share of consumption."),
     Col("max_single_origin_share", SHARE)))

SCENARIOS = Table(
    "scenarios", "Scenarios", "scenario",
    "One row per scenario; cost_musd is its present-value cost Z_s.",
    (SCENARIO,),
    (Col("probability", SHARE), Col("cost_musd", MUSD, "Present value of this scenario's cost Z_s."),
     Col("shortfall_t", T, "Demand not met."), Col("shortfall_cost_musd", MUSD)))

TABLES: tuple[Table, ...] = (BREAKDOWN, PORTFOLIO, AID, FUNDING, SUPPLY, STOCKPILES, STOCKPILE_VALUES, DEPENDENCE, SCENARIOS)
BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
SHEET_TABLES: tuple[Table, ...] = tuple(t for t in TABLES if t.sheet)  # in the result workbook's order

# Supply columns a chart stacks, with their legend names: every Supply column that has a label
SUPPLY_SOURCES: dict[str, str] = {c.name: c.label for c in SUPPLY.values if c.label}

# Provenance columns of the In_<sheet> copies of the case
PROVENANCE_DOCS = {
    "from_file": "Workbook the record came from (a base case for inherited rows).",
    "from_row": "Row of that workbook.",
}
