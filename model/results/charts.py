"""The Dashboard: native Excel charts of what is at stake in a result.

Chosen by what a planner looks at first rather than by tonnes: expected
shortfall cost by material and member, the concern-origin share of
consumption against each policy limit, stockpile inventory, budget use by
fund, and the supply mix by traced origin for the member-material pairs with
the largest expected shortfall cost or concern-origin import value. Bars for
amounts, lines (never smoothed) for trajectories, value axes from zero with
thousands separators, a title with the unit on each.

Each chart draws from a small pivot written on the ChartData sheet (a block
per chart: a title row, a header row, one row per category), so the table
sheets stay plain for machine reading. Quantities that vary by scenario are
charted as expected values (weighted by scenario or node probability).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from model.tables import SUPPLY_SOURCES
from model.workbook.sheets import Book, write_value

MAX_SERIES = 10  # lines or stacks per chart; the rest are left out (or lumped as 'other') and the title says so
MAX_SUPPLY_CHARTS = 4  # member-material pairs with a supply-mix chart
CHART_W, CHART_H = 640, 330  # pixels
GRID_COLS, COL_STEP, ROW_STEP = 2, 10, 18  # charts side by side, Dashboard columns and rows a chart takes

# One colour per source in every supply chart, so charts read alike: own sources blue/green, trade by origin,
# concern red, stockpile purple, shortfall black, exports light grey.
SOURCE_COLOURS = {
    "projects": "#1F77B4", "by-products": "#17BECF", "own supply offers": "#2CA02C",
    "made in the coalition": "#98DF8A", "made in allies outside": "#7F7F7F", "made in partners": "#FF7F0E",
    "made in concern regions": "#D62728", "stockpile release": "#9467BD", "shortfall": "#000000",
    "exports (below zero)": "#C7C7C7", "other": "#BCBD22",
}
PALETTE = ("#1F77B4", "#D62728", "#2CA02C", "#FF7F0E", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22",
           "#17BECF")


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
    """The ChartData sheet: blocks written one under the other, each a pivot with its categories down the side."""

    def __init__(self, book: Book, ws):
        self.book, self.ws = book, ws
        self.row = 0  # next row to write
        ws.set_column(0, 0, 28)
        ws.set_column(1, 30, 14)

    def block(self, title: str, pivot: pd.DataFrame, index_name: str = "year", num_format: str = "#,##0.00"
              ) -> tuple[int, int]:
        """Write a titled pivot; return (header row, last row), 0-based."""
        bold, fmt = self.book.format(bold=True), self.book.format(num_format)
        self.ws.write_string(self.row, 0, title, bold)
        header = self.row + 1
        self.ws.write_string(header, 0, index_name, bold)
        for j, c in enumerate(pivot.columns, start=1):
            self.ws.write_string(header, j, str(c), bold)
        for i, (key, values) in enumerate(zip(pivot.index, pivot.itertuples(index=False, name=None)), start=1):
            write_value(self.ws, header + i, 0, int(key) if index_name == "year" else str(key))
            for j, v in enumerate(values, start=1):
                if pd.notna(v):
                    self.ws.write_number(header + i, j, float(v), fmt)
        self.row = header + len(pivot) + 2
        return header, header + len(pivot)


@dataclass
class Dashboard:
    """The Dashboard sheet: charts on a grid, two across, in the order they are added."""

    book: Book
    ws: object
    data: ChartData
    titles: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # charts that have nothing to show, said in words

    def add(self, chart, title: str) -> None:
        k = len(self.titles)
        row, col = 2 + (k // GRID_COLS) * ROW_STEP, (k % GRID_COLS) * COL_STEP
        self.ws.insert_chart(row, col, chart, {"object_position": 3})
        self.titles.append(title)

    def new_chart(self, kind: str, subtype: str | None = None):
        chart = self.book.wb.add_chart({"type": kind, **({"subtype": subtype} if subtype else {})})
        if kind in ("line", "scatter"):
            # XlsxWriter leaves <c:smooth> out when not smoothing; LibreOffice then draws curves. Say val="0".
            chart._write_c_smooth = lambda smooth, c=chart: c._xml_empty_tag("c:smooth", [("val", "1" if smooth else "0")])
        chart.set_size({"width": CHART_W, "height": CHART_H})
        chart.set_legend({"position": "bottom"})
        return chart


def _axes(chart, title: str, unit: str, x_name: str = "year", from_zero: bool = True, num_format: str = "#,##0"):
    chart.set_title({"name": title, "name_font": {"size": 11, "bold": True}})
    y = {"name": unit, "num_format": num_format, "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}}
    if from_zero:
        y["min"] = 0
    chart.set_y_axis(y)
    chart.set_x_axis({"name": x_name, "label_position": "low"})


def _series(dash: Dashboard, chart, header: int, last: int, ncols: int, colours: dict[str, str] | None = None,
            names: list[str] | None = None, line: bool = False, dashed: set[int] = frozenset()) -> None:
    sheet = dash.data.ws.name
    for j in range(1, ncols + 1):
        name = names[j - 1] if names else ""
        colour = (colours or {}).get(name) or PALETTE[(j - 1) % len(PALETTE)]
        s = {"name": [sheet, header, j], "categories": [sheet, header + 1, 0, last, 0],
             "values": [sheet, header + 1, j, last, j]}
        if line:
            s.update(smooth=False, marker={"type": "none"},
                     line={"color": colour, "width": 2.0, **({"dash_type": "dash"} if j - 1 in dashed else {})})
        else:
            s.update(fill={"color": colour}, border={"none": True})
        chart.add_series(s)


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


def funding_chart(dash: Dashboard, funding: pd.DataFrame) -> None:
    """Stacked columns: budget use (c_f-weighted USD m) per fund, by year, expected over the nodes of each year."""
    if funding.empty or "budget_use_musd" not in funding.columns:
        return
    df = funding.copy()
    if "probability" in df.columns and "node" in df.columns:
        df["budget_use_musd"] = df["budget_use_musd"] * pd.to_numeric(df["probability"], errors="coerce").fillna(1.0)
    pivot = df.pivot_table(index="year", columns="fund", values="budget_use_musd", aggfunc="sum").fillna(0.0)
    pivot, cut = _limit(pivot.sort_index(), lump=True)
    title = "Budget use by fund, USD m" + cut
    header, last = dash.data.block(title, pivot)
    chart = dash.new_chart("column", "stacked")
    _series(dash, chart, header, last, pivot.shape[1], names=[str(c) for c in pivot.columns])
    _axes(chart, title, "USD m", num_format="#,##0.0" if pivot.abs().to_numpy().max(initial=0) < 100 else "#,##0")
    dash.add(chart, title)


def stockpile_chart(dash: Dashboard, stock: pd.DataFrame, probs: dict[str, float]) -> None:
    """Lines: expected inventory of each stockpile, by year."""
    if stock.empty or "inventory_t" not in stock.columns:
        return
    exp = expected(stock, probs, ["stockpile", "year"], ["inventory_t"])
    pivot = exp.pivot_table(index="year", columns="stockpile", values="inventory_t", aggfunc="sum").sort_index()
    pivot, cut = _limit(pivot)
    title = "Stockpile inventory, t (expected over scenarios)" + cut
    header, last = dash.data.block(title, pivot)
    chart = dash.new_chart("line")
    _series(dash, chart, header, last, pivot.shape[1], line=True)
    _axes(chart, title, "t")
    dash.add(chart, title)


def shortfall_cost_chart(dash: Dashboard, supply: pd.DataFrame, probs: dict[str, float]) -> None:
    """Stacked columns: expected shortfall cost (all years, undiscounted) by material, one stack per member."""
    if supply.empty or "shortfall_cost_musd" not in supply.columns:
        return
    exp = expected(supply, probs, ["region", "material"], ["shortfall_cost_musd", "shortfall_t"])
    if not (exp["shortfall_cost_musd"].abs() > 1e-9).any():
        dash.notes.append("No expected shortfall: every member's demand is met in every scenario.")
        return
    pivot = exp.pivot_table(index="material", columns="region", values="shortfall_cost_musd", aggfunc="sum").fillna(0.0)
    pivot = pivot.loc[pivot.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    pivot = pivot.loc[pivot.sum(axis=1) > 1e-9]
    pivot, cut = _limit(pivot, lump=True)
    top = pivot.index[0]
    title = f"Expected shortfall cost by material and member, USD m (largest: {top})" + cut
    header, last = dash.data.block(title, pivot, index_name="material")
    chart = dash.new_chart("column", "stacked")
    _series(dash, chart, header, last, pivot.shape[1], names=[str(c) for c in pivot.columns])
    _axes(chart, title, "USD m, all years, undiscounted", x_name="material")
    dash.add(chart, title)


def concern_share_chart(dash: Dashboard, dependence: pd.DataFrame, probs: dict[str, float]) -> None:
    """Lines: expected concern-origin share of consumption, by year, beside the policy limit (dashed) that applies.

    Drawn for every region and material a concern-share limit applies to, then for the coalition's materials with
    the largest concern share; the share is expected concern tonnes over expected consumption.
    """
    need = {"region", "material", "year", "consumption_t", "concern_origin_t"}
    if dependence.empty or not need <= set(dependence.columns):
        return
    df = dependence.copy()
    df["limit"] = pd.to_numeric(df.get("limit_concern_share"), errors="coerce")
    exp = expected(df, probs, ["region", "material", "year"], ["consumption_t", "concern_origin_t"])
    exp["share"] = (exp["concern_origin_t"] / exp["consumption_t"].where(exp["consumption_t"] > 0)).fillna(0.0)
    limits = df.groupby(["region", "material", "year"])["limit"].max()
    exp = exp.merge(limits.rename("limit").reset_index(), on=["region", "material", "year"], how="left")
    ranked = exp.groupby(["region", "material"]).agg(limited=("limit", lambda s: s.notna().any()),
                                                     share=("share", "max"))
    ranked = ranked[(ranked["limited"]) | ((ranked.index.get_level_values(0) == "coalition") & (ranked["share"] > 0))]
    if ranked.empty:
        dash.notes.append("No concern-origin consumption and no concern-share limit: no dependence chart.")
        return
    ranked = ranked.sort_values(["limited", "share"], ascending=False, kind="stable")
    cols, dashed, pairs = {}, set(), 0
    for region, material in ranked.index:
        rows = exp[(exp["region"] == region) & (exp["material"] == material)].set_index("year").sort_index()
        has_limit = rows["limit"].notna().any()
        if len(cols) + 1 + has_limit > MAX_SERIES:
            break
        cols[f"{material} in {region}"] = rows["share"]
        if has_limit:
            dashed.add(len(cols))
            cols[f"{material} in {region}: limit"] = rows["limit"]
        pairs += 1
    pivot = pd.DataFrame(cols).sort_index()
    cut = f" (largest {pairs} of {len(ranked)})" if pairs < len(ranked) else ""
    against = " against policy limits (dashed)" if dashed else ""  # no limit drawn: the title must not promise one
    title = f"Concern-origin share of consumption{against}, % (expected over scenarios)" + cut
    header, last = dash.data.block(title, pivot, num_format="0.0%")
    chart = dash.new_chart("line")
    names = list(pivot.columns)
    colours, k = {}, 0
    for n in names:
        base = n.rsplit(": limit", 1)[0]
        if base not in colours:
            colours[base] = PALETTE[k % len(PALETTE)]
            k += 1
        colours[n] = colours[base]
    _series(dash, chart, header, last, len(names), colours=colours, names=names, line=True,
            dashed={i for i, n in enumerate(names) if n.endswith(": limit")})
    _axes(chart, title, "share of consumption", num_format="0%")
    chart.set_y_axis({"name": "share of consumption", "min": 0, "max": 1, "num_format": "0%",
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    dash.add(chart, title)


def supply_pairs(supply: pd.DataFrame, probs: dict[str, float], prices: dict[str, float]) -> list[tuple[str, str]]:
    """Member-material pairs worth a supply-mix chart: the largest expected shortfall cost, then concern imports.

    Up to half the charts go to the pairs with the largest expected shortfall cost, the rest to the largest expected
    concern-origin import value (tonnes at the material's reference price); pairs with neither are left out.
    """
    cols = [c for c in ("shortfall_cost_musd", "imports_concern_t") if c in supply.columns]
    if supply.empty or not cols:
        return []
    exp = expected(supply, probs, ["region", "material"], cols)
    exp["shortfall"] = exp.get("shortfall_cost_musd", 0.0)
    exp["concern"] = exp.get("imports_concern_t", 0.0) * exp["material"].map(prices).fillna(1.0) / 1e6
    by_short = exp[exp["shortfall"] > 1e-9].sort_values("shortfall", ascending=False, kind="stable")
    by_concern = exp[exp["concern"] > 1e-9].sort_values("concern", ascending=False, kind="stable")
    out: list[tuple[str, str]] = []
    for df, quota in ((by_short, MAX_SUPPLY_CHARTS // 2), (by_concern, MAX_SUPPLY_CHARTS), (by_short, MAX_SUPPLY_CHARTS)):
        for pair in zip(df["region"], df["material"]):
            if len(out) >= quota:
                break
            if pair not in out:
                out.append(pair)
    return out[:MAX_SUPPLY_CHARTS]


def supply_charts(dash: Dashboard, supply: pd.DataFrame, probs: dict[str, float], prices: dict[str, float]) -> None:
    """Stacked columns by traced origin for the pairs `supply_pairs` picks; exports below zero.

    One chart per member and material: summing members would count a shipment between two members twice.
    """
    sources = [c for c in SUPPLY_SOURCES if c in supply.columns]
    if supply.empty or not sources:
        return
    extra = ["exports_t"] if "exports_t" in supply.columns else []
    exp = expected(supply, probs, ["region", "material", "year"], [*sources, *extra])
    for region, material in supply_pairs(supply, probs, prices):
        rows = exp[(exp["region"] == region) & (exp["material"] == material)].set_index("year").sort_index()
        part = rows[sources].rename(columns=SUPPLY_SOURCES)
        if extra and (rows["exports_t"].abs() > 0).any():
            part["exports (below zero)"] = -rows["exports_t"]
        used = (part.abs() > 1e-9).any()
        part = part.loc[:, used] if used.any() else part.iloc[:, :1]
        title = f"Supply of {material} to {region} by origin, t (expected over scenarios)"
        header, last = dash.data.block(title, part)
        chart = dash.new_chart("column", "stacked")
        names = list(part.columns)
        _series(dash, chart, header, last, len(names), colours=SOURCE_COLOURS, names=names)
        _axes(chart, title, "t", from_zero=not (part < 0).any().any())
        chart.set_x_axis({"name": "year", "label_position": "low"})
        dash.add(chart, title)
