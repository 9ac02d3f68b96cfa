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
    "Every candidate and committed project; funded ones first. Under adaptive decisions a project may be funded in some"
    " branches of the scenario tree only: fid_when and online_when say when, in which branch.",
    (Col("project"),),
    (Col("name"), Col("funded", doc="TRUE when the project goes ahead in at least one scenario."),
     Col("funded_probability", SHARE, "Probability that the project goes ahead (1 when it does in every scenario)."),
     Col("region"), Col("status"), Col("output"), Col("capacity_tpy", "t per year"), Col("capex_musd", MUSD),
     Col("fid_year", YEAR, "The earliest FID year over the scenarios that fund it."),
     Col("online_year", YEAR, "Planned first year of output (FID year + lead time), before any delay in a scenario."),
     Col("fid_when", doc="FID year in each branch: '2026 in every scenario', or '2027 if <what was seen> (p%)'."),
     Col("online_when", doc="Planned online year in each branch, in the same words."),
     Col("aid_musd", MUSD, "Expected aid over the scenarios (probability-weighted)."),
     Col("public_share", SHARE, "Aid as a share of capex, where funded.")))

AID = Table(
    "aid", None, "project x fund x year x node with aid", "Aid by project, fund, year and decision node (non-zero rows).",
    (Col("project"), Col("fund"), Col("year"), Col("node")),
    (Col("probability", SHARE, "Probability of the decision node."), Col("aid_musd", MUSD)))

FUNDING = Table(
    "funding", "Funding", "fund x year x information node",
    "Fund x year x node of the scenario tree (one node a year when nothing branches). Marginal values are given the"
    " chosen portfolio.",
    (Col("fund"), Col("year"), Col("node")),
    (Col("probability", SHARE, "Probability of the node."), Col("instrument"), Col("owner"), Col("budget_musd", MUSD),
     Col("aid_musd", MUSD), Col("acquisitions_musd", MUSD, "What the fund pays for the node's stockpile purchases."),
     Col("budget_use_musd", MUSD, "What the year's aid and acquisitions cost the fund's budget: c_f x (aid + acquisitions)."),
     Col("carry_in_musd", MUSD), Col("carry_out_musd", MUSD),
     Col("marginal_value", "USD per USD",
         "USD saved per extra USD of budget in that year, should this node occur, given the chosen portfolio."),
     Col("marginal_value_year", "USD per USD",
         "USD saved per extra USD of budget in that year whatever happens (the same on every node of the year)."),
     Col("marginal_value_pv", "USD per USD", "The node's saving in present value, weighted by its probability.")))

SUPPLY = Table(
    "supply", "Supply", "member x material x year x scenario",
    "Members only, by scenario. Imports are by traced origin (where the tonnes were last made), whoever shipped them.",
    (SCENARIO, REGION, MATERIAL, Col("year")),
    (Col("demand_t", T), Col("from_projects_t", T, label="projects"), Col("byproduct_t", T, label="by-products"),
     Col("external_t", T, "Bought at the region's own Supply offers.", label="own supply offers"),
     Col("imports_coalition_t", T, "Made in another member (coalition-made).", label="made in the coalition"),
     Col("imports_ally_t", T, "Made in ally regions outside the coalition.", label="made in allies outside"),
     Col("imports_partner_t", T, "Made in partner regions.", label="made in partners"),
     Col("imports_concern_t", T, "Made in concern regions, whatever the route.", label="made in concern regions"),
     Col("exports_t", T), Col("stockpile_buy_t", T, "Taken out of the balance into the member's stockpiles."),
     Col("stockpile_release_t", T, label="stockpile release"),
     Col("shortfall_t", T, "Demand not met (every step of the cost curve; see Shortfall).", label="shortfall"),
     Col("shortfall_cost_musd", MUSD, "Undiscounted cost of the shortfall at its steps' penalties."),
     Col("tariffs_musd", MUSD, "Tariffs paid on arrival, by origin (undiscounted).")))

SHORTFALL = Table(
    "shortfall", "Shortfall", "member x material x year x scenario x step",
    "Unmet demand by step of each member's cost curve (ShortfallCosts): cheap steps (thrifting, substitution) first.",
    (SCENARIO, REGION, MATERIAL, Col("year"), Col("step")),
    (Col("up_to_share", SHARE, "Cumulative share of demand the step reaches."), Col("penalty_usd_per_t", "USD per t"),
     Col("shortfall_t", T)))

