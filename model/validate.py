"""Cross-sheet validation of a merged case: every problem at once, by cell.

Cell-level checks (types, ranges, allowed words) happen while reading, from
the schema; here are the checks that need more than one cell: required
sheets and columns, duplicate keys, references, the horizon, and the rules
DESIGN.md states between columns and sheets.
"""

from __future__ import annotations

from collections import defaultdict

from model import schema as S
from model.problems import Problems
from model.reader import MergedCase, Record

PROB_TOL = 1e-6


def _err(p: Problems, rec: Record, col: str | None, msg: str, found=None, expected: str | None = None) -> None:
    f, where = rec.ref(col)
    p.error(msg, f, where, found=found, expected=expected)


def _warn(p: Problems, rec: Record, col: str | None, msg: str, found=None) -> None:
    f, where = rec.ref(col)
    p.warn(msg, f, where, found=found)


def _bad(rec: Record, col: str) -> bool:
    return col in rec.values.get("_bad", ())


def validate(case: MergedCase, problems: Problems) -> None:
    """Append every cross-sheet problem of `case` to `problems`."""
    top = str(case.files[0])
    _structure(case, problems, top)
    start, end = _horizon(case, problems, top)
    t = case.tables
    keys = {name: {r.key(S.SHEET[name])[0] for r in t.get(name, [])} for name in ("Regions", "Materials", "Projects", "Funds", "Scenarios")}
    if not t.get("Scenarios"):
        keys["Scenarios"] = {"base"}
    members = {r.values["region"] for r in t.get("Regions", []) if r.values.get("member")}
    regions = keys["Regions"]
    _references(case, problems, keys, members)
    _regions(t, problems)
    if start is not None and end is not None:
        _years(t, problems, start, end)
        _projects(t, problems, start, end)
    _dependencies(t, problems)
    _funds(t, problems, regions, members)
    _stockpiles(t, problems)
    _scenarios(t, problems, top)
    _disruptions(t, problems, regions, members, keys["Projects"], start, end)
    _usage_warnings(t, problems, members)


def _structure(case: MergedCase, p: Problems, top: str) -> None:
    for sheet in S.SHEETS:
        if sheet.required and sheet.name not in case.present:
            p.error(f"missing required sheet {sheet.name}", top, sheet.name,
                    expected=f"a sheet named {sheet.name} (run 'minplan new' for a template)")
            continue
        if sheet.name not in case.present or sheet.name == "Settings":
            continue
        have = case.columns.get(sheet.name, set())
        if not case.tables.get(sheet.name) and not have:
            continue
        for col in sheet.columns:
            if col.required and col.name not in have:
                p.error(f"missing required column '{col.name}'", top, f"{sheet.name}!1:1",
                        expected=f"a header '{col.name}' in row 1")
    for sheet in S.SHEETS:
        if sheet.name == "Settings":
            continue
        have = case.columns.get(sheet.name, set())
        seen: dict[tuple, Record] = {}
        for rec in case.tables.get(sheet.name, []):
            for col in sheet.columns:
                if col.required and col.name in have and rec.values.get(col.name) is None and not _bad(rec, col.name):
                    _err(p, rec, col.name, f"{col.name} is required", expected=col.expected())
            k = rec.key(sheet)
            if any(v is None for v, c in zip(k, sheet.key) if S.SHEET[sheet.name].by_name[c].required):
                continue
            if k in seen:
                other = seen[k]
                _err(p, rec, sheet.key[0], f"duplicate {sheet.row_word}: same {', '.join(sheet.key)} as row {other.row}"
                     + (f" of {other.file.rsplit('/', 1)[-1]}" if other.file != rec.file else ""),
                     found=", ".join("" if v is None else str(v) for v in k),
                     expected="each key once (for Routes: two rows that match one flow equally well)")
            else:
                seen[k] = rec


def _horizon(case: MergedCase, p: Problems, top: str) -> tuple[int | None, int | None]:
    s = case.settings
    for col in S.SETTINGS_KEYS:
        rec = s.get(col.name)
        if col.required and (rec is None or rec.values.get("value") is None):
            if rec is not None and rec.values.get("_bad"):
                continue
            p.error(f"setting {col.name} is required", top if rec is None else rec.file,
                    "Settings" if rec is None else rec.ref("value")[1], expected=col.expected())
    start = s["start_year"].values["value"] if "start_year" in s else None
    end = s["end_year"].values["value"] if "end_year" in s else None
    if start is not None and end is not None and start > end:
        _err(p, s["end_year"], "value", "end_year is before start_year", found=end, expected=f"a year ≥ {start}")
        return None, None
    return start, end


