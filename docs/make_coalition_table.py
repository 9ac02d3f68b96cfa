"""Print the README's coalition shares table (Markdown) from a coalition workbook.

    python cli.py coalition cases/base.xlsx -j 2 -o outputs/base_coalition.xlsx
    python docs/make_coalition_table.py outputs/base_coalition.xlsx

The figures are the workbook's Shares sheet, and the lines under the table
its Stability sheet, read as plain tables: nothing is recomputed here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from openpyxl import load_workbook

COLUMNS = [  # Shares column, heading, format
    ("member", "member", "{}"),
    ("stand_alone_musd", "stand-alone cost (USD m)", "{:,.0f}"),
    ("shapley_musd", "Shapley share (USD m)", "{:,.0f}"),
    ("saving_musd", "saving (USD m)", "{:,.0f}"),
    ("saving_share", "share of the saving", "{:.1%}"),
    ("least_core_musd", "least core (USD m)", "{:,.0f}"),
]
STABILITY = [  # Stability item, words, format
    ("whole coalition cost v(N)", "whole coalition cost v(N)", "{:,.0f} USD m"),
    ("coalition saving", "coalition saving", "{:,.0f} USD m"),
    ("least core ε", "least core ε", "{:,.0f} USD m"),
    ("Shapley shares in the core", "Shapley shares in the core", "{}"),
    ("largest gap", "largest gap of the 127 solves", "{:.3%}"),
]


def table(path: str | Path) -> str:
    """The Markdown table and the stability lines of the coalition workbook at `path`."""
    wb = load_workbook(path, read_only=True, data_only=True)
    rows = list(wb["Shares"].values)
    head = list(rows[0])
    present = [(c, h, f) for c, h, f in COLUMNS if c in head]
    lines = ["| " + " | ".join(h for _, h, _ in present) + " |",
             "|" + "|".join("---" if c == "member" else "---:" for c, _, _ in present) + "|"]
    for r in rows[1:]:
        rec = dict(zip(head, r))
        lines.append("| " + " | ".join("" if rec[c] is None else f.format(rec[c]) for c, _, f in present) + " |")
    stab = {r[0]: r[1] for r in list(wb["Stability"].values)[1:]}
    notes = {r[0]: r[3] for r in list(wb["Stability"].values)[1:]}
    solved = stab.get("coalitions solved")
    lines.append("")
    for item, words, fmt in STABILITY:
        if stab.get(item) is not None:
            words = words.replace("127", str(solved)) if solved else words
            lines.append(f"- {words}: {fmt.format(stab[item])}")
    if stab.get("blocking coalition"):
        lines.append(f"- coalition that would rather leave: {notes['blocking coalition']} "
                     f"(pays {stab['blocking excess']:,.0f} USD m more under the Shapley shares than alone)")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python docs/make_coalition_table.py COALITION_WORKBOOK.xlsx")
    print(table(sys.argv[1]))
