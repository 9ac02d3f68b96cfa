"""Rules between columns and sheets that DESIGN.md states, one function per sheet.

Each rule reports at the cell a planner should change, with the value found
and what to type instead. Rules skip a cell already reported while reading
(its column is in the record's `_bad`), so one slip gives one message.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from model.case.cells import closest, escaped, skeleton, unusual
from model.case.domain import eligible, fid_window
from model.case.reader import Record, values_of
from model.problems import Problems

PROB_TOL = 1e-6
GOES_AHEAD = ("existing", "committed")


def err(p: Problems, rec: Record, col: str | None, msg: str, found=None, expected: str | None = None) -> None:
    """An error at `rec`'s cell in column `col` (the whole row when the column is absent)."""
    f, where = rec.ref(col)
    p.error(msg, f, where, found=found, expected=expected)


def warn(p: Problems, rec: Record, col: str | None, msg: str, found=None, expected: str | None = None) -> None:
    """A warning at `rec`'s cell in column `col`."""
    f, where = rec.ref(col)
    p.warn(msg, f, where, found=found, expected=expected)


def bad(rec: Record, col: str) -> bool:
    """True when the cell was already reported while reading."""
    return col in rec.values.get("_bad", ())


@dataclass
class Ctx:
    """What the rules share: the merged tables, declared identifiers and the horizon."""

    tables: dict[str, list[Record]]
    keys: dict[str, set]
    start: int | None
    end: int | None
    present: set = field(default_factory=set)

    def rows(self, sheet: str) -> list[Record]:
        return self.tables.get(sheet, [])

    @cached_property
    def members(self) -> set:
        return {r.values["region"] for r in self.rows("Regions") if r.values.get("member") and r.values.get("region")}

    @cached_property
    def maybe_members(self) -> set:
        """Members, plus regions whose member cell was unreadable (reported once, not at every use)."""
        return self.members | {r.values.get("region") for r in self.rows("Regions") if bad(r, "member")}

    @cached_property
    def concern(self) -> set:
        return {r.values["region"] for r in self.rows("Regions") if r.values.get("bloc") == "concern" and r.values.get("region")}

    @cached_property
    def projects(self) -> dict[str, Record]:
        return {r.values["project"]: r for r in self.rows("Projects") if r.values.get("project") is not None}

    @cached_property
    def names(self) -> dict[str, dict[str, str]]:
        """Keyed sheet -> display name (lower case) -> identifier, for names typed where an identifier belongs."""
        out: dict[str, dict[str, str]] = {}
        for sheet, key in (("Regions", "region"), ("Materials", "material"), ("Projects", "project")):
            for r in self.rows(sheet):
                name, ident = r.values.get("name"), r.values.get(key)
                if name is not None and ident is not None:
                    out.setdefault(sheet, {}).setdefault(str(name).strip().lower(), ident)
        return out

    def hint(self, value, sheet: str) -> str:
        """'; did you mean X?' for an identifier that is not declared on `sheet`, with why X, or ''."""
        pool = self.keys.get(sheet, set())
        text = str(value)
        near = {str(k).lower(): k for k in pool}.get(text.lower())
        if near is not None:
            return f": did you mean '{near}'? Capitals matter in identifiers"
        look = {skeleton(str(k)): k for k in pool}.get(skeleton(text))
        if look is not None:
            return f": did you mean '{look}'? '{escaped(text)}' holds {unusual(text)}"
        named = self.names.get(sheet, {}).get(text.strip().lower())
        if named is not None:
            return f"; did you mean '{named}'? {escaped(text)} is {named}'s name on the {sheet} sheet"
        guess = closest(text, pool) if len(pool) < 1000 else None
        return f"; did you mean '{guess}'?" if guess else ""

    @property
    def horizon(self) -> bool:
        return self.start is not None and self.end is not None


def rules(ctx: Ctx, p: Problems) -> None:
    """Every rule of this module, in sheet order."""
    _regions(ctx, p)
    if ctx.horizon:
        _years(ctx, p)
        _projects(ctx, p)
    _recipes(ctx, p)
    _dependencies(ctx, p)
    _funds(ctx, p)
    _stockpiles(ctx, p)
    _scenarios(ctx, p)
    _disruptions(ctx, p)
    _events(ctx, p)


RESERVED = {"*": "* means every region in Routes, Disruptions and Policies",
            "coalition": "coalition names the members as a whole in the results",
            "joint": "joint is the owner of a stockpile the members hold together"}