_MEMBER_ONLY = {("Demand", "region"), ("Funds", "owner"), ("Stockpiles", "location"), ("Stockpiles", "owner"), ("Policies", "region")}


def _references(case: MergedCase, p: Problems, keys: dict[str, set], members: set) -> None:
    for sheet in S.SHEETS:
        for col in sheet.columns:
            if not col.ref:
                continue
            pool = keys.get(col.ref)
            if pool is None:
                continue
            for rec in case.tables.get(sheet.name, []):
                v = rec.values.get(col.name)
                if v is None or v in col.ref_extra:
                    continue
                if v not in pool:
                    what = col.ref[:-1].lower() if col.ref.endswith("s") else col.ref.lower()
                    hint = ""
                    low = {str(k).strip().lower(): k for k in pool}
                    if str(v).strip().lower() in low:
                        hint = f" (identifiers are case-sensitive: did you mean '{low[str(v).strip().lower()]}'?)"
                    _err(p, rec, col.name, f"unknown {what} '{v}'{hint}", found=v, expected=col.expected())
                elif (sheet.name, col.name) in _MEMBER_ONLY and v not in members:
                    _err(p, rec, col.name, f"{col.name} must be a member region", found=v,
                         expected="a region with member = Y" + (" or 'joint'" if col.ref_extra else ""))


def _regions(t, p: Problems) -> None:
    for rec in t.get("Regions", []):
        if rec.values.get("member") and rec.values.get("bloc") == "concern":
            _err(p, rec, "bloc", "a member cannot be in the concern bloc", found="concern", expected="ally or partner")


def _years(t, p: Problems, start: int, end: int) -> None:
    inside = f"a year from {start} to {end} (the horizon in Settings)"
    checks = [("Demand", "year"), ("Budgets", "year"), ("Supply", "year"), ("Policies", "year_from"),
              ("Disruptions", "start_year"), ("Disruptions", "end_year"), ("Projects", "earliest_fid_year"),
              ("Projects", "latest_fid_year"), ("Stockpiles", "buy_until_year")]
    for sheet, col in checks:
        for rec in t.get(sheet, []):
            y = rec.values.get(col)
            if y is not None and not (start <= y <= end):
                _err(p, rec, col, f"{col} is outside the planning horizon", found=y, expected=inside)


def _projects(t, p: Problems, start: int, end: int) -> None:
    recipes = defaultdict(list)
    for rec in t.get("Recipes", []):
        recipes[rec.values.get("project")].append(rec)
    for rec in t.get("Projects", []):
        v = rec.values
        status = v.get("status")
        if status in ("candidate", "committed"):
            for col in ("capex_musd", "lead_time_yr"):
                if v.get(col) is None and not _bad(rec, col):
                    _err(p, rec, col, f"{col} is required for a {status} project", expected="a number ≥ 0")
        if status == "committed" and v.get("fid_year") is None and not _bad(rec, "fid_year"):
            _err(p, rec, "fid_year", "a committed project needs its fid_year", expected="the year of its final investment decision")
        if status != "committed" and v.get("fid_year") is not None:
            _warn(p, rec, "fid_year", f"fid_year is used for committed projects only; ignored for a {status} project")
        if status != "existing" and v.get("retire_year") is not None:
            _warn(p, rec, "retire_year", f"retire_year is used for existing projects only; ignored for a {status} project")
        lo, hi = v.get("min_public_share"), v.get("max_public_share")
        if lo is not None and hi is not None and lo > hi:
            _err(p, rec, "min_public_share", "min_public_share is above max_public_share", found=lo, expected=f"at most {hi}")
        if status == "candidate" and v.get("lead_time_yr") is not None:
            lead = v["lead_time_yr"]
            first = max(start, v.get("earliest_fid_year") or start)
            last = min(v.get("latest_fid_year") if v.get("latest_fid_year") is not None else end - lead, end - lead)
            ef, lf = v.get("earliest_fid_year"), v.get("latest_fid_year")
            if ef is not None and lf is not None and ef > lf:
                _err(p, rec, "earliest_fid_year", "earliest_fid_year is after latest_fid_year", found=ef, expected=f"a year ≤ {lf}")
            elif first > last:
                _err(p, rec, "lead_time_yr",
                     f"the project cannot come online inside the horizon: FID no earlier than {first} plus {lead} years lead time passes {end}",
                     found=lead, expected=f"an FID window and lead time that reach online by {end}")
        if status == "committed" and v.get("fid_year") is not None and v["fid_year"] > end:
            _err(p, rec, "fid_year", "fid_year is after the horizon", found=v["fid_year"], expected=f"a year ≤ {end}")
        for r in recipes.get(v.get("project"), []):
            if r.values.get("material") == v.get("output") and v.get("output") is not None:
                _err(p, r, "material", "a recipe names the project's own output", found=r.values["material"],
                     expected="another material (the output is what t_per_t is per tonne of)")


