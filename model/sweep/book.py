"""What a sweep writes besides the variants' result workbooks: the sweep workbook and the frontier chart.

The sweep workbook has three plain tables from A1: Sweep (one row per
variant: the varied values, status and reason, KPIs, gap, time, result
file), Varied (each `--vary` as typed and what it changes) and Manifest (key /
value: the case, its SHA-256, versions, command, workers, how many variants
finished). The chart plots public spend against expected shortfall, one
labelled point per variant with a plan, and joins the points no other point
beats on both.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from openpyxl import Workbook

from model import __version__
from model.run import RunInfo
from model.sweep.vary import Vary, row_mask
from model.workbook import sheets
from model.workbook.outfile import atomic_write, check_output, temporary_folder

if TYPE_CHECKING:
    from model.case.load import Case
    from model.sweep.engine import SweepOutcome

SWEEP_VERSION = "1"  # the Manifest key `minplan_sweep_version` marks a sweep workbook
X_KPI, Y_KPI = "public_spend_musd", "expected_shortfall_t"

DOCS = {
    "variant": "Variant id; its result workbook is named <case>_<variant>.xlsx.",
    "description": "What this variant changes in the case.",
    "status": "Solver outcome; a variant without a plan has no result workbook.",
    "reason": "Why a variant has no plan or failed; the solver's note otherwise.",
    "objective_musd": "Objective: expected cost plus risk term, USD m.",
    "public_spend_musd": "Aid and stockpile acquisitions paid by the modelled funds, USD m.",
    "expected_shortfall_t": "Unmet member demand, expected over scenarios, t.",
    "projects_funded": "Candidate and committed projects that go ahead.",
    "gap": "Relative MIP gap at the end of the solve.",
    "time_s": "Seconds to solve the variant and write its result workbook.",
    "result_file": "The variant's result workbook, in the same folder.",
}


def write_sweep_book(out: Path, case: Case, outcome: SweepOutcome, jobs: int, run: RunInfo, force: bool = False) -> Path:
    """Write the sweep workbook atomically; return its path."""
    out = check_output(out, case.files, force=force)
    with temporary_folder(out):
        return _write_sweep_book(out, case, outcome, jobs, run, force)


def _write_sweep_book(out: Path, case: Case, outcome: SweepOutcome, jobs: int, run: RunInfo, force: bool) -> Path:
    wb = Workbook(write_only=True)
    notes = sheets.TableNotes()
    table = pd.DataFrame(outcome.rows)
    if table.empty:
        table = pd.DataFrame(columns=["variant", "description", "status", "reason", *DOCS])
        table = table.loc[:, ~table.columns.duplicated()]
    state = (f"INTERRUPTED: {len(outcome.rows)} of {outcome.planned} variants finished; the others were not solved."
             if outcome.interrupted else f"All {outcome.planned} variants were run.")
    sheets.write_table(wb, "Sweep", table, notes=notes, column_docs=DOCS,
                       comment=f"One row per variant of case {case.name}. {state}")
    varied = pd.DataFrame([{"vary": v.text, "target": v.label, "operation": "multiply" if v.op == "*=" else "set",
                            "values": ", ".join("blank" if x is None else str(x) for x in v.values),
                            "rows_changed": rows_changed(case, v)} for v in outcome.varies])
    sheets.write_table(wb, "Varied", varied, notes=notes, comment="Each --vary as typed; the variants are every combination.")
    sheets.key_value_sheet(wb.create_sheet("Manifest"), _manifest(case, outcome, jobs, run), ("key", "value"),
                           "What produced this sweep workbook.")
    atomic_write(out, wb.save, force=force)
    return out


def rows_changed(case: Case, vary: Vary) -> int:
    """How many rows of its sheet a vary changes (1 for a setting)."""
    if vary.sheet == "Settings":
        return 1
    return int(row_mask(case.tables[vary.sheet], vary.filters).sum())


def _manifest(case: Case, outcome: SweepOutcome, jobs: int, run: RunInfo) -> list[tuple[str, Any]]:
    hashes = case.sha256()
    rows: list[tuple[str, Any]] = [
        ("minplan_sweep_version", SWEEP_VERSION),
        ("minplan_version", __version__),
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
        ("workers", jobs),
        ("variants_planned", outcome.planned),
        ("variants_finished", len(outcome.rows)),
        ("variants_with_plan", len(outcome.rows) - len(outcome.failed)),
        ("interrupted", "yes" if outcome.interrupted else "no"),
    ]
    return rows


def frontier(points: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """The points no other point beats on both coordinates (both minimised), by increasing x."""
    out: list[tuple[float, float, str]] = []
    for x, y, label in sorted(points, key=lambda p: (p[0], p[1], p[2])):
        if not out or y < out[-1][1] - 1e-9 * max(1.0, abs(out[-1][1])):
            out.append((x, y, label))
    return out


def point_labels(points: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """One label per distinct point: variants that land on the same spot share it ('v01, v03' or 'v01 … v06 (6)')."""
    spots: dict[tuple[float, float], list[str]] = {}
    for x, y, label in points:
        spots.setdefault((round(x, 9), round(y, 9)), []).append(label)
    out = []
    for (x, y), labels in spots.items():
        text = ", ".join(labels) if len(labels) <= 3 else f"{labels[0]} … {labels[-1]} ({len(labels)})"
        out.append((x, y, text))
    return out


def write_chart(out: Path, case: Case, outcome: SweepOutcome) -> Path:
    """Public spend against expected shortfall, one labelled point per variant with a plan (PNG, atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = [(float(r[X_KPI]), float(r[Y_KPI]), r["variant"]) for r in outcome.rows
           if isinstance(r.get(X_KPI), (int, float)) and isinstance(r.get(Y_KPI), (int, float))]
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    try:
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], color="#1f77b4", zorder=3, label="variant")
            for x, y, label in point_labels(pts):
                ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
            front = frontier(pts)
            if len(front) > 1:
                ax.plot([p[0] for p in front], [p[1] for p in front], color="#d62728", lw=1.2, zorder=2,
                        label="frontier (no variant better on both)")
            ax.legend(loc="best", fontsize=8)
        else:
            ax.text(0.5, 0.5, "no variant has a plan", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("public spend (USD m)")
        ax.set_ylabel("expected shortfall (t)")
        title = f"Sweep of {case.name}: {len(pts)} of {outcome.planned} variants with a plan"
        if outcome.interrupted:
            title += " (interrupted)"
        ax.set_title(title, fontsize=10)
        missing = [r["variant"] for r in outcome.failed]
        if missing:
            shown = ", ".join(missing[:12]) + (" ..." if len(missing) > 12 else "")
            fig.text(0.01, 0.01, f"no plan (see the sweep workbook): {shown}", fontsize=7, color="#555555")
        ax.grid(True, alpha=0.3)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        atomic_write(out, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)
    return out