def _regions(ctx: Ctx, p: Problems) -> None:
    for rec in ctx.rows("Regions"):
        word = str(rec.values.get("region") or "").lower()
        if word in RESERVED:
            err(p, rec, "region", f"'{rec.values['region']}' is a reserved word and cannot name a region: {RESERVED[word]}",
                found=rec.values["region"], expected="another identifier, such as a country code")
        if rec.values.get("member") and rec.values.get("bloc") == "concern":
            err(p, rec, "bloc", "a member of the coalition cannot be in the concern bloc", found="concern",
                expected="ally or partner, or member = N")


_YEAR_COLUMNS = (("Demand", "year"), ("Budgets", "year"), ("Supply", "year"), ("Policies", "year_from"),
                 ("Disruptions", "start_year"), ("Disruptions", "end_year"), ("Projects", "earliest_fid_year"),
                 ("Projects", "latest_fid_year"), ("Stockpiles", "buy_until_year"))


def _years(ctx: Ctx, p: Problems) -> None:
    inside = f"a year from {ctx.start} to {ctx.end}, the horizon set in Settings"
    start, end = ctx.start, ctx.end
    for sheet, col in _YEAR_COLUMNS:  # column by column: a Demand sheet may have a row per customer and year
        recs = ctx.rows(sheet)
        for k, y in enumerate(values_of(recs, col)):
            if y is not None and not (start <= y <= end) and not _delay_at_fid_year(ctx, recs[k], col, y):
                err(p, recs[k], col, f"{col} is outside the planning horizon", found=y, expected=inside)


def _delay_at_fid_year(ctx: Ctx, rec: Record, col: str, year: int) -> bool:
    """A project_delay row may start at its committed project's fid_year, even before the horizon (DESIGN)."""
    if col != "start_year" or rec.values.get("kind") != "project_delay":
        return False
    proj = ctx.projects.get(rec.values.get("target"))
    return bool(proj) and proj.values.get("status") == "committed" and proj.values.get("fid_year") == year


def _projects(ctx: Ctx, p: Problems) -> None:
    start, end = ctx.start, ctx.end
    for rec in ctx.rows("Projects"):
        v = rec.values
        status = v.get("status")
        if status in ("candidate", "committed"):
            for col in ("capex_musd", "lead_time_yr"):
                if v.get(col) is None and not bad(rec, col):
                    what = "a number of 0 or more, in USD m" if col == "capex_musd" else "a whole number of years, 0 or more"
                    err(p, rec, col, f"{col} is blank, and a {status} project needs it", expected=what)
        if status == "committed" and v.get("fid_year") is None and not bad(rec, "fid_year"):
            err(p, rec, "fid_year", "a committed project needs its fid_year",
                expected="the year of its final investment decision, such as 2024; it may precede start_year")
        if status == "committed" and v.get("fid_year") is not None and v["fid_year"] > end:
            err(p, rec, "fid_year", "fid_year is after the horizon", found=v["fid_year"],
                expected=f"a year up to {end}, or status candidate")
        if status != "committed" and v.get("fid_year") is not None:
            warn(p, rec, "fid_year", f"fid_year is used for committed projects only; ignored for a {status} project")
        if status != "existing" and v.get("retire_year") is not None:
            warn(p, rec, "retire_year", f"retire_year is used for existing projects only; ignored for a {status} project")
        if status == "existing" and v.get("retire_year") is not None and v["retire_year"] <= start:
            warn(p, rec, "retire_year", "this project retires before the horizon starts, so it never operates",
                 found=v["retire_year"])
        lo, hi = v.get("min_public_share"), v.get("max_public_share")
        if lo is not None and hi is not None and lo > hi:
            err(p, rec, "min_public_share", "min_public_share is above max_public_share", found=lo, expected=f"at most {hi:g}")
        if status == "candidate" and v.get("lead_time_yr") is not None:
            _window(rec, p, start, end)