def _dependencies(t, p: Problems) -> None:
    status = {r.values.get("project"): r.values.get("status") for r in t.get("Projects", [])}
    for rec in t.get("Dependencies", []):
        a, b, rel = rec.values.get("project"), rec.values.get("other"), rec.values.get("relation")
        if a is not None and a == b:
            _err(p, rec, "other", "a project cannot depend on itself", found=b, expected="another project")
        if rel == "excludes" and status.get(a) in ("existing", "committed") and status.get(b) in ("existing", "committed"):
            _err(p, rec, "relation", f"'excludes' between two projects that both go ahead ({a}: {status[a]}, {b}: {status[b]})",
                 found="excludes", expected="at least one candidate project in an excludes rule")


def _funds(t, p: Problems, regions: set, members: set) -> None:
    has_budget = {r.values.get("fund") for r in t.get("Budgets", []) if (r.values.get("budget_musd") or 0) > 0}
    concern = {r.values["region"] for r in t.get("Regions", []) if r.values.get("bloc") == "concern"}
    for rec in t.get("Funds", []):
        v = rec.values
        if v.get("instrument") in ("loan", "equity", "stockpile") and v.get("budget_cost_per_musd") is None and not _bad(rec, "budget_cost_per_musd"):
            _err(p, rec, "budget_cost_per_musd", f"budget_cost_per_musd is required for a {v['instrument']} fund",
                 expected="a fraction: credit subsidy rate (loan), expected loss share (equity), public share of purchases (stockpile)")
        elig = v.get("eligible_regions") or ()
        if elig and any(e in ("domestic", "abroad") for e in elig) and len(elig) > 1:
            _err(p, rec, "eligible_regions", "'domestic' or 'abroad' must stand alone", found=", ".join(elig),
                 expected="blank, 'domestic', 'abroad', or a comma list of regions")
        for e in elig:
            if e not in ("domestic", "abroad") and e not in regions:
                _err(p, rec, "eligible_regions", f"unknown region '{e}'", found=e, expected="regions declared on the Regions sheet")
        if v.get("fund") not in has_budget:
            _warn(p, rec, "fund", "this fund has no budget on the Budgets sheet", found=v.get("fund"))
        if v.get("instrument") != "stockpile":
            admits = concern if not elig or elig == ("abroad",) else set(elig) & concern
            if elig == ("domestic",):
                admits = concern & {v.get("owner")}
            if admits:
                _warn(p, rec, "eligible_regions", f"this fund may support projects in concern regions ({', '.join(sorted(admits))})")


def _stockpiles(t, p: Problems) -> None:
    inst = {r.values.get("fund"): r.values.get("instrument") for r in t.get("Funds", [])}
    for rec in t.get("Stockpiles", []):
        v = rec.values
        if v.get("capacity_t") is not None and (v.get("initial_t") or 0) > v["capacity_t"]:
            _err(p, rec, "initial_t", "initial_t is above capacity_t", found=v["initial_t"], expected=f"at most {v['capacity_t']}")
        f = v.get("fund")
        if f is not None and f in inst and inst[f] != "stockpile":
            _err(p, rec, "fund", f"fund {f} is a {inst[f]} fund; acquisitions are paid by stockpile funds", found=f,
                 expected="a fund with instrument = stockpile")


