"""Draw the README's chart from a result workbook: a material's supply to the members by source.

    python cli.py solve cases/china_controls.xlsx -o outputs/china_controls.xlsx
    python docs/make_chart.py outputs/china_controls.xlsx ndfeb_magnet docs/china_controls_magnets.png

The figures come from the workbook's Supply sheet (expected over scenarios),
read back through minplan's own result reader. Shipments between members
are left out: they move supply from one member to another without adding to
the members' total.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from model.results.read import read_result

SOURCES = [  # column, label, colour
    ("from_projects_t", "allied projects", "#1b7837"),
    ("byproduct_t", "by-products", "#5aae61"),
    ("external_t", "own supply offers", "#a6dba0"),
    ("imports_partner_t", "imports from partners", "#9970ab"),
    ("imports_concern_t", "imports from China", "#b2182b"),
    ("stockpile_release_t", "stockpile release", "#2166ac"),
    ("shortfall_t", "shortfall", "#bababa"),
]


def draw(result: Path, material: str, out: Path) -> Path:
    """Stacked columns of the members' supply of `material` by source, per year, with demand as a line."""
    book = read_result(result)
    s = book.tables["Supply"]
    s = s[s["material"] == material]
    prob = book.probabilities or {sc: 1.0 for sc in s["scenario"].unique()}
    cols = [c for c, _, _ in SOURCES] + ["demand_t"]
    weighted = s[cols].astype(float).mul(s["scenario"].map(prob).astype(float), axis=0)
    by_year = weighted.groupby(s["year"].astype(int)).sum() / 1000
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    bottom = None
    for col, label, colour in SOURCES:
        if by_year[col].abs().sum() == 0:
            continue
        ax.bar(by_year.index, by_year[col], bottom=bottom, label=label, color=colour, width=0.75)
        bottom = by_year[col] if bottom is None else bottom + by_year[col]
    ax.plot(by_year.index, by_year["demand_t"], color="black", marker="o", ms=3, label="demand")
    ax.set_ylabel("kt per year (expected)")
    ax.set_title(f"{book.case_name}: members' supply of {material} by source")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    print(draw(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])))
