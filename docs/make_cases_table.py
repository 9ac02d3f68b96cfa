"""The README's table of shipped cases, read from their result workbooks: `python docs/make_cases_table.py`.

    python cli.py solve cases/<case>.xlsx -o outputs/<case>.xlsx   # for every shipped case, first
    python docs/make_cases_table.py [--results outputs] [--write] [--partial]

Prints one Markdown row per shipped case: the question it asks, what to decide
now, what to do if a rare-earth ban begins, the Vault's size and when it buys,
the traced concern-origin share of the coalition's magnet and gallium use, and
cost, expected shortfall, EVPI, VSS and the value of adapting. Every answer is
read from outputs/<case>.xlsx (the Summary, Stockpiles and Dependence
sheets), so the table cannot drift from what minplan solves. `--write`
replaces the table between the README's `cases-table` markers.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.results.read import ResultBook, read_result

README = ROOT / "README.md"
BEGIN, END = "<!-- cases-table -->", "<!-- /cases-table -->"

# The question each shipped case asks (data/README.md): the answers come from the result workbooks.
QUESTIONS = {
    "base": "With no disruption, what does the coalition buy and fund?",
    "china_controls": "Under uncertain Chinese rare-earth controls (a licensing slowdown, or bans from 2027 or 2029 "
                      "lasting 1, 3 or 5 years), what deserves public money now, and what to do if a ban begins?",
    "china_controls_full": "The same with every event of the family (more ban timings, the Dec 2024 Ga/Ge/Sb ban "
                           "returning, a price war, pipeline delays, a graphite ban, the US turning away, fragile "
                           "partners failing): 12 seeded draws of the 512 combinations",
    "vault_doubled": "What does doubling Project Vault (USD 20 bn, twice the yearly purchase limits) buy under those "
                     "risks?",
    "ally_shock": "Under the same Chinese risks, what if the US also freezes its funds in 2026-2027 and ships nothing "
                  "to the others in 2027-2028?",
    "eu_crma_65": "What does the CRMA's 65% single-origin benchmark from 2030 cost the EU, and what does it build?",
    "allied_concern_cap": "What does capping every member's Chinese share of rare-earth oxide, metal and magnet use at "
                          "50% from 2030 cost, and what does it build?",
}
ORDER = list(QUESTIONS)
# Cases whose extensive form is not solved on one machine: the table says so instead of reading a result.
NOT_SOLVED_HERE: dict[str, str] = {}
COLUMNS = ("case", "question", "decide now", "if a rare-earth ban begins", "Project Vault",
           "concern-origin share (coalition, first → last year)", "cost (USD m)", "expected shortfall (t)", "EVPI", "VSS",
           "value of adapting")


def _weights(book: ResultBook, df: pd.DataFrame) -> pd.Series:
    return df["scenario"].map(book.probabilities).fillna(0.0).astype(float)


def _decide_now(book: ResultBook) -> str:
    """The first year's decisions, before anything is known: the FIDs and what the stockpiles buy (Decisions sheet)."""
    dec = book.tables["Decisions"]
    root = dec[dec["year"].astype(int) == int(dec["year"].astype(int).min())].iloc[0]
    acts = []
    if isinstance(root["fid"], str) and root["fid"].strip():
        acts.append(f"FID {root['fid']}")
    if _tonnes(root["purchases"]) > 0:
        n = len([x for x in str(root["purchases"]).split(";") if x.strip()])
        acts.append(f"buy {_tonnes(root['purchases']):,.0f} t ({n} holdings)")
    return f"{int(root['year'])}: " + ("; ".join(acts) if acts else "nothing")


def _tonnes(text) -> float:
    """Total tonnes of a Decisions purchases/releases cell ("stock 1,000 t CN; stock 6,000 t coalition")."""
    return sum(float(q.replace(",", "")) for q in re.findall(r"([\d.,]+) t\b", str(text or "")))


def _if_ban(book: ResultBook) -> str:
    """What the plan does in the likeliest, earliest branch where China stops its rare-earth exports outright:
    the scenario, its probability and the year it is seen, what is released and decided that year, and when the
    stockpiles buy again. Read from the Decisions sheet (the plan by tree node)."""
    if len(book.probabilities) <= 1:
        return "no branch: one scenario"
    dec = book.tables["Decisions"]
    seen = dec["seen"].fillna("").astype(str)
    banned = dec[seen.str.contains("supply_cut CN (", regex=False)
                 & dec["first_scenario"].astype(str).str.contains("ree_controls=ban", regex=False)]
    if not len(banned):
        return "no branch where a rare-earth ban is seen"
    first = banned.assign(p=banned["probability"].astype(float)).sort_values(["year", "p"], ascending=[True, False])
    node, year, p = first["node"].iloc[0], int(first["year"].iloc[0]), float(first["p"].iloc[0])
    path = dec[(dec["node"] == node) & (dec["year"].astype(int) >= year)]
    now = path[path["year"].astype(int) == year].iloc[0]
    acts = []
    if _tonnes(now["releases"]) > 0:
        n = len([x for x in str(now["releases"]).split(";") if x.strip()])
        acts.append(f"release {_tonnes(now['releases']):,.0f} t ({n} holdings)")
    if isinstance(now["fid"], str) and now["fid"].strip():
        acts.append(f"FID {now['fid']}")
    later = [int(y) for y, b in zip(path["year"], path["purchases"]) if int(y) > year and _tonnes(b) > 0]
    if later:
        acts.append(f"rebuy in {later[0]}–{later[-1]}" if len(later) > 1 else f"rebuy in {later[0]}")
    label = str(node).split("+")[0].split("=")[-1]
    return f"{label} ({p:.0%}), seen {year}: " + ("; ".join(acts) if acts else "nothing changes")


