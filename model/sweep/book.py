"""What a sweep writes besides the variants' result workbooks: the sweep workbook and the frontier chart.

The sweep workbook has three plain tables from A1: Sweep (one row per
variant: the varied values, status and reason, KPIs, gap, time, result
file), Frontier (one row per variant with a plan: its varied values, public
spend and expected shortfall, whether no other variant beats it on both; and
a native scatter chart of them, each point labelled by its varied values,
the frontier joined by straight lines), Varied (each `--vary` as typed and
what it changes) and Manifest (key / value: the case, its SHA-256, versions,
command, workers, how many variants finished). The same chart is also saved
as a PNG beside the workbook.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

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
    book = sheets.Book()
    notes = sheets.TableNotes()
    table = pd.DataFrame(outcome.rows)
    if table.empty:
        table = pd.DataFrame(columns=["variant", "description", "status", "reason", *DOCS])
        table = table.loc[:, ~table.columns.duplicated()]
    state = (f"INTERRUPTED: {len(outcome.rows)} of {outcome.planned} variants finished; the others were not solved."
             if outcome.interrupted else f"All {outcome.planned} variants were run.")
    try:
        sheets.write_table(book, "Sweep", table, notes=notes, column_docs=DOCS,
                           comment=f"One row per variant of case {case.name}. {state}")
        _frontier_sheet(book, case, outcome, notes)
        varied = pd.DataFrame([{"vary": v.text, "target": v.label, "operation": "multiply" if v.op == "*=" else "set",
                                "values": ", ".join("blank" if x is None else str(x) for x in v.values),
                                "rows_changed": rows_changed(case, v)} for v in outcome.varies])
        sheets.write_table(book, "Varied", varied, notes=notes,
                           comment="Each --vary as typed; the variants are every combination.")
        sheets.key_value_sheet(book, book.sheet("Manifest"), _manifest(case, outcome, jobs, run), ("key", "value"),
                               "What produced this sweep workbook.")
        atomic_write(out, book.save, force=force)
    except BaseException:
        book.discard()
        raise
    return out


def varied_label(row: dict[str, Any], varies: list[Vary]) -> str:
    """A point's label: its varied values ('×1.5', '2030'; several joined by ' / '), its variant id without any."""
    from model.sweep.engine import value_column

    parts = []
    for v in varies:
        x = row.get(value_column(v))
        shown = "blank" if x is None else (f"{x:g}" if isinstance(x, float) else str(x))
        parts.append(("×" if v.op == "*=" else "") + shown)
    return " / ".join(parts) if parts else str(row.get("variant", ""))


def _points(outcome: SweepOutcome) -> list[tuple[float, float, str]]:
    return [(float(r[X_KPI]), float(r[Y_KPI]), varied_label(r, outcome.varies)) for r in outcome.rows
            if isinstance(r.get(X_KPI), (int, float)) and isinstance(r.get(Y_KPI), (int, float))]


def _frontier_sheet(book: sheets.Book, case: Case, outcome: SweepOutcome, notes: sheets.TableNotes) -> None:
    """The Frontier sheet: the points (frontier first, by public spend), and a native scatter chart beside them."""
    pts = point_labels(_points(outcome))
    front = frontier(pts)
    on = {(x, y) for x, y, _ in front}
    rows = [{"label": lb, X_KPI: x, Y_KPI: y, "on_frontier": True} for x, y, lb in front]
    rows += [{"label": lb, X_KPI: x, Y_KPI: y, "on_frontier": False} for x, y, lb in sorted(pts) if (x, y) not in on]
    df = pd.DataFrame(rows, columns=["label", X_KPI, Y_KPI, "on_frontier"])
    varied = ", ".join(v.label for v in outcome.varies) or "nothing varied"
    ws = sheets.write_table(book, "Frontier", df, notes=notes,
                            column_docs={"label": f"The variant's varied values ({varied}).",
                                         "on_frontier": "TRUE when no other variant has less public spend and "
                                                        "less expected shortfall."},
                            comment="One row per distinct point of the chart; the frontier first, by public spend.")[0]
    if not rows:  # no variant has a plan: nothing to draw (an empty chart would be refused)
        return
    from model.results.charts import CHART_H, CHART_W

    chart = book.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart._write_c_smooth = lambda smooth, c=chart: c._xml_empty_tag("c:smooth", [("val", "1" if smooth else "0")])
    title = f"Sweep of {case.name}: public spend against expected shortfall ({varied})"
    n, k = len(df), len(front)
    if n:
        labels = [{"value": lb} for lb in df["label"]]
        chart.add_series({"name": "frontier (no variant better on both)", "categories": [ws.name, 1, 1, k, 1],
                          "values": [ws.name, 1, 2, k, 2], "smooth": False, "line": {"color": "#D62728", "width": 1.5},
                          "marker": {"type": "circle", "size": 7, "fill": {"color": "#D62728"}},
                          "data_labels": {"custom": labels[:k], "position": "above"}})
        if n > k:
            chart.add_series({"name": "other variants", "categories": [ws.name, k + 1, 1, n, 1],
                              "values": [ws.name, k + 1, 2, n, 2], "line": {"none": True}, "smooth": False,
                              "marker": {"type": "circle", "size": 7, "fill": {"color": "#1F77B4"}},
                              "data_labels": {"custom": labels[k:], "position": "right"}})
    chart.set_title({"name": title, "name_font": {"size": 11, "bold": True}})
    chart.set_x_axis({"name": "public spend, USD m", "min": 0, "num_format": "#,##0"})
    chart.set_y_axis({"name": "expected shortfall, t", "min": 0, "num_format": "#,##0",
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": CHART_W, "height": CHART_H})
    ws.insert_chart(1, len(df.columns) + 1, chart)


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

    pts = _points(outcome)
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
