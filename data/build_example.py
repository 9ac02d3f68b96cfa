"""Build cases/example.xlsx: a small, hand-checkable NdFeB magnet case.

Three stages (rare-earth concentrate -> NdPr oxide -> NdFeB magnet), two
members (US, EU), a partner supplier (AU) and a concern (CN), six projects,
two US funds, one stockpile, and two scenarios: no disruption, and a Chinese
export ban from 2029. Figures are illustrative but of realistic size; each
row's `source` says where its numbers come from or that they are assumed.

Run from the repository root: `python data/build_example.py [OUT]`. The same
data gives the same cell contents on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from model.case.schema import SETTINGS_KEYS
from model.case.template import write_documented_case

START, END, BAN_YEAR = 2026, 2033, 2029
YEARS = range(START, END + 1)
ASSUMED = "assumption: illustrative"

DESCRIPTION = (
    "Illustrative NdFeB magnet chain (rare-earth concentrate -> NdPr oxide -> NdFeB magnet), 2026-2033. "
    "The US and the EU plan together; Australia is a partner supplier and China a concern. "
    "In one scenario (probability 0.25) China stops exporting from 2029."
)

SETTINGS = {"case_name": "example", "description": DESCRIPTION, "start_year": START, "end_year": END,
            "discount_rate": 0.05, "mcpf": 0.2}
SETTINGS_SOURCES = {
    **{k.name: "minplan default" for k in SETTINGS_KEYS},
    "case_name": ASSUMED, "description": ASSUMED,
    "start_year": f"{ASSUMED}: an eight-year horizon, short enough to check by hand",
    "end_year": f"{ASSUMED}: an eight-year horizon, short enough to check by hand",
    "discount_rate": f"{ASSUMED}: 5% real, the minplan default",
    "mcpf": f"{ASSUMED}: 0.2, the minplan default",
}

REGIONS = [
    {"region": "US", "name": "United States", "bloc": "ally", "member": "Y", "source": f"{ASSUMED} coalition member"},
    {"region": "EU", "name": "European Union", "bloc": "ally", "member": "Y", "source": f"{ASSUMED} coalition member"},
    {"region": "AU", "name": "Australia", "bloc": "partner", "member": "N",
     "source": f"{ASSUMED}: an allied producer outside the planning coalition"},
    {"region": "CN", "name": "China", "bloc": "concern", "member": "N",
     "source": "concern: China separates ~91% of rare earths and makes ~94% of magnets (IEA commentary, Oct 2025)"},
]

MATERIALS = [
    {"material": "re_conc", "name": "Rare-earth concentrate (t REO)", "stage": "ore", "price_usd_per_t": 4000,
     "shortfall_penalty_usd_per_t": 40000,
     "source": f"{ASSUMED}: value of mixed concentrate per t REO; penalty 10x price (nobody demands it directly)"},
    {"material": "ndpr_ox", "name": "NdPr oxide", "stage": "oxide", "price_usd_per_t": 60000,
     "shortfall_penalty_usd_per_t": 300000, "holding_cost_usd_per_t_yr": 200,
     "source": "price: NdPr oxide USD 50-55/kg FOB China Apr-Jun 2024 (Fastmarkets), ~USD 60/kg Q3 2023 (Lynas, via "
               f"AuManufacturing); penalty 5x price and holding cost: {ASSUMED}"},
    {"material": "ndfeb", "name": "NdFeB magnet", "stage": "magnet", "price_usd_per_t": 70000,
     "shortfall_penalty_usd_per_t": 350000,
     "source": f"{ASSUMED}: reference price between Chinese export and Western magnet prices; penalty 5x price"},
]

MAGNET_OXIDE = 0.35  # t NdPr oxide per t NdFeB magnet
OXIDE_SOURCE = f"{ASSUMED}: ~30% NdPr metal in NdFeB, plus oxide-to-metal and machining losses"


def _project(project, name, region, status, output, capacity, source, **more) -> dict:
    return {"project": project, "name": name, "region": region, "status": status, "output": output,
            "capacity_tpy": capacity, **more, "source": source}


PROJECTS = [
    _project("us_mine", "US rare-earth mine", "US", "existing", "re_conc", 40000,
             f"capacity: US mine production 45,000 t REO in 2024 (USGS MCS 2025); costs: {ASSUMED}",
             fixed_opex_musd_per_yr=60, var_cost_usd_per_t=2500),
    _project("us_sep", "US NdPr separation plant", "US", "candidate", "ndpr_ox", 6000,
             "capacity and capex: Energy Fuels White Mesa phase 2, USD 410 m for >6,000 t/yr NdPr, start 2029 "
             f"(Engineering News; Crux Investor); costs and public share: {ASSUMED}",
             capex_musd=410, fixed_opex_musd_per_yr=20, var_cost_usd_per_t=30000, lead_time_yr=3, ramp_yr=1,
             min_public_share=0.3),
    _project("us_magnet", "US magnet plant", "US", "candidate", "ndfeb", 10000,
             "capacity and capex: MP Materials 10X plant, 10,000 t/yr, commissioning 2028, USD 1 bn debt (Adamas "
             f"Intelligence, Jul 2025); costs and public share: {ASSUMED}",
             capex_musd=1000, fixed_opex_musd_per_yr=30, var_cost_usd_per_t=25000, lead_time_yr=2, ramp_yr=1,
             min_public_share=0.4),
    _project("us_magnet_c", "US magnet plant, committed", "US", "committed", "ndfeb", 1200,
             f"capacity: USA Rare Earth Stillwater first phase, 1,200 t/yr (minelistings.com); capex and FID year: {ASSUMED}",
             capex_musd=100, fixed_opex_musd_per_yr=5, var_cost_usd_per_t=25000, lead_time_yr=2, ramp_yr=1,
             fid_year=2025),
    _project("eu_magnet", "EU magnet plant", "EU", "existing", "ndfeb", 2000,
             f"Neo Performance Narva, 2,000 t/yr sintered NdFeB, opened Sep 2025 (Automotive World; ERR); costs: {ASSUMED}",
             fixed_opex_musd_per_yr=8, var_cost_usd_per_t=25000),
    _project("eu_magnet_x", "EU magnet plant expansion", "EU", "candidate", "ndfeb", 3000,
             "capacity: Narva expandable to 5,000 t/yr (Automotive World); capex scaled from EUR ~100 m for the first "
             f"2,000 t/yr; costs: {ASSUMED}",
             capex_musd=130, fixed_opex_musd_per_yr=10, var_cost_usd_per_t=25000, lead_time_yr=2),
]

RECIPES = [
    {"project": "us_sep", "material": "re_conc", "role": "input", "t_per_t": 6.5,
     "source": f"{ASSUMED}: ~16% NdPr in bastnaesite REO at ~95% recovery"},
    *({"project": p, "material": "ndpr_ox", "role": "input", "t_per_t": MAGNET_OXIDE, "source": OXIDE_SOURCE}
      for p in ("us_magnet", "us_magnet_c", "eu_magnet", "eu_magnet_x")),
]

FUNDS = [
    {"fund": "us_osc", "owner": "US", "instrument": "loan", "budget_cost_per_musd": 0.1, "max_per_project_musd": 500,
     "eligible_regions": "domestic", "carryover": "N",
     "source": "Office of Strategic Capital: USD 500 m credit subsidy, loans up to USD 500 m per project (OBBBA, "
               f"Jul 2025); subsidy rate 0.1: {ASSUMED}"},
    {"fund": "us_nds", "owner": "US", "instrument": "stockpile", "budget_cost_per_musd": 1, "carryover": "N",
     "source": "National Defense Stockpile Transaction Fund: USD 600 m appropriated FY2025, USD 2 bn in OBBBA; "
               f"share spent on NdPr: {ASSUMED}"},
]

BUDGETS = [
    *({"fund": "us_osc", "year": y, "budget_musd": 50,
       "source": f"{ASSUMED}: the USD 500 m OSC credit subsidy spread over ten years"} for y in YEARS),
    *({"fund": "us_nds", "year": y, "budget_musd": 150,
       "source": f"{ASSUMED}: a quarter of the FY2025 NDS appropriation a year, until buying stops before the ban"}
      for y in range(START, BAN_YEAR)),
]

SUPPLY_OFFERS = [
    ("CN", "ndpr_ox", 20000, 55000, f"price: NdPr oxide USD 50-55/kg FOB China Apr-Jun 2024 (Fastmarkets); volume: {ASSUMED}"),
    ("CN", "ndfeb", 40000, 50000, f"{ASSUMED}: Chinese export magnet price; China makes ~94% of magnets (IEA, Oct 2025)"),
    ("AU", "ndpr_ox", 3000, 75000, f"{ASSUMED}: share of Lynas NdPr output (9,000-10,500 t/yr) open to US and EU buyers, "
                                   + "priced above China"),
]
SUPPLY = [{"origin": o, "material": m, "year": y, "max_t": q, "price_usd_per_t": p, "source": s}
          for o, m, q, p, s in SUPPLY_OFFERS for y in YEARS]

ROUTES = [
    {"origin": "*", "destination": "*", "transport_usd_per_t": 1000, "allowed": "Y",
     "source": f"{ASSUMED}: sea freight and insurance for every route"},
    {"origin": "CN", "destination": "US", "material": "ndfeb", "transport_usd_per_t": 1000, "tariff_pct": 25,
     "source": "US tariff of 25% on Chinese magnets from 2026 (Section 301); transport: " + ASSUMED},
    {"origin": "EU", "destination": "US", "material": "ndfeb", "transport_usd_per_t": 1000, "tariff_pct": 25,
     "source": f"{ASSUMED}: the same tariff, so Chinese magnets cannot dodge it through the EU (the model does not "
               "trace origin through a member region); it also falls on EU-made magnets"},
]

STOCKPILES = [
    {"stockpile": "us_ndpr", "owner": "US", "location": "US", "material": "ndpr_ox", "initial_t": 0, "capacity_t": 8000,
     "purchase_premium_pct": 5, "fund": "us_nds", "max_release_tpy": 2500, "release_only_in_disruption": "Y",
     "source": f"{ASSUMED}: a new NdPr oxide stockpile paid by the NDS fund"},
]

SCENARIOS = [
    {"scenario": "base", "probability": 0.75, "description": "No disruption: China keeps exporting.",
     "source": f"{ASSUMED} probability"},
    {"scenario": "cn_ban", "probability": 0.25,
     "description": f"China stops exporting NdPr oxide and magnets from {BAN_YEAR} to the end of the horizon.",
     "source": f"{ASSUMED} probability; China announced expanded rare-earth controls in Oct 2025, then suspended "
               "them for one year"},
]

BAN_SOURCE = f"{ASSUMED}: an export ban is a supply cut plus a blocked route from {BAN_YEAR}"
DISRUPTIONS = [
    {"scenario": "cn_ban", "kind": "supply_cut", "target": "CN", "start_year": BAN_YEAR, "magnitude": 1,
     "source": BAN_SOURCE},
    {"scenario": "cn_ban", "kind": "route_block", "target": "CN>*", "start_year": BAN_YEAR, "source": BAN_SOURCE},
]

DEMAND = [
    {"region": r, "material": "ndfeb", "year": y, "demand_t": base + 500 * (y - START),
     "source": f"{ASSUMED}: no public figure for US or EU NdFeB consumption was found; +500 t a year"}
    for r, base in (("US", 9000), ("EU", 16000)) for y in YEARS
]

SHEETS = {
    "Regions": REGIONS, "Materials": MATERIALS, "Demand": DEMAND, "Projects": PROJECTS, "Recipes": RECIPES,
    "Funds": FUNDS, "Budgets": BUDGETS, "Supply": SUPPLY, "Routes": ROUTES, "Stockpiles": STOCKPILES,
    "Scenarios": SCENARIOS, "Disruptions": DISRUPTIONS,
}


def build(out: Path = ROOT / "cases" / "example.xlsx") -> Path:
    """Write the example case to `out` in the template's layout and return its path."""
    return write_documented_case(out, SETTINGS, SHEETS, SETTINGS_SOURCES, case_text=DESCRIPTION)


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "cases" / "example.xlsx"))