def _window(rec: Record, p: Problems, start: int, end: int) -> None:
    """earliest_fid_year after latest_fid_year, or no FID year that brings the project online by end_year."""
    v = rec.values
    ef, lf, lead = v.get("earliest_fid_year"), v.get("latest_fid_year"), v["lead_time_yr"]
    first, last = fid_window(v, start, end)
    if ef is not None and lf is not None and ef > lf:
        err(p, rec, "earliest_fid_year", "earliest_fid_year is after latest_fid_year", found=ef,
            expected=f"a year up to {lf}")
    elif first > last and not (lf is not None and lf < start) and not (ef is not None and ef > end):
        col = "lead_time_yr" if ef is None or start + lead > end else "earliest_fid_year"
        err(p, rec, col, f"this project cannot come online inside the horizon: an FID in {first} at the earliest, "
            f"plus {lead} years of lead time, is online in {first + lead}, after end_year {end}",
            found=v[col], expected=f"an earlier earliest_fid_year, a shorter lead_time_yr or a later end_year, so that the "
            f"project is online by {end}")


def _recipes(ctx: Ctx, p: Problems) -> None:
    for r in ctx.rows("Recipes"):
        proj = ctx.projects.get(r.values.get("project"))
        out = proj.values.get("output") if proj else None
        if out is None or r.values.get("material") != out:
            continue
        if r.values.get("role") == "input":
            err(p, r, "material", "a project may not take its own output as an input: processing gives the output a new "
                "origin, so the project would relabel its own tonnes", found=out,
                expected="another material: t_per_t is per tonne of the output")
        else:
            err(p, r, "material", "a recipe names the project's own output", found=out,
                expected="another material: t_per_t is per tonne of the output")


def _dependencies(ctx: Ctx, p: Problems) -> None:
    status = {k: r.values.get("status") for k, r in ctx.projects.items()}
    for rec in ctx.rows("Dependencies"):
        a, b, rel = rec.values.get("project"), rec.values.get("other"), rec.values.get("relation")
        if a is not None and a == b:
            err(p, rec, "other", "a project cannot depend on itself", found=b, expected="another project")
        elif rel == "excludes" and status.get(a) in GOES_AHEAD and status.get(b) in GOES_AHEAD:
            err(p, rec, "relation", f"'excludes' between two projects that both go ahead: {a} is {status[a]} and {b} is {status[b]}",
                found="excludes", expected="at least one candidate project in an excludes rule, or delete the row")
        elif rel == "requires" and status.get(a) in GOES_AHEAD:
            warn(p, rec, "relation", f"'requires' does not bind {a}, which is {status[a]}; the row has no effect", found=a)


def _funds(ctx: Ctx, p: Problems) -> None:
    has_budget = {r.values.get("fund") for r in ctx.rows("Budgets")
                  if (r.values.get("budget_musd") or 0) > 0 or bad(r, "budget_musd")}
    regions = ctx.keys.get("Regions", set())
    for rec in ctx.rows("Funds"):
        v = rec.values
        inst = v.get("instrument")
        if inst in ("loan", "equity", "stockpile") and v.get("budget_cost_per_musd") is None and not bad(rec, "budget_cost_per_musd"):
            err(p, rec, "budget_cost_per_musd", f"budget_cost_per_musd is blank, and a {inst} fund needs it",
                expected={"loan": "the credit subsidy rate, a fraction such as 0.1",
                          "equity": "the expected loss share, a fraction such as 0.3",
                          "stockpile": "the share of acquisitions paid from public money, such as 1"}[inst])
        elig = v.get("eligible_regions") or ()
        if len(elig) > 1 and any(e in ("domestic", "abroad") for e in elig):
            err(p, rec, "eligible_regions", "'domestic' or 'abroad' must stand alone", found=", ".join(elig),
                expected="blank (any region), domestic, abroad, or a comma list of regions")
        for e in elig:
            if e not in ("domestic", "abroad") and e not in regions:
                err(p, rec, "eligible_regions", f"eligible_regions names an unknown region '{e}'", found=", ".join(elig),
                    expected="regions listed on the Regions sheet, separated by commas")
        if v.get("fund") is not None and v["fund"] not in has_budget:
            warn(p, rec, "fund", "this fund has no budget: no Budgets row above 0, so it can pay nothing", found=v["fund"])
        if inst in ("grant", "loan", "equity"):
            admits = sorted(c for c in ctx.concern if eligible(v, c))
            if admits:
                which = f"region {admits[0]}" if len(admits) == 1 else "regions " + ", ".join(admits)
                warn(p, rec, "eligible_regions", f"this fund may support projects in the concern {which}",
                     found=", ".join(elig) or "(blank: any region)")