def _scenarios(t, p: Problems, top: str) -> None:
    recs = t.get("Scenarios", [])
    probs = [r.values.get("probability") for r in recs]
    if recs and all(x is not None for x in probs):
        total = sum(probs)
        if abs(total - 1) > PROB_TOL:
            f, where = recs[0].ref("probability")
            col = where.split("!")[1].rstrip("0123456789")
            p.error(f"scenario probabilities sum to {total:.6g}, not 1", f, f"Scenarios!{col}{recs[0].row}:{col}{recs[-1].row}",
                    found=f"{total:.6g}", expected="probabilities that sum to 1 (within 1e-6)")


def _disruptions(t, p: Problems, regions, members, projects, start, end) -> None:
    for rec in t.get("Disruptions", []):
        v = rec.values
        kind, target, mag = v.get("kind"), v.get("target"), v.get("magnitude")
        if kind is None or target is None:
            continue
        if kind in ("supply_cut", "price_shock"):
            if target != "*" and target not in regions:
                _err(p, rec, "target", f"{kind} targets an unknown region", found=target, expected="an origin region or *")
        elif kind == "demand_shock":
            if target != "*" and target not in members:
                _err(p, rec, "target", "demand_shock targets no member region", found=target, expected="a member region or *")
        elif kind in ("project_delay", "project_fail"):
            if target not in projects:
                _err(p, rec, "target", f"{kind} targets an unknown project", found=target, expected="a project on the Projects sheet")
        elif kind == "route_block":
            parts = target.split(">")
            if len(parts) != 2 or any((s.strip() != "*" and s.strip() not in regions) for s in parts):
                _err(p, rec, "target", "route_block needs 'origin>destination' with known regions or *", found=target,
                     expected="e.g. CN>* or *>US")
        if kind == "supply_cut" and mag is not None and mag > 1:
            _err(p, rec, "magnitude", "a supply_cut is a fraction cut", found=mag, expected="a number from 0 to 1 (blank = 1)")
        if kind in ("price_shock", "demand_shock", "project_delay") and mag is None and not _bad(rec, "magnitude"):
            _err(p, rec, "magnitude", f"magnitude is required for {kind}",
                 expected={"price_shock": "a price multiplier > 0", "demand_shock": "a demand multiplier ≥ 0",
                           "project_delay": "whole years ≥ 0"}[kind])
        if kind == "price_shock" and mag is not None and mag <= 0:
            _err(p, rec, "magnitude", "a price multiplier must be positive", found=mag, expected="a number > 0")
        if kind == "project_delay" and mag is not None and not float(mag).is_integer():
            _err(p, rec, "magnitude", "a delay is whole years", found=mag, expected="a whole number of years")
        s0, s1 = v.get("start_year"), v.get("end_year")
        if s0 is not None and s1 is not None and s1 < s0:
            _err(p, rec, "end_year", "end_year is before start_year", found=s1, expected=f"a year ≥ {s0}")


def _usage_warnings(t, p: Problems, members: set) -> None:
    demanded = {r.values.get("material") for r in t.get("Demand", []) if (r.values.get("demand_t") or 0) > 0}
    produced = {r.values.get("output") for r in t.get("Projects", [])}
    produced |= {r.values.get("material") for r in t.get("Recipes", []) if r.values.get("role") == "byproduct"}
    produced |= {r.values.get("material") for r in t.get("Supply", [])}
    produced |= {r.values.get("material") for r in t.get("Stockpiles", [])}
    used = {r.values.get("material") for r in t.get("Recipes", []) if r.values.get("role") == "input"}
    for rec in t.get("Materials", []):
        m = rec.values.get("material")
        if m not in demanded and m not in used:
            _warn(p, rec, "material", "nobody demands this material (no Demand row, no project uses it)", found=m)
        elif m not in produced:
            _warn(p, rec, "material", "nothing produces or supplies this material (no project, supply or stockpile)", found=m)
    with_demand = {r.values.get("region") for r in t.get("Demand", []) if (r.values.get("demand_t") or 0) > 0}
    for rec in t.get("Regions", []):
        if rec.values.get("member") and rec.values.get("region") not in with_demand:
            _warn(p, rec, "region", "this member has no demand", found=rec.values.get("region"))
