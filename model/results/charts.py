"""Native Excel charts of the result: funding by year, stockpile trajectory, supply mix.

Each chart draws from a small pivot written on the ChartData sheet (a block
per chart: a title row, a header row, one row per year) and is placed beside
the table it summarises, so the table sheets stay plain for machine reading.
Quantities that vary by scenario are charted as expected values (weighted by
scenario probability).
"""

from __future__ import annotations

import pandas as pd
from openpyxl.chart import BarChart, LineChart, Reference

from model.tables import SUPPLY_SOURCES
from model.workbook.outfile import out_cell

MAX_SERIES = 10  # lines or stacks per chart; the rest are left out and the title says so
MAX_SUPPLY_CHARTS = 4  # member/material pairs with the largest demand get a supply-mix chart
CHART_W, CHART_H = 18.0, 9.0  # cm
ROWS_PER_CHART = 19  # sheet rows a chart covers, to stack charts without overlap

# One colour per source in every supply chart, so charts read alike: own sources blue/green, trade grey/orange,
# concern red, stockpile purple, shortfall black, exports light grey.
SOURCE_COLOURS = {
    "projects": "1F77B4", "by-products": "17BECF", "own supply offers": "2CA02C", "imports from allies": "7F7F7F",
    "imports from partners": "FF7F0E", "imports from concern": "D62728", "stockpile release": "9467BD",
    "shortfall": "000000", "exports (below zero)": "C7C7C7",
}



def expected(df: pd.DataFrame, probs: dict[str, float], keys: list[str], values: list[str]) -> pd.DataFrame:
    """Probability-weighted sum over scenarios of `values`, grouped by `keys`."""
    if "scenario" not in df.columns:
        return df.groupby(keys, as_index=False)[values].sum()
    w = df["scenario"].map(probs).fillna(0.0).astype(float)
    weighted = df[keys].copy()
    for v in values:
        weighted[v] = pd.to_numeric(df[v], errors="coerce").fillna(0.0) * w
    return weighted.groupby(keys, as_index=False)[values].sum()


class ChartData:
    """The ChartData sheet: blocks written one under the other, each a pivot with years down the side."""

    def __init__(self, ws):
        self.ws = ws
        self.row = 0  # last row written

    def block(self, title: str, pivot: pd.DataFrame) -> tuple[int, int]:
        """Write a titled pivot (index = year); return (header row, last row)."""
        self.ws.append([out_cell(self.ws, title, bold=True)])
        self.ws.append([out_cell(self.ws, "year", bold=True), *[out_cell(self.ws, str(c), bold=True) for c in pivot.columns]])
        header = self.row + 2
        for year, values in zip(pivot.index, pivot.itertuples(index=False, name=None)):
            self.ws.append([int(year), *[None if pd.isna(v) else float(v) for v in values]])
        self.ws.append([])
        self.row = header + len(pivot) + 1
        return header, header + len(pivot)


def _limit(pivot: pd.DataFrame, lump: bool = False) -> tuple[pd.DataFrame, str]:
    """Keep the MAX_SERIES largest columns; with `lump`, add the rest up as 'other' so stacked totals stay right."""
    if pivot.shape[1] <= MAX_SERIES:
        return pivot, ""
    keep_n = MAX_SERIES - 1 if lump else MAX_SERIES
    keep = set(pivot.abs().max().sort_values(ascending=False, kind="stable").index[:keep_n])
    rest = [c for c in pivot.columns if c not in keep]
    out = pivot[[c for c in pivot.columns if c in keep]].copy()
    if lump:
        out["other"] = pivot[rest].sum(axis=1)
        return out, f" ({len(rest)} smaller ones as 'other')"
    return out, f" (largest {keep_n} of {pivot.shape[1]})"