def _stockpiles(ctx: Ctx, p: Problems) -> None:
    inst = {r.values.get("fund"): r.values.get("instrument") for r in ctx.rows("Funds")}
    for rec in ctx.rows("Stockpiles"):
        v = rec.values
        if v.get("capacity_t") is not None and (v.get("initial_t") or 0) > v["capacity_t"]:
            err(p, rec, "initial_t", "initial_t is above capacity_t", found=v["initial_t"], expected=f"at most {v['capacity_t']:g}")
        f = v.get("fund")
        if f is not None and inst.get(f) not in (None, "stockpile"):
            err(p, rec, "fund", f"fund {f} is a {inst[f]} fund; acquisitions are paid by stockpile funds", found=f,
                expected="a fund with instrument = stockpile, or blank")


def _scenarios(ctx: Ctx, p: Problems) -> None:
    recs = ctx.rows("Scenarios")
    probs = [r.values.get("probability") for r in recs]
    if not recs or any(x is None for x in probs):
        return
    total = sum(probs)
    if abs(total - 1) > PROB_TOL:
        f, first = recs[0].ref("probability")
        last = recs[-1].ref("probability")[1].split("!", 1)[1]
        p.error(f"scenario probabilities sum to {total:.6g}, not 1", f, f"{first}:{last}", found=f"{total:.6g}",
                expected="probabilities that add up to 1, within 1e-6")


def _disruptions(ctx: Ctx, p: Problems) -> None:
    regions = ctx.keys.get("Regions", set())
    offers = defaultdict(set)  # origin -> materials it offers
    for r in ctx.rows("Supply"):
        offers[r.values.get("origin")].add(r.values.get("material"))
    for rec in ctx.rows("Disruptions"):
        v = rec.values
        kind, target = v.get("kind"), v.get("target")
        if kind is None or target is None:
            continue
        _disruption_target(rec, p, ctx, regions)
        if kind == "supply_cut" and target != "*" and target in regions:
            m = v.get("material")
            if not offers.get(target) or (m is not None and m not in offers[target]):
                warn(p, rec, "target", f"this supply_cut touches nothing: {target} has no Supply row"
                     + (f" for {m}" if m else ""), found=target)
        _disruption_values(rec, p)


def _disruption_target(rec: Record, p: Problems, ctx: Ctx, regions: set) -> None:
    kind, target = rec.values["kind"], rec.values["target"]
    if kind in ("supply_cut", "price_shock"):
        if target != "*" and target not in regions:
            err(p, rec, "target", f"{kind} targets an unknown region{ctx.hint(target, 'Regions')}", found=target,
                expected="an origin region listed on the Regions sheet, or * for every origin")
    elif kind == "demand_shock":
        if target != "*" and target not in ctx.members:
            hint = ctx.hint(target, "Regions") if target not in regions else ""
            err(p, rec, "target", f"demand_shock targets no member region{hint}", found=target,
                expected="a member region, or * for every member")
    elif kind in ("project_delay", "project_fail"):
        if target not in ctx.projects:
            err(p, rec, "target", f"{kind} targets an unknown project{ctx.hint(target, 'Projects')}", found=target,
                expected="a project listed on the Projects sheet")
    elif kind in ("route_block", "origin_block"):
        _block_target(rec, p, ctx, regions)


def _block_target(rec: Record, p: Problems, ctx: Ctx, regions: set) -> None:
    """route_block o>d (either side may be *); origin_block g>d (g a non-member region, d a member or *)."""
    kind, target = rec.values["kind"], rec.values["target"]
    parts = [s.strip() for s in target.split(">")]
    if len(parts) != 2 or not all(parts):
        if kind == "route_block":
            err(p, rec, "target", "route_block needs origin>destination, each a known region or *", found=target,
                expected="for example CN>* for nothing leaving CN, or *>US")
        else:
            err(p, rec, "target", "origin_block needs origin>destination: where the tonnes are made, then a member or *",
                found=target, expected="for example CN>* for no tonne made in CN reaching any member, or CN>US")
        return
    for side, name in zip(parts, ("origin", "destination")):
        if side != "*" and side not in regions:
            err(p, rec, "target", f"{kind} names an unknown {name} region '{escaped(side)}'{ctx.hint(side, 'Regions')}",
                found=target, expected="origin>destination, each a region listed on the Regions sheet or *")
            return
    g, d = parts
    if kind != "origin_block":
        return
    if g == "*" or g in ctx.members:
        why = "needs the one region where the tonnes are made, not *" if g == "*" else \
            f"cannot start at the member {g}: what members make is coalition-made, and no origin_block stops it"
        err(p, rec, "target", f"origin_block {why}", found=target,
            expected="a non-member region before the >, such as CN>*")
    elif d != "*" and d not in ctx.maybe_members:
        err(p, rec, "target", f"origin_block must end at a member or *: it stops tonnes made in {g} from reaching "
            f"members, and {d} is not one", found=target, expected=f"{g}>* for every member, or {g}>{min(ctx.members, default='US')} for one")


