"""What each allowed word of the case schema means, in the planner's words.

`model.case.schema` attaches these to its word columns; the template shows
them in the header comments and on the Overview, and docs/schema.md lists them,
so a planner reads what `concern` or `origin_block` does where they type it.
"""

from __future__ import annotations

BLOC_MEANINGS = (
    ("ally", "a government aligned with the coalition (a member when member = Y)"),
    ("partner", "a trading partner that is neither an ally nor of concern"),
    ("concern", ("a region whose supply the coalition wants to rely on less: max_concern_share counts its tonnes; "
                "never a member")),
)
STAGE_MEANINGS = (
    ("ore", "mined ore or concentrate"), ("oxide", "refined or separated oxide, carbonate or salt"), ("metal", "metal"),
    ("alloy", "alloy"), ("magnet", "magnets"), ("product", "a finished product"),
    ("byproduct", "recovered from another material's processing, such as gallium from alumina"),
)
STATUS_MEANINGS = (
    ("candidate", "may be financed: minplan decides whether and when its FID is taken"),
    ("committed", "goes ahead at its fid_year whatever happens; costed when fid_year is start_year or later, sunk before"),
    ("existing", "already operating, until retire_year; its costs are sunk"),
)
ROLE_MEANINGS = (
    ("input", "consumed: t_per_t tonnes per tonne of the project's output"),
    ("byproduct", "co-produced: t_per_t tonnes per tonne of the project's output"),
)
RELATION_MEANINGS = (
    ("requires", "this project's FID needs the other's FID at least lag_yr years earlier"),
    ("excludes", "not both projects"),
)
INSTRUMENT_MEANINGS = (
    ("grant", "pays part of a project's capex; each USD m costs the budget budget_cost_per_musd (1 by default)"),
    ("loan", "lends for capex; each USD m costs the budget the credit subsidy rate"),
    ("equity", "takes a stake; each USD m costs the budget the expected loss share"),
    ("stockpile", "pays stockpile acquisitions; budget_cost_per_musd is the share paid from public money"),
)
KIND_MEANINGS = (
    ("supply_cut", ("cuts the target origin's Supply offers by magnitude, the fraction cut from 0 to 1 (blank = 1, all "
                   "of it); target an origin region or * for every origin")),
    ("price_shock", ("multiplies the target origin's Supply prices by magnitude, above 0 (2 = double); target an origin "
                    "region, or * for every origin, which also scales the world price that values tariffs and purchases")),
    ("demand_shock", ("multiplies the target member's demand by magnitude, 0 or more (1.2 = 20% more, 0 = none); target "
                     "a member or * for every member")),
    ("project_delay", "an FID of the target project taken in the row's years comes online magnitude whole years later"),
    ("project_fail", "the target project produces nothing in the row's years; leave magnitude blank"),
    ("route_block", ("no shipment on the leg origin>destination (target such as CN>US; either side may be *); leave "
                    "magnitude blank")),
    ("origin_block", ("no tonne made in the origin reaches the destination by any leg, re-exports included (target such "
                     "as CN>* or CN>US: a non-member origin, then a member or * for every member); leave magnitude blank")),
)
DECISION_MEANINGS = (
    ("adaptive", ("decisions may differ between branches of the scenario tree: what to do now, and what to do if a "
                 "disruption begins")),
    ("now", "every decision is fixed before anything is known"),
)

