"""The plan in a planner's words: what to decide now, and what to do if a branch of the tree is seen.

Read from the Decisions table (one row per node with its decisions as text),
so the Summary's "Decide now" and "If…" lines say exactly what that sheet holds.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

_ACTIONS = (("fid", "FID"), ("purchases", "buy"), ("releases", "release"))  # aid and carry-over: Decisions sheet


def _actions(row) -> list[str]:
    out = []
    for col, word in _ACTIONS:
        text = row.get(col) or ""
        if text:
            out.append(f"{word} {text}")
    return out


def describe_plan(decisions: pd.DataFrame, portfolio: pd.DataFrame | None = None) -> tuple[list[str], list[str]]:
    """(decide-now lines, if-lines) from the Decisions table."""
    if decisions is None or not len(decisions):
        return [], []
    rows = decisions.to_dict("records")
    info = [r for r in rows if r["kind"] == "information"]
    children = defaultdict(list)
    for r in info:
        if r["parent"] is not None:
            children[r["year"] - 1, r["parent"]].append(r)
    branching = sorted({r["year"] for r in info if r["seen"]})
    first_branch = branching[0] if branching else None
    now_rows = [r for r in rows if r["kind"] == "decision"] or [
        r for r in info if first_branch is None or r["year"] < first_branch]
    now = [f"{r['year']}: " + "; ".join(acts) for r in now_rows if (acts := _actions(r))]
    if not now:
        now = ["nothing: no FID, aid or purchase before the first branching"]
    ifs = []
    for r in info:
        if not r["seen"]:
            continue
        chain, cur = [], r
        while True:
            chain.append(cur)
            kids = children.get((cur["year"], cur["node"]), [])
            if len(kids) != 1:
                break
            cur = kids[0]
        acts = [f"{c['year']}: " + "; ".join(a) for c in chain if (a := _actions(c))]
        head = f"if {r['seen']} ({r['year']}, probability {100 * float(r['probability']):.3g}%)"
        ifs.append(f"{head}: " + (" | ".join(acts) if acts else "nothing more to do"))
    return now, ifs