def _vault(book: ResultBook) -> str:
    st = book.tables["Stockpiles"]
    st = st[st["stockpile"].astype(str).str.startswith("us_vault")]
    if not len(st):
        return "-"
    w = _weights(book, st)
    inv = (st["inventory_t"].astype(float) * w).groupby(st["year"]).sum()
    buy = (st["buy_t"].astype(float) * w).groupby(st["year"]).sum()
    years = [int(y) for y, q in buy.items() if q > 0.5]
    if not years:
        return "buys nothing"
    by_material = (st["buy_t"].astype(float) * w).groupby(st["material"]).sum()
    what = ", ".join(f"{m} {q:,.0f} t" for m, q in by_material.sort_values(ascending=False).items() if q > 0.5)
    when = f"{years[0]}" if len(years) == 1 else f"{len(years)} years in {years[0]}–{years[-1]}"
    return f"peak {inv.max():,.0f} t expected; buys {what} (expected), {when}"


def _share(book: ResultBook, material: str) -> str:
    dep = book.tables["Dependence"]
    dep = dep[(dep["region"] == "coalition") & (dep["material"] == material)]
    if not len(dep):
        return "-"
    w = _weights(book, dep)
    conc = (dep["concern_origin_t"].astype(float) * w).groupby(dep["year"]).sum()
    used = (dep["consumption_t"].astype(float) * w).groupby(dep["year"]).sum()
    share = conc / used.where(used > 0)
    first, last = share.index.min(), share.index.max()
    return f"{share[first]:.0%} → {share[last]:.0%}"


def _money(v) -> str:
    return f"{float(v):,.0f}" if isinstance(v, (int, float)) else (str(v) if v not in (None, "") else "-")


def _kpi(kpi: dict, name: str) -> str:
    """A KPI with the interval its solves' bounds allow (a value within the MIP gap of 0 may come out below 0)."""
    v = kpi.get(name)
    lo, hi = kpi.get(f"{name}, lowest the solves' bounds allow"), kpi.get(f"{name}, highest the solves' bounds allow")
    if not isinstance(v, (int, float)):
        return _money(v)
    if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
        return f"{v:,.0f} ({lo:,.0f} to {hi:,.0f})"
    return _money(v)


def row(book: ResultBook, name: str) -> list[str]:
    """One table row for a solved case."""
    kpi = book.summary("kpi")
    outcome = book.summary("outcome")
    shares = f"magnets {_share(book, 'ndfeb_magnet')}; gallium {_share(book, 'gallium')}"
    return [f"`{name}`", QUESTIONS.get(name, ""), _decide_now(book), _if_ban(book), _vault(book), shares,
            _money(outcome.get("objective")), _money(kpi.get("expected shortfall")), _kpi(kpi, "EVPI"),
            _kpi(kpi, "VSS"), _kpi(kpi, "value of adapting")]


def table(results: Path, partial: bool = False) -> str:
    """The Markdown table of every shipped case solved into `results` (`partial`: a missing result is a row saying
    so instead of an error)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for name in ORDER:
        path = results / f"{name}.xlsx"
        if name in NOT_SOLVED_HERE and not path.is_file():
            lines.append(f"| `{name}` | {QUESTIONS[name]} | {NOT_SOLVED_HERE[name]} |" + " |" * (len(COLUMNS) - 3))
            continue
        if not path.is_file() and partial:
            lines.append(f"| `{name}` | {QUESTIONS[name]} | no result workbook yet: solve it into {results.name}/ and "
                         "rerun this script |" + " |" * (len(COLUMNS) - 3))
            continue
        if not path.is_file():
            raise SystemExit(f"{path} is missing: solve it first with "
                             f"'python cli.py solve cases/{name}.xlsx -o {path}'")
        cells = [c.replace("|", "/").replace("\n", " ") for c in row(read_result(path), name)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table, or write it into the README between its markers."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=ROOT / "outputs", help="folder of the result workbooks")
    ap.add_argument("--write", action="store_true", help="replace the table in README.md")
    ap.add_argument("--partial", action="store_true", help="a row that says so for a case not solved yet")
    args = ap.parse_args(argv)
    text = table(args.results, args.partial)
    if not args.write:
        print(text)
        return 0
    readme = README.read_text(encoding="utf-8")
    block = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if not block.search(readme):
        raise SystemExit(f"README.md has no {BEGIN} ... {END} markers")
    README.write_text(block.sub(lambda _m: f"{BEGIN}\n{text}\n{END}", readme), encoding="utf-8")
    print(f"wrote the table of {len(ORDER)} cases into {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