STOCKPILES = Table(
    "stockpiles", "Stockpiles", "stockpile x year x scenario",
    "Stockpile x year x scenario; buy_t is the purchase of the scenario's decision node, inventory by traced origin.",
    (SCENARIO, Col("stockpile"), Col("year")),
    (Col("node", doc="Information node of the scenario in that year."), MATERIAL, Col("location"), Col("buy_t", T),
     Col("release_t", T), Col("inventory_t", T), Col("inventory_coalition_t", T), Col("inventory_ally_t", T),
     Col("inventory_partner_t", T), Col("inventory_concern_t", T), Col("capacity_t", T)))

DEPENDENCE = Table(
    "dependence", "Dependence", "member (and coalition) x material x year x scenario",
    "Consumption by traced origin; region 'coalition' is the members together.",
    (SCENARIO, REGION, MATERIAL, Col("year")),
    (Col("consumption_t", T, "Demand met plus project inputs."), Col("coalition_origin_t", T), Col("ally_origin_t", T),
     Col("partner_origin_t", T), Col("concern_origin_t", T),
     Col("concern_share", SHARE, "Concern-origin tonnes as a share of consumption."),
     Col("largest_origin", doc="The non-member origin with the most tonnes."), Col("largest_origin_share", SHARE),
     Col("limit_concern_share", SHARE, "The Policies limit that applies (blank = none)."),
     Col("limit_single_origin_share", SHARE, "The Policies limit that applies (blank = none).")))

SCENARIOS = Table(
    "scenarios", "Scenarios", "scenario",
    "One row per scenario; cost_musd is its present-value cost Z_s.",
    (SCENARIO,),
    (Col("probability", SHARE), Col("cost_musd", MUSD, "Present value of this scenario's cost Z_s."),
     Col("shortfall_t", T, "Demand not met."), Col("shortfall_cost_musd", MUSD),
     Col("path", doc="The nodes of the scenario tree it passes through, with their years."),
     Col("options", doc="The event=option pairs that happen in it, for scenarios generated from the Events sheet"
         " (blank for listed scenarios and for calm).")))

DECISIONS = Table(
    "decisions", "Decisions", "node of the scenario tree",
    "The scenario tree: one row per node (year, node named by its first scenario, parent, what was seen there) and the"
    " decisions taken there. Under decisions = now the node 'all' of each year holds FIDs, aid and purchases.",
    (Col("year"), Col("node")),
    (Col("kind", doc="information (what is known) or decision (the node 'all' under decisions = now)."),
     Col("scenarios", doc="How many scenarios the node holds."), Col("first_scenario"),
     Col("probability", SHARE), Col("parent"), Col("seen", doc="What was seen there that its siblings did not see."),
     Col("fid", doc="Projects whose FID is taken here."), Col("aid_musd", doc="Aid by fund and project, USD m."),
     Col("purchases", doc="Stockpile purchases by origin, t."), Col("releases", doc="Stockpile releases by origin, t."),
     Col("carry_musd", doc="Budget carried to the next year, USD m.")))

STOCKPILE_VALUES = Table(
    "stockpile_values", None, "stockpile", "Shown on the Stockpiles sheet, beside each stockpile's rows.",
    (Col("stockpile"),),
    (Col("capacity_marginal_value_usd_per_t", "USD per t",
         "USD saved per extra tonne of stockpile capacity, given the chosen portfolio "
         "(the same value on every row of a stockpile)."),))

TABLES: tuple[Table, ...] = (BREAKDOWN, PORTFOLIO, AID, DECISIONS, FUNDING, SUPPLY, SHORTFALL, STOCKPILES,
                             STOCKPILE_VALUES, DEPENDENCE, SCENARIOS)

BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
SHEET_TABLES: tuple[Table, ...] = tuple(t for t in TABLES if t.sheet)  # in the result workbook's order

# Supply columns a chart stacks, with their legend names: every Supply column that has a label
SUPPLY_SOURCES: dict[str, str] = {c.name: c.label for c in SUPPLY.values if c.label}

# Provenance columns of the In_<sheet> copies of the case
PROVENANCE_DOCS = {
    "from_file": "Workbook the record came from (a base case for inherited rows).",
    "from_row": "Row of that workbook.",
}