def _place(chart, data: ChartData, header: int, last: int, ncols: int, title: str, y_title: str) -> None:
    chart.title = title
    chart.y_axis.title = y_title
    chart.x_axis.title = "year"
    chart.width, chart.height = CHART_W, CHART_H
    chart.legend.position = "b"  # long series names stay readable below the plot
    refs = Reference(data.ws, min_col=2, max_col=1 + ncols, min_row=header, max_row=last)
    chart.add_data(refs, titles_from_data=True)
    chart.set_categories(Reference(data.ws, min_col=1, min_row=header + 1, max_row=last))
    # openpyxl hides axes unless told otherwise; Excel then shows a chart without labels
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.x_axis.tickLblPos = "low"  # years stay below the plot when a series is negative


def _colour(chart, names: list[str]) -> None:
    for series, name in zip(chart.series, names):
        if name in SOURCE_COLOURS:
            series.graphicalProperties.solidFill = SOURCE_COLOURS[name]
            series.graphicalProperties.line.solidFill = SOURCE_COLOURS[name]


def _stacked() -> BarChart:
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    return chart


def funding_chart(funding: pd.DataFrame, data: ChartData, ws, anchor: str) -> str | None:
    """Stacked columns: budget use (c_f-weighted USD m) per fund, by year."""
    if funding.empty or "budget_use_musd" not in funding.columns:
        return None
    pivot = funding.pivot_table(index="year", columns="fund", values="budget_use_musd", aggfunc="sum").fillna(0.0)
    pivot, cut = _limit(pivot.sort_index(), lump=True)
    title = "Budget use by fund, USD m" + cut
    header, last = data.block(title, pivot)
    chart = _stacked()
    _place(chart, data, header, last, pivot.shape[1], title, "USD m")
    ws.add_chart(chart, anchor)
    return title


def stockpile_chart(stock: pd.DataFrame, probs: dict[str, float], data: ChartData, ws, anchor: str) -> str | None:
    """Lines: expected inventory of each stockpile, by year."""
    if stock.empty or "inventory_t" not in stock.columns:
        return None
    exp = expected(stock, probs, ["stockpile", "year"], ["inventory_t"])
    pivot = exp.pivot_table(index="year", columns="stockpile", values="inventory_t", aggfunc="sum").sort_index()
    pivot, cut = _limit(pivot)
    title = "Stockpile inventory, t (expected over scenarios)" + cut
    header, last = data.block(title, pivot)
    chart = LineChart()
    _place(chart, data, header, last, pivot.shape[1], title, "t")
    ws.add_chart(chart, anchor)
    return title


def supply_charts(supply: pd.DataFrame, probs: dict[str, float], data: ChartData, ws, column: str) -> list[str]:
    """Stacked columns by source for the member/material pairs with the largest demand; exports below zero.

    One chart per member and material: summing members would count a shipment between two members twice.
    """
    sources = [c for c in SUPPLY_SOURCES if c in supply.columns]
    if supply.empty or not sources or "demand_t" not in supply.columns:
        return []
    extra = ["exports_t"] if "exports_t" in supply.columns else []
    exp = expected(supply, probs, ["region", "material", "year"], ["demand_t", *sources, *extra])
    top = exp.groupby(["region", "material"])["demand_t"].sum().sort_values(ascending=False, kind="stable")
    titles = []
    for i, (region, material) in enumerate(top.index[:MAX_SUPPLY_CHARTS]):
        rows = exp[(exp["region"] == region) & (exp["material"] == material)].set_index("year").sort_index()
        part = rows[sources].rename(columns=SUPPLY_SOURCES)
        if extra and (rows["exports_t"].abs() > 0).any():
            part["exports (below zero)"] = -rows["exports_t"]
        used = (part.abs() > 0).any()
        part = part.loc[:, used] if used.any() else part.iloc[:, :1]
        title = f"Supply of {material} to {region}, t (expected over scenarios)"
        header, last = data.block(title, part)
        chart = _stacked()
        _place(chart, data, header, last, part.shape[1], title, "t")
        _colour(chart, list(part.columns))
        ws.add_chart(chart, f"{column}{2 + i * ROWS_PER_CHART}")
        titles.append(title)
    return titles
