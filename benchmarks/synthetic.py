"""Synthetic cases of a chosen size, for benchmarks and tests.

`synthetic_sheets(...)` returns (settings, sheets) for `model.case.writer.write_case`:
value chains ore → oxide → metal (the last chain has a small by-product
yield, like gallium from alumina), members, partners and concern regions,
existing plants mostly in concern regions, candidate projects in members and
partners, grant and loan funds, stockpiles, and disruption scenarios of every
kind. The same arguments always give the same case.
"""

from __future__ import annotations

import random
from pathlib import Path

from model.case.writer import write_case

KINDS = ("supply_cut", "price_shock", "demand_shock", "project_delay", "project_fail", "route_block")


def _materials(n: int) -> list[dict]:
    stages = ("ore", "oxide", "metal")
    out = []
    for i in range(n):
        chain, pos = divmod(i, 3)
        price = (200, 5_000, 40_000)[pos] * (1 + chain)
        out.append({"material": f"m{i}", "stage": stages[pos], "price_usd_per_t": price,
                    "shortfall_penalty_usd_per_t": 5 * price, "holding_cost_usd_per_t_yr": 0.02 * price})
    return out


def _regions(n: int) -> list[dict]:
    out = []
    for i in range(n):
        member = i < max(1, n // 2)
        bloc = "ally" if member else ("concern" if i >= n - max(1, n // 4) else "partner")
        out.append({"region": f"R{i}", "bloc": bloc, "member": "Y" if member else "N"})
    return out


def synthetic_sheets(n_projects: int = 100, n_materials: int = 10, n_regions: int = 12, n_years: int = 20,
                     n_scenarios: int = 10, seed: int = 1, start: int = 2026) -> tuple[dict, dict]:
    """(settings, sheets) of a synthetic case of the given size."""
    rng = random.Random(seed)
    end = start + n_years - 1
    years = range(start, end + 1)
    mats, regs = _materials(n_materials), _regions(n_regions)
    members = [r["region"] for r in regs if r["member"] == "Y"]
    others = [r["region"] for r in regs if r["member"] == "N"] or members
    concern = [r["region"] for r in regs if r["bloc"] == "concern"] or others
    final = [m["material"] for i, m in enumerate(mats) if i % 3 == 2 or i == len(mats) - 1]
    demand = [{"region": n, "material": mat, "year": t, "demand_t": round(rng.uniform(500, 2000) * (1.03 ** (t - start)), 1)}
              for n in members for mat in final for t in years]
    projects, recipes = [], []
    for i in range(n_projects):
        j = i % len(mats)
        mat = mats[j]["material"]
        existing = i < n_projects // 4
        region = rng.choice(concern if existing and rng.random() < 0.7 else members + others)
        cap = rng.choice((800, 1500, 3000)) * (20 if j % 3 == 0 else 1)
        row = {"project": f"p{i}", "region": region, "output": mat, "capacity_tpy": cap,
               "var_cost_usd_per_t": 0.3 * mats[j]["price_usd_per_t"],
               "fixed_opex_musd_per_yr": round(cap * mats[j]["price_usd_per_t"] * 0.02 / 1e6, 3)}
        if existing:
            row["status"] = "existing"
        else:
            row.update(status="candidate", capex_musd=round(cap * mats[j]["price_usd_per_t"] * rng.uniform(1, 3) / 1e6, 1),
                       lead_time_yr=rng.randint(2, 5), ramp_yr=rng.randint(0, 2), life_yr=25,
                       min_public_share=rng.choice((0, 0.1, 0.3)), max_public_share=0.6)
        projects.append(row)
        if j % 3 and j > 0:
            recipes.append({"project": f"p{i}", "material": mats[j - 1]["material"], "role": "input", "t_per_t": 1.5 if j % 3 == 1 else 1.2})
        if j % 3 == 1 and j + 1 == len(mats) - 1 or (j % 3 == 0 and j + 1 < len(mats) and i % 7 == 0):
            recipes.append({"project": f"p{i}", "material": mats[-1]["material"], "role": "byproduct", "t_per_t": 1e-4})
    supply = [{"origin": o, "material": m["material"], "year": t, "max_t": 3000 * (20 if k % 3 == 0 else 1),
               "price_usd_per_t": m["price_usd_per_t"] * rng.uniform(0.9, 1.4)}
              for k, m in enumerate(mats) for o in others if rng.random() < 0.5 for t in years]
    funds, budgets = [], []
    for n in members:
        funds.append({"fund": f"grant_{n}", "owner": n, "instrument": "grant", "eligible_regions": "domestic",
                      "carryover": "Y"})
        funds.append({"fund": f"loan_{n}", "owner": n, "instrument": "loan", "budget_cost_per_musd": 0.15,
                      "max_per_project_musd": 200})
        funds.append({"fund": f"stock_{n}", "owner": n, "instrument": "stockpile", "budget_cost_per_musd": 1.0})
        for t in years:
            budgets += [{"fund": f"grant_{n}", "year": t, "budget_musd": 30}, {"fund": f"loan_{n}", "year": t, "budget_musd": 60},
                        {"fund": f"stock_{n}", "year": t, "budget_musd": 10}]
    stock = [{"stockpile": f"k_{n}_{mat}", "owner": n, "location": n, "material": mat, "capacity_t": 2000,
              "initial_t": 100, "fund": f"stock_{n}", "purchase_premium_pct": 5, "max_release_tpy": 1000}
             for n in members[:3] for mat in final]
    routes = [{"origin": "*", "destination": "*", "transport_usd_per_t": 50},
              {"origin": concern[0], "destination": "*", "tariff_pct": 10, "transport_usd_per_t": 80}]
    scen, disr = _scenarios(rng, n_scenarios, start, end, concern, members, projects, mats)
    sheets = {"Regions": regs, "Materials": mats, "Demand": demand, "Projects": projects, "Recipes": recipes,
              "Funds": funds, "Budgets": budgets, "Supply": supply, "Routes": routes, "Stockpiles": stock,
              "Scenarios": scen, "Disruptions": disr,
              "Policies": [{"region": members[0], "material": final[0], "max_concern_share": 0.5,
                            "max_single_origin_share": 0.65}]}
    settings = {"case_name": f"synthetic_{n_projects}p_{n_scenarios}s", "start_year": start, "end_year": end}
    return settings, sheets


def _scenarios(rng, n, start, end, concern, members, projects, mats):
    scen = [{"scenario": f"s{i}", "probability": 1.0 / n} for i in range(n)]
    cands = [p["project"] for p in projects if p["status"] == "candidate"]
    rows = []
    for i in range(1, n):
        kind = KINDS[(i - 1) % len(KINDS)]
        y0 = rng.randint(start + 3, end - 2)
        row = {"scenario": f"s{i}", "kind": kind, "start_year": y0, "end_year": min(end, y0 + rng.randint(1, 4))}
        if kind in ("supply_cut", "price_shock"):
            row.update(target=concern[0], material=rng.choice(mats)["material"],
                       magnitude=0.8 if kind == "supply_cut" else 2.5)
        elif kind == "demand_shock":
            row.update(target="*", magnitude=1.3)
        elif kind in ("project_delay", "project_fail") and cands:
            row.update(target=rng.choice(cands), magnitude=2 if kind == "project_delay" else None)
        else:
            row.update(kind="route_block", target=f"{concern[0]}>*")
        rows.append(row)
    return scen, rows


def write_synthetic(path: str | Path, **size) -> Path:
    """Write a synthetic case workbook to `path` and return the path."""
    settings, sheets = synthetic_sheets(**size)
    return write_case(path, settings, sheets)