def _disruption_values(rec: Record, p: Problems) -> None:
    v = rec.values
    kind, mag = v["kind"], v.get("magnitude")
    if kind == "supply_cut" and mag is not None and mag > 1:
        err(p, rec, "magnitude", "a supply_cut magnitude is the fraction cut", found=mag, expected="a number from 0 to 1; blank means 1")
    if kind in ("price_shock", "demand_shock", "project_delay") and mag is None and not bad(rec, "magnitude"):
        err(p, rec, "magnitude", f"magnitude is blank, and a {kind} needs it",
            expected={"price_shock": "a price multiplier above 0, such as 2", "demand_shock": "a demand multiplier, 0 or more",
                      "project_delay": "a whole number of years, 0 or more"}[kind])
    if kind == "price_shock" and mag is not None and mag <= 0:
        err(p, rec, "magnitude", "a price multiplier must be above 0", found=mag, expected="a number above 0, such as 2")
    if kind == "project_delay" and mag is not None and not float(mag).is_integer():
        err(p, rec, "magnitude", "a delay is a whole number of years", found=mag, expected="a whole number of years, such as 2")
    s0, s1 = v.get("start_year"), v.get("end_year")
    if s0 is not None and s1 is not None and s1 < s0:
        err(p, rec, "end_year", "end_year is before start_year", found=s1, expected=f"a year from {s0} on, or blank")


# ---------------------------------------------------------------- scenario families (Events sheet)


def _events(ctx: Ctx, p: Problems) -> None:
    """Events: options of one event sum to at most 1; Disruptions name known event=option pairs; not with Scenarios."""
    recs = ctx.rows("Events")
    if not recs:
        return
    if ctx.rows("Scenarios"):
        f, where = recs[0].ref("event")
        p.error("this case lists scenarios on the Scenarios sheet and declares events on the Events sheet", f, where,
                found=recs[0].values.get("event"),
                expected="either listed scenarios (Scenarios sheet) or events (Events sheet): delete the rows of one")
    by_event: dict[str, list[Record]] = defaultdict(list)
    for rec in recs:
        if rec.values.get("event") is not None:
            by_event[rec.values["event"]].append(rec)
    for event, rows in by_event.items():
        probs = [r.values.get("probability") for r in rows]
        if any(x is None for x in probs):
            continue
        total = sum(probs)
        if total > 1 + PROB_TOL:
            f, first = rows[0].ref("probability")
            last = rows[-1].ref("probability")[1].split("!", 1)[1]
            where = first if len(rows) == 1 else f"{first}:{last}"
            p.error(f"the options of event {event} have probabilities summing to {total:.6g}, above 1", f, where,
                    found=f"{total:.6g}", expected="probabilities that add up to at most 1; the rest is 'the event "
                    "does not happen'")
    options = {e: {r.values.get("option") for r in rows} for e, rows in by_event.items()}
    _event_labels(ctx, p, options)


def _event_labels(ctx: Ctx, p: Problems, options: dict[str, set]) -> None:
    """Every Disruptions row of a family names `*` or event=option with a declared event and option."""
    for rec in ctx.rows("Disruptions"):
        s = rec.values.get("scenario")
        if s is None or s == "*" or bad(rec, "scenario"):
            continue
        event, eq, option = str(s).partition("=")
        if not eq or event not in options:
            near = closest(event, options) if options else None
            hint = f"; did you mean '{near}'?" if near else ""
            err(p, rec, "scenario", f"unknown event '{event}'{hint}", found=s,
                expected="event=option with an event and option listed on the Events sheet, or * for every scenario")
        elif option not in options[event]:
            near = closest(option, options[event])
            hint = f"; did you mean '{event}={near}'?" if near else ""
            err(p, rec, "scenario", f"event {event} has no option '{option}'{hint}", found=s,
                expected=f"one of {', '.join(f'{event}={o}' for o in sorted(options[event]) if o is not None)}")
