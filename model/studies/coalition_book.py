"""The coalition workbook: every v(S), the shares, whether they are stable, and what produced them.

Plain tables from A1 (frozen bold header, autofilter, landscape print setup
with the header repeated): Coalitions (one row per solved S: id, members,
v(S), status, gap, bound, the optimum of S's case, K(S), reason, time),
Shares (one row per member: stand-alone cost, Shapley share, saving and its
share, least-core allocation) with a native bar chart of stand-alone cost
against Shapley share beside it, Stability (item / value / unit / note: the
whole coalition's cost, the saving, ε, the core check, the largest gap) and
Manifest (key / value). Text from the case is written as text, never a formula.
"""

from __future__ import annotations

import datetime as dt
import math
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from model import __version__
from model.run import RunInfo
from model.studies.coalition import CoalitionOutcome, coalition_label
from model.workbook import sheets
from model.workbook.outfile import atomic_write, check_output

COALITION_VERSION = "1"  # the Manifest key `minplan_coalition_version` marks a coalition workbook

COALITION_DOCS = {
    "coalition": "Coalition id, by size and then member order; the Stability sheet refers to these ids.",
    "members": "The members of S; every other member has left (DESIGN.md 'Coalition study').",
    "v_musd": "v(S) = the optimum of S's case − K(S), USD m: what S pays when it acts alone.",
    "status": "Solver outcome of S's case; a coalition without a plan has no v(S).",
    "gap": "Relative MIP gap of S's solve: v(S) may be too high by up to this share of the optimum.",
    "size": "Number of members in S.",
    "bound_musd": "Lower bound on v(S) from the solver, USD m.",
    "objective_musd": "Optimum of S's case (expected cost + risk term), USD m.",
    "outside_fixed_costs_musd": "K(S): present value of capital and fixed opex of existing and committed projects "
                                "outside S's regions, which no member of S can change, USD m.",
    "reason": "Why S has no value, or the solver's note.",
    "time_s": "Seconds to build and solve S's case in its worker.",
}
SHARE_DOCS = {
    "member": "Member region.",
    "stand_alone_musd": "v({i}): the member's cost when it acts alone, USD m.",
    "shapley_musd": "Shapley cost share: the member's average marginal cost over every order of joining, USD m. "
                          "The shares add up to v(N).",
    "shapley_se_musd": "Standard error of the sampled Shapley share, USD m.",
    "saving_musd": "Stand-alone cost − Shapley share, USD m: what acting together saves this member.",
    "saving_share": "This member's part of the coalition's saving.",
    "least_core_musd": "Least-core allocation closest to the Shapley shares, USD m.",
}


def coalition_ids(outcome: CoalitionOutcome) -> dict[frozenset, str]:
    width = max(3, len(str(len(outcome.rows))))
    return {frozenset(r["members"]): f"S{i:0{width}d}" for i, r in enumerate(outcome.rows, start=1)}


def coalitions_table(outcome: CoalitionOutcome) -> pd.DataFrame:
    ids = coalition_ids(outcome)
    rows = [{"coalition": ids[frozenset(r["members"])], "members": ", ".join(r["members"]), "size": len(r["members"]),
             **{k: r[k] for k in ("v_musd", "status", "gap", "bound_musd", "objective_musd", "outside_fixed_costs_musd",
                                  "reason", "time_s")}} for r in outcome.rows]
    return pd.DataFrame(rows, columns=list(COALITION_DOCS))


def shares_table(outcome: CoalitionOutcome) -> pd.DataFrame:
    """One row per member; share columns are blank when the shares could not be computed."""
    v, sh = outcome.values, outcome.shares
    alone = {i: v.get(frozenset([i])) for i in outcome.members}
    phi = sh.shapley if sh else {}
    saving = {i: alone[i] - phi[i] for i in outcome.members if alone[i] is not None and i in phi}
    total = sum(saving.values()) if len(saving) == len(outcome.members) else None
    rows = []
    for i in outcome.members:
        row = {"member": i, "stand_alone_musd": alone[i], "shapley_musd": phi.get(i)}
        if sh and sh.standard_error is not None:
            row["shapley_se_musd"] = _finite(sh.standard_error[i])
        row["saving_musd"] = saving.get(i)
        row["saving_share"] = saving[i] / total if total and i in saving and abs(total) > 1e-12 else None
        row["least_core_musd"] = sh.least_core[i] if sh and sh.least_core else None
        rows.append(row)
    cols = [c for c in SHARE_DOCS if c != "shapley_se_musd" or (sh and sh.standard_error is not None)]
    return pd.DataFrame(rows, columns=cols)


