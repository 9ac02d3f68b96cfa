"""The case schema, written once as data.

Every sheet and column of a case workbook is declared here: its type, unit,
whether it is required, its default, its allowed values and what it refers
to. The reader, the validator, the template (comments and dropdowns) and the
schema table in the docs are all driven from these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.case.words import (
    BLOC_MEANINGS,
    DECISION_MEANINGS,
    INSTRUMENT_MEANINGS,
    KIND_MEANINGS,
    RELATION_MEANINGS,
    ROLE_MEANINGS,
    STAGE_MEANINGS,
    STATUS_MEANINGS,
)

# Column kinds. Each one has a plain-words description used in messages.
TEXT = "text"  # an identifier or free text, trimmed
NUMBER = "number"  # a real number
INTEGER = "integer"  # a whole number
YEAR = "year"  # a whole-number calendar year
YN = "yn"  # Y/N, yes/no, true/false, 1/0
ENUM = "enum"  # one of a fixed list of words
LIST = "list"  # comma-separated identifiers

KIND_WORDS = {
    TEXT: "text",
    NUMBER: "a number",
    INTEGER: "a whole number",
    YEAR: "a year (a whole number such as 2030)",
    YN: "Y or N",
    ENUM: "one of the listed words",
    LIST: "a comma-separated list",
}

YES_WORDS = {"y", "yes", "true", "1"}
NO_WORDS = {"n", "no", "false", "0"}


@dataclass(frozen=True)
class Column:
    """One column of a case sheet (or one key of the Settings sheet)."""

    name: str
    kind: str
    doc: str
    required: bool = False
    default: Any = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    ref: str | None = None  # sheet whose key this column names
    ref_extra: tuple[str, ...] = ()  # words also accepted besides a reference
    min: float | None = None
    max: float | None = None
    min_open: bool = False  # value must be strictly greater than min
    max_open: bool = False  # value must be strictly less than max
    max_why: str = ""  # why values above max are refused, said in the message
    hint: str = ""  # what a value means, in the planner's words, leading the expected text ("a fraction such as 0.05")
    meanings: tuple[tuple[str, str], ...] = ()  # for words: what each allowed word means, shown where it is typed

    def expected(self) -> str:
        """What a valid value looks like, in a planner's words."""
        if self.kind == ENUM:
            return "one of " + ", ".join(self.choices)
        words = KIND_WORDS[self.kind]
        lo = hi = None
        if self.min is not None:
            lo = f"{'greater than' if self.min_open else 'at least'} {_fmt(self.min)}"
        if self.max is not None:
            hi = f"{'less than' if self.max_open else 'at most'} {_fmt(self.max)}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        if self.ref:
            words = f"a {self.ref[:-1].lower() if self.ref.endswith('s') else self.ref} declared on the {self.ref} sheet"
            if self.ref_extra:
                words += " or " + " / ".join(f"'{w}'" for w in self.ref_extra)
        return f"{words}, {bounds}" if bounds else words


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class Sheet:
    """One sheet of a case workbook."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    doc: str
    required: bool = False
    row_word: str = "row"

    @property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


# Columns every sheet may carry; kept with each row, not used by the model.
PROVENANCE = (
    Column("source", TEXT, "Where the figures in this row come from (publication, file, or 'assumption: why')."),
    Column("note", TEXT, "Free note, kept with the row and shown in the result's Inputs sheet."),
)
DELETE = Column("delete", YN, "Y removes the base case's row with the same key (inheriting cases only).", default=False)

BLOCS = ("ally", "partner", "concern")
STAGES = ("ore", "oxide", "metal", "alloy", "magnet", "product", "byproduct")
STATUSES = ("candidate", "committed", "existing")
ROLES = ("input", "byproduct")
RELATIONS = ("requires", "excludes")
INSTRUMENTS = ("grant", "loan", "equity", "stockpile")
DISRUPTION_KINDS = ("supply_cut", "price_shock", "demand_shock", "project_delay", "project_fail", "route_block",
                    "origin_block")
DECISION_MODES = ("adaptive", "now")

C = Column

# The largest magnitudes the solver handles reliably: HiGHS's tolerances (about 1e-7 relative, 1e-6 absolute)
# cannot separate a tonne or a dollar from rounding error beyond them. Each is said where it is refused.
MAX_TONNES = 1e9
MAX_MUSD = 1e7
MAX_USD_PER_T = 1e10
WHY_TONNES = "the largest quantity minplan accepts: above 1e9 t the solver's tolerances no longer separate a tonne from rounding error"
WHY_MUSD = ("the largest amount minplan accepts: above USD 1e7 m (10 trillion) the solver's tolerances no longer separate "
            "one plan's cost from another's")
WHY_USD_PER_T = ("the largest price minplan accepts: above 1e10 USD/t one tonne's cost swamps every other cost and the "
                 "solver's tolerances no longer separate one plan from another")
TONNES = {"max": MAX_TONNES, "max_why": WHY_TONNES}
MUSD = {"max": MAX_MUSD, "max_why": WHY_MUSD}
USD_PER_T = {"max": MAX_USD_PER_T, "max_why": WHY_USD_PER_T}
MAX_SEED = 2**31 - 1  # HiGHS's random_seed is a 32-bit signed integer

# HiGHS aborts the whole process when asked for absurdly many threads (100,000 crashed it; 10,000 did not).
MAX_THREADS = 1024

SETTINGS_KEYS: tuple[Column, ...] = (
    C("case_name", TEXT, "Short name of the case; names the result file."),
    C("description", TEXT, "What this case is about."),
    C("start_year", YEAR, "First planning year.", required=True, unit="year", min=1900, max=2200),
    C("end_year", YEAR, "Last planning year (inclusive).", required=True, unit="year", min=1900, max=2200),
    C("discount_rate", NUMBER, "Real discount rate per year.", default=0.05, unit="fraction per year", min=0),
    C("base_case", TEXT, "Path of a case workbook this one overrides, relative to this file's folder."),
    C("mcpf", NUMBER, "Marginal cost of public funds: deadweight cost per USD of public money.", default=0.2, unit="fraction", min=0),
    C("risk_weight", NUMBER, "Weight of the CVaR term in the objective (0 = risk-neutral).", default=0.0, min=0),
    C("cvar_alpha", NUMBER, "CVaR confidence level.", default=0.9, min=0, max=1, max_open=True),
    C("mip_rel_gap", NUMBER, "Relative MIP gap at which HiGHS stops: 0.01 stops within 1% of the best possible plan.",
      default=1e-4, min=0, max=0.5, max_why="the largest gap minplan accepts: the gap is a fraction, not a percentage", hint="a fraction such as 0.05 for 5%"),
    C("time_limit_s", NUMBER, "Solver time limit in seconds (blank = none).", unit="s", min=0, min_open=True),
    C("threads", INTEGER, "Solver threads (blank = HiGHS's default).", min=1, max=MAX_THREADS),
    C("random_seed", INTEGER, "Solver random seed: same case, same answer.", default=0, min=0, max=MAX_SEED,
      max_why="the largest seed HiGHS takes (2^31 - 1)"),
    C("decisions", ENUM, "How decisions follow the scenario tree (a scenario is known once its disruptions act).",
      default="adaptive", choices=DECISION_MODES, meanings=DECISION_MEANINGS),
    C("max_scenarios", INTEGER, "Most scenarios an Events sheet may generate; above it a seeded sample of this many"
      " draws (random_seed) stands for the family.", default=1000, min=1),
    C("max_nodes", INTEGER, "Largest scenario tree (nodes over all years) the case may build.", default=2000, min=1),
    C("fid_step_yr", INTEGER, "FIDs only every this many years from start_year (1 = every year).", default=1, unit="yr",
      min=1),
)

SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "Settings",
        ("key",),
        (
            C("key", ENUM, "Setting name.", required=True, choices=tuple(k.name for k in SETTINGS_KEYS)),
            C("value", TEXT, "Setting value.", required=True),
        ),
        "Case-wide settings, one key per row.",
        required=True,
        row_word="setting",
    ),
    Sheet(
        "Regions",
        ("region",),
        (
            C("region", TEXT, "Region identifier (case-sensitive).", required=True),
            C("name", TEXT, "Display name."),
            C("bloc", ENUM, "Political bloc.", required=True, choices=BLOCS, meanings=BLOC_MEANINGS),
            C("member", YN, "Y if part of the planning coalition (has demand, funds, stockpiles).", required=True),
        ),
        "Countries and groupings: members of the coalition and other regions.",
        required=True,
        row_word="region",
    ),
    Sheet(
        "Materials",
        ("material",),
        (
            C("material", TEXT, "Material identifier.", required=True),
            C("name", TEXT, "Display name."),
            C("stage", ENUM, "Value-chain stage (orders reports and charts only).", required=True, choices=STAGES,
              meanings=STAGE_MEANINGS),
            C("price_usd_per_t", NUMBER, "Reference world price.", required=True, unit="USD/t", min=0, **USD_PER_T),
            C("shortfall_penalty_usd_per_t", NUMBER, "Cost of one tonne of unmet member demand.", required=True, unit="USD/t", min=0, **USD_PER_T),
            C("holding_cost_usd_per_t_yr", NUMBER, "Cost of holding one tonne in a stockpile for a year.", default=0.0, unit="USD/t/yr", min=0, **USD_PER_T),
        ),
        "Materials on the value chains.",
        required=True,
        row_word="material",
    ),
    Sheet(
        "Demand",
        ("region", "material", "year"),
        (
            C("region", TEXT, "Member region that consumes.", required=True, ref="Regions"),
            C("material", TEXT, "Material demanded.", required=True, ref="Materials"),
            C("year", YEAR, "Year.", required=True, unit="year"),
            C("demand_t", NUMBER, "Demand.", required=True, unit="t", min=0, **TONNES),
        ),
        "Member demand by material and year.",
        required=True,
    ),
    Sheet(
        "Projects",
        ("project",),
        (
            C("project", TEXT, "Project identifier.", required=True),
            C("name", TEXT, "Display name."),
            C("region", TEXT, "Where the project stands.", required=True, ref="Regions"),
            C("status", ENUM, "Whether minplan decides on the project.", required=True, choices=STATUSES,
              meanings=STATUS_MEANINGS),
            C("output", TEXT, "Main output material.", required=True, ref="Materials"),
            C("capacity_tpy", NUMBER, "Full output capacity.", required=True, unit="t/yr", min=0, **TONNES),
            C("capex_musd", NUMBER, "Capital cost (required for candidate and committed).", unit="USD m", min=0, **MUSD),
            C("fixed_opex_musd_per_yr", NUMBER, "Fixed operating cost per year online.", default=0.0, unit="USD m/yr", min=0, **MUSD),
            C("var_cost_usd_per_t", NUMBER, "Variable cost per tonne of output.", default=0.0, unit="USD/t", min=0, **USD_PER_T),
            C("lead_time_yr", INTEGER, "Years from FID to first output (required for candidate and committed).", unit="yr", min=0),
            C("ramp_yr", INTEGER, "Years to ramp to full capacity (0 = full in first year).", default=0, unit="yr", min=0),
            C("earliest_fid_year", YEAR, "Earliest FID year (blank = start_year).", unit="year"),
            C("latest_fid_year", YEAR, "Latest FID year (blank = end_year - lead_time_yr).", unit="year"),
            C("fid_year", YEAR, "FID year of a committed project (may precede start_year).", unit="year"),
            C("life_yr", INTEGER, "Economic life.", default=20, unit="yr", min=1),
            C("retire_year", YEAR, "Existing projects: first year no longer operating (blank = never).", unit="year"),
            C("min_public_share", NUMBER, "Share of capex that must come from public funds for the project to go ahead.", default=0.0, min=0, max=1),
            C("max_public_share", NUMBER, "Largest share of capex public funds may cover.", default=1.0, min=0, max=1),
        ),
        "Mines, refineries, separation, metal, magnet and recovery plants.",
        required=True,
        row_word="project",
    ),
    Sheet(
        "Recipes",
        ("project", "material"),
        (
            C("project", TEXT, "Project.", required=True, ref="Projects"),
            C("material", TEXT, "Material consumed or co-produced.", required=True, ref="Materials"),
            C("role", ENUM, "What the material is to the project.", required=True, choices=ROLES, meanings=ROLE_MEANINGS),
            C("t_per_t", NUMBER, "Tonnes per tonne of the project's output.", required=True, unit="t/t", min=0),
        ),
        "Inputs and by-products per tonne of each project's output.",
    ),
    Sheet(
        "Dependencies",
        ("project", "relation", "other"),
        (
            C("project", TEXT, "Project the rule applies to.", required=True, ref="Projects"),
            C("relation", ENUM, "The rule between the two projects.", required=True, choices=RELATIONS,
              meanings=RELATION_MEANINGS),
            C("other", TEXT, "The other project.", required=True, ref="Projects"),
            C("lag_yr", INTEGER, "Years from the other's FID to this one's, at least.", default=0, unit="yr", min=0),
        ),
        "Rules between projects.",
    ),
    Sheet(
        "Funds",
        ("fund",),
        (
            C("fund", TEXT, "Fund identifier.", required=True),
            C("owner", TEXT, "Member region that owns the fund.", required=True, ref="Regions"),
            C("instrument", ENUM, "grant, loan, equity (support projects) or stockpile (pays acquisitions).", required=True,
              choices=INSTRUMENTS, meanings=INSTRUMENT_MEANINGS),
            C("budget_cost_per_musd", NUMBER, "Budget cost of one USD m of support (grant 1; required for loan, equity, stockpile).", unit="fraction", min=0),
            C("max_per_project_musd", NUMBER, "Largest support to one project (blank = no cap).", unit="USD m", min=0, **MUSD),
            C("eligible_regions", LIST, "Regions the fund may support: blank = any, 'domestic', 'abroad', or a comma list."),
            C("carryover", YN, "Y if unspent budget carries to the next year.", default=False),
        ),
        "Public funds that back projects or stockpiles.",
        row_word="fund",
    ),
    Sheet(
        "Budgets",
        ("fund", "year"),
        (
            C("fund", TEXT, "Fund.", required=True, ref="Funds"),
            C("year", YEAR, "Year.", required=True, unit="year"),
            C("budget_musd", NUMBER, "Budget available in the year (a year with no row has 0).", required=True, unit="USD m", min=0, **MUSD),
        ),
        "Yearly budget of each fund.",
    ),
    Sheet(
        "Supply",
        ("origin", "material", "year"),
        (
            C("origin", TEXT, "Region that offers the material.", required=True, ref="Regions"),
            C("material", TEXT, "Material offered.", required=True, ref="Materials"),
            C("year", YEAR, "Year.", required=True, unit="year"),
            C("max_t", NUMBER, "Most that can be bought.", required=True, unit="t", min=0, **TONNES),
            C("price_usd_per_t", NUMBER, "Price at origin.", required=True, unit="USD/t", min=0, **USD_PER_T),
        ),
        "External supply offers by origin, material and year.",
    ),
    Sheet(
        "Routes",
        ("origin", "destination", "material"),
        (
            C("origin", TEXT, "Origin region or *.", required=True, ref="Regions", ref_extra=("*",)),
            C("destination", TEXT, "Destination region or *.", required=True, ref="Regions", ref_extra=("*",)),
            C("material", TEXT, "Material (blank = all).", ref="Materials"),
            C("transport_usd_per_t", NUMBER, "Transport cost.", default=0.0, unit="USD/t", min=0, **USD_PER_T),
            C("tariff_pct", NUMBER, "Ad-valorem tariff on the reference price.", default=0.0, unit="%", min=0),
            C("allowed", YN, "N forbids the route.", default=True),
        ),
        "Trade routes: costs, tariffs and bans. The most specific matching row applies.",
    ),
    Sheet(
        "Stockpiles",
        ("stockpile",),
        (
            C("stockpile", TEXT, "Stockpile identifier.", required=True),
            C("owner", TEXT, "Member that owns it, or 'joint' (reported only).", required=True, ref="Regions", ref_extra=("joint",)),
            C("location", TEXT, "Member region where it is held and released.", required=True, ref="Regions"),
            C("material", TEXT, "Material held.", required=True, ref="Materials"),
            C("initial_t", NUMBER, "Inventory at the start.", default=0.0, unit="t", min=0, **TONNES),
            C("initial_origin", TEXT, "Region where the initial holding was made (blank = made in the coalition).",
              ref="Regions"),
            C("capacity_t", NUMBER, "Largest inventory (blank = no limit).", unit="t", min=0, **TONNES),
            C("purchase_premium_pct", NUMBER, "Premium paid over the reference price when buying.", default=0.0, unit="%", min=0),
            C("fund", TEXT, "Stockpile fund that pays acquisitions (blank = paid outside the modelled budgets).", ref="Funds"),
            C("buy_until_year", YEAR, "Last year acquisitions are allowed (blank = end).", unit="year"),
            C("max_purchase_tpy", NUMBER, "Largest purchase per year (blank = no limit).", unit="t/yr", min=0, **TONNES),
            C("max_release_tpy", NUMBER, "Largest release per year (blank = no limit).", unit="t/yr", min=0, **TONNES),
            C("release_only_in_disruption", YN, "Y: release only when a disruption touches the material.", default=True),
        ),
        "Strategic stockpiles.",
        row_word="stockpile",
    ),
    Sheet(
        "Scenarios",
        ("scenario",),
        (
            C("scenario", TEXT, "Scenario identifier.", required=True),
            C("probability", NUMBER, "Probability (all scenarios sum to 1).", required=True, min=0, max=1),
            C("description", TEXT, "What happens in this scenario."),
        ),
        "Scenarios and their probabilities (no sheet = one scenario 'base').",
        row_word="scenario",
    ),
    Sheet(
        "Disruptions",
        ("scenario", "kind", "target", "material", "start_year"),
        (
            C("scenario", TEXT, "Scenario in which the row acts, or event=option (Events sheet); * = every scenario.", required=True, ref="Scenarios",
              ref_extra=("*",)),
            C("kind", ENUM, "What happens.", required=True, choices=DISRUPTION_KINDS, meanings=KIND_MEANINGS),
            C("target", TEXT, "What the row acts on, by kind: supply_cut and price_shock an origin region or * (every origin); "
              "demand_shock a member or * (every member); project_delay and project_fail a project; route_block "
              "origin>destination, either side may be * (CN>US, CN>*); origin_block a non-member origin>a member or * "
              "(CN>*).", required=True),
            C("material", TEXT, "Material touched (blank = all).", ref="Materials"),
            C("start_year", YEAR, "First year it acts.", required=True, unit="year"),
            C("end_year", YEAR, "Last year it acts (blank = horizon end).", unit="year"),
            C("magnitude", NUMBER, "How strong it is, by kind: supply_cut the fraction cut, 0 to 1 (blank = 1, all of it); "
              "price_shock the price multiplier, above 0 (2 = double); demand_shock the demand multiplier, 0 or more "
              "(1.2 = 20% more); project_delay the delay in whole years; project_fail, route_block and origin_block "
              "take none (leave blank).", min=0),
        ),
        "Disruptions in each scenario: export bans, price shocks, delays, failures, blocked routes.",
    ),
    Sheet(
        "Events",
        ("event", "option"),
        (
            C("event", TEXT, "Independent uncertain event, such as ree_ban.", required=True),
            C("option", TEXT, "One of the event's mutually exclusive outcomes, such as 2027_3y.", required=True),
            C("probability", NUMBER, "Probability of this option (an event's options sum to at most 1; the rest is"
              " 'the event does not happen').", required=True, min=0, max=1),
            C("description", TEXT, "What happens under this option."),
        ),
        "Independent events whose combinations generate the scenarios; Disruptions rows name them as event=option.",
        row_word="option",
    ),
    Sheet(
        "Policies",
        ("region", "material", "year_from"),
        (
            C("region", TEXT, "Member region, or * for the coalition as a whole.", required=True, ref="Regions",
              ref_extra=("*",)),
            C("material", TEXT, "Material.", required=True, ref="Materials"),
            C("year_from", YEAR, "First year the row applies (blank = start).", unit="year"),
            C("max_concern_share", NUMBER, "Largest share of consumption imported from concern regions (blank = no limit).", min=0, max=1),
            C("max_single_origin_share", NUMBER, "Largest share of consumption from one non-member origin (blank = no limit).", min=0, max=1),
        ),
        "Import-dependence limits on traced origin.",
    ),
    Sheet(
        "ShortfallCosts",
        ("material", "region", "up_to_share"),
        (
            C("material", TEXT, "Material.", required=True, ref="Materials"),
            C("region", TEXT, "Member region (blank = every member without rows of its own).", ref="Regions"),
            C("up_to_share", NUMBER, "Cumulative share of demand this step reaches.", required=True, min=0, min_open=True,
              max=1),
            C("penalty_usd_per_t", NUMBER, "Cost of one tonne short in this step (thrifting and substitution first, lost"
              " output last).", required=True, unit="USD/t", min=0, **USD_PER_T),
        ),
        "Shortfall cost curves: steps of unmet demand at rising cost per tonne.",
        row_word="step",
    ),
)

SHEET = {s.name: s for s in SHEETS}
assert all(tuple(w for w, _ in c.meanings) == c.choices for sh in SHEETS for c in (*sh.columns, *SETTINGS_KEYS)
           if c.meanings), "every allowed word has its meaning, in order"
SETTING = {k.name: k for k in SETTINGS_KEYS}


def all_columns(sheet: Sheet) -> dict[str, Column]:
    """The sheet's columns plus the provenance and delete columns every sheet may carry."""
    cols = dict(sheet.by_name)
    for c in (*PROVENANCE, DELETE):
        cols.setdefault(c.name, c)
    return cols


@dataclass
class SchemaRow:
    """A flattened view of one column, for docs and the template's comments."""

    sheet: str
    column: str
    kind: str
    required: bool
    default: Any
    unit: str
    doc: str
    choices: tuple[str, ...] = field(default_factory=tuple)


def schema_markdown() -> str:
    """The schema as a Markdown table (drives the README's schema section)."""
    lines = ["| sheet | column | required | type | unit | default | meaning |", "|---|---|---|---|---|---|---|"]
    for sheet in SHEETS:
        cols = SETTINGS_KEYS if sheet.name == "Settings" else sheet.columns
        for c in cols:
            kind = "one of " + " / ".join(c.choices) if c.kind == ENUM and sheet.name != "Settings" else KIND_WORDS[c.kind]
            default = "" if c.default is None else ("Y" if c.default is True else "N" if c.default is False else str(c.default))
            name = f"key `{c.name}`" if sheet.name == "Settings" else f"`{c.name}`"
            doc = c.doc + "".join(f" `{w}`: {m}." for w, m in c.meanings)
            lines.append(f"| {sheet.name} | {name} | {'yes' if c.required else ''} | {kind} | {c.unit} | {default} | {doc} |")
    return "\n".join(lines)