def _finite(x: float | None) -> float | None:
    return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def stability_rows(outcome: CoalitionOutcome) -> list[tuple[str, Any, str, str]]:
    """(item, value, unit, note) rows of the Stability sheet: also what the console prints under the shares."""
    v, sh, ids = outcome.values, outcome.shares, coalition_ids(outcome)
    grand = frozenset(outcome.members)
    g = outcome.row(outcome.members) or {}
    n = len(outcome.members)
    how = ("every coalition" if outcome.orderings is None
           else f"{outcome.orderings} sampled member orderings (seed {outcome.seed}); least core and core check skipped")
    rows: list[tuple[str, Any, str, str]] = [
        ("members", n, "", ", ".join(outcome.members)),
        ("coalitions solved", len(outcome.rows), "", how),
        ("coalitions without a value", len(outcome.failed), "",
         ("shares need every value; see the Coalitions sheet" if outcome.failed else "")),
        ("whole coalition cost v(N)", v.get(grand), "USD m", "the Shapley shares add up to this"),
        ("case objective", g.get("objective_musd"), "USD m", "the optimum of the case as it is"),
        ("K(N)", g.get("outside_fixed_costs_musd"), "USD m",
         ("v(N) = case objective − K(N): capital and fixed opex of existing and committed projects outside the "
          "members' regions, which no member can change")),
    ]
    alone = [v.get(frozenset([i])) for i in outcome.members]
    if all(a is not None for a in alone) and grand in v:
        saving = sum(alone) - v[grand]
        rows.append(("sum of stand-alone costs", sum(alone), "USD m", "Σ_i v({i})"))
        rows.append(("coalition saving", saving, "USD m", "Σ_i v({i}) − v(N)" + (
            "; negative: a member alone no longer competes with the leavers for supply, so members alone may each "
            "get a scarce offer the coalition must share" if saving < 0 else "")))
    if sh and sh.epsilon is not None:
        rows.append(("least core ε", sh.epsilon, "USD m", ("ε ≤ 0: the core is not empty; ε > 0: every allocation "
                                                          "leaves some coalition paying up to ε more than alone")))
        rows.append(("Shapley shares in the core", "yes" if sh.in_core else "no", "",
                     "no coalition pays more under them than on its own" if sh.in_core else
                     "the blocking coalition pays more under them than on its own"))
        if sh.blocking is not None:
            rows.append(("blocking coalition", ids.get(sh.blocking, ""), "",
                         coalition_label([m for m in outcome.members if m in sh.blocking])))
            rows.append(("blocking excess", sh.blocking_excess, "USD m", "Σ_{i∈S} φ_i − v(S) for that coalition"))
    rel, rel_s, gap_abs = largest_gap(outcome)
    rows.append(("largest gap", rel, "fraction", f"coalition {ids.get(rel_s, '')}: bounds the error of the shares"
                 if rel_s else "no solve reported a gap"))
    rows.append(("largest absolute gap", gap_abs, "USD m", "max over coalitions of v(S) − its bound"))
    rows.append(("time", outcome.seconds, "s", f"{outcome.jobs} worker(s)"))
    return rows


def largest_gap(outcome: CoalitionOutcome) -> tuple[float | None, frozenset | None, float | None]:
    """(largest relative gap, its coalition, largest v(S) − bound) over the coalitions with a value."""
    rel, where, gap_abs = None, None, None
    for r in outcome.rows:
        if isinstance(r["gap"], (int, float)) and (rel is None or r["gap"] > rel):
            rel, where = float(r["gap"]), frozenset(r["members"])
        if r["v_musd"] is not None and r["bound_musd"] is not None:
            d = max(0.0, r["v_musd"] - r["bound_musd"])
            gap_abs = d if gap_abs is None else max(gap_abs, d)
    return rel, where, gap_abs


def write_coalition_book(out: Path, outcome: CoalitionOutcome, run: RunInfo, force: bool = False) -> Path:
    """Write the coalition workbook atomically; return its path."""
    case = outcome.case
    out = check_output(out, case.files, force=force)
    book = sheets.Book()
    notes = sheets.TableNotes()
    try:
        coal = coalitions_table(outcome)
        sheets.write_table(book, "Coalitions", coal, notes=notes, column_docs=COALITION_DOCS,
                           comment=f"One row per coalition S of the members of case {case.name}; v(∅) = 0.")
        share = shares_table(outcome)
        ws = sheets.write_table(book, "Shares", share, notes=notes, column_docs=SHARE_DOCS,
                                comment="How the whole coalition's cost v(N) is shared among the members. "
                                        + _gap_words(outcome))[0]
        _chart(book, ws, share)
        stab = stability_rows(outcome)
        sheets.key_value_sheet(book, book.sheet("Stability"), stab, ("item", "value", "unit", "note"),
                               "Is the sharing stable, and how exact is it?", [_format(r[2]) for r in stab])
        man = manifest_rows(outcome, run)
        sheets.key_value_sheet(book, book.sheet("Manifest"), man, ("key", "value"), "What produced this coalition workbook.")
        atomic_write(out, book.save)
    except BaseException:
        book.discard()
        raise
    return out


def _gap_words(outcome: CoalitionOutcome) -> str:
    rel, _, gap_abs = largest_gap(outcome)
    if rel is None:
        return "No solve reported a gap."
    return (f"The largest gap among the solves, {rel:.3%} (at most {gap_abs or 0:,.2f} USD m on one v(S)), bounds the "
            "error of the shares: see the Stability sheet.")


def _format(unit: str) -> str | None:
    return {"USD m": "#,##0.00", "fraction": "0.00%", "s": "0.0"}.get(unit)


def _chart(book: sheets.Book, ws, share: pd.DataFrame) -> None:
    """Clustered bars per member: stand-alone cost beside Shapley share (USD m), from the Shares columns."""
    if share.empty or share["shapley_musd"].isna().all():
        return
    from model.results.charts import CHART_H, CHART_W, PALETTE

    chart = book.wb.add_chart({"type": "column"})
    n = len(share)
    for k, col in enumerate(("stand_alone_musd", "shapley_musd")):
        j = list(share.columns).index(col)
        chart.add_series({"name": [ws.name, 0, j], "categories": [ws.name, 1, 0, n, 0], "values": [ws.name, 1, j, n, j],
                          "fill": {"color": PALETTE[k]}})
    chart.set_title({"name": "Stand-alone cost and Shapley share per member, USD m", "name_font": {"size": 11}})
    chart.set_y_axis({"name": "USD m", "num_format": "#,##0.0",
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_x_axis({"name": "member", "label_position": "low"})  # names stay below the plot when a cost is negative
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": CHART_W, "height": CHART_H})
    ws.insert_chart(1, len(share.columns) + 1, chart)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def manifest_rows(outcome: CoalitionOutcome, run: RunInfo) -> list[tuple[str, Any]]:
    case = outcome.case
    hashes = case.sha256()
    rows: list[tuple[str, Any]] = [
        ("minplan_coalition_version", COALITION_VERSION),
        ("minplan_version", __version__),
        ("python_version", platform.python_version()),
        *((f"{p}_version", _version(p)) for p in ("pyomo", "highspy", "scipy", "openpyxl", "xlsxwriter")),
        ("case_name", case.name),
        ("case_path", str(case.path)),
        ("case_sha256", hashes.get(str(case.path), "")),
    ]
    for i, (path, digest) in enumerate(hashes.items(), start=1):
        rows += [(f"file_{i}", path), (f"file_{i}_sha256", digest)]
    rows += [
        ("command_line", run.command),
        ("started_utc", run.started.astimezone(dt.UTC).isoformat(timespec="seconds")),
        ("duration_s", round(time.perf_counter() - run.clock, 3)),
        ("workers", outcome.jobs),
        ("method", "every coalition" if outcome.orderings is None else "sampled orderings"),
        ("orderings", outcome.orderings),
        ("seed", outcome.seed if outcome.orderings is not None else None),
        ("coalitions_solved", len(outcome.rows)),
        ("coalitions_without_value", len(outcome.failed)),
        ("estimate_s", None if outcome.estimate_s is None else round(outcome.estimate_s, 1)),
    ]
    rows += [(f"option.{k}", v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
             for k, v in sorted(outcome.options.items())]
    return rows
