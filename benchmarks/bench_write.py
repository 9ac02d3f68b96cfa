"""Write speed: openpyxl's write-only mode against XlsxWriter's constant-memory mode, and minplan's result writer.

    python benchmarks/bench_write.py                    # 1,000,000 cells (100,000 rows x 10 columns)
    python benchmarks/bench_write.py --rows 20000 --projects 30 --scenarios 3

Prints, in one run on the same table (3 text, 7 number columns, one line chart of its first rows):
cells per second and seconds for openpyxl write-only (one styled cell reused per column, as minplan did) and
XlsxWriter constant_memory (typed writes, a format per column); then minplan's own table writer
(model/workbook/sheets.py, XlsxWriter underneath) on that table; then write_result on a solved synthetic case
(benchmarks/synthetic.py) with its size in cells.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd


def table(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    i = np.arange(rows)
    return pd.DataFrame({"scenario": [f"s{k % 10}" for k in i], "region": [f"R{k % 12}" for k in i],
                         "material": [f"m{k % 10}" for k in i],
                         **{f"v{j}_t": rng.random(rows) * 1000 for j in range(6)}, "year": 2026 + i % 20})


def with_openpyxl(df: pd.DataFrame, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.chart import LineChart, Reference

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("T")
    ws.append(list(df.columns))
    cells = [WriteOnlyCell(ws) for _ in df.columns]
    for c in cells[3:]:
        c.number_format = "#,##0"
    for row in zip(*(df[c].tolist() for c in df.columns)):
        for cell, v in zip(cells, row):
            cell.value = v
        ws.append(cells)
    chart = LineChart()
    chart.add_data(Reference(ws, min_col=4, min_row=1, max_row=21), titles_from_data=True)
    ws.add_chart(chart, "L2")
    wb.save(out)


def with_xlsxwriter(df: pd.DataFrame, out: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    ws = wb.add_worksheet("T")
    fmt = wb.add_format({"num_format": "#,##0"})
    ws.write_row(0, 0, list(df.columns))
    text = [j for j, c in enumerate(df.columns) if not pd.api.types.is_numeric_dtype(df[c])]
    writers = [ws.write_string if j in text else ws.write_number for j in range(len(df.columns))]
    fmts = [None if j in text else fmt for j in range(len(df.columns))]
    for i, row in enumerate(zip(*(df[c].tolist() for c in df.columns)), start=1):
        for j, v in enumerate(row):
            writers[j](i, j, v, fmts[j])
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"values": ["T", 1, 3, 20, 3]})
    ws.insert_chart("L2", chart)
    wb.close()


def with_minplan(df: pd.DataFrame, out: Path) -> None:
    from model.workbook import sheets

    book = sheets.Book()
    ws = sheets.write_table(book, "T", df, notes=sheets.TableNotes())[0]
    chart = book.wb.add_chart({"type": "line"})
    chart.add_series({"values": [ws.name, 1, 3, 20, 3], "smooth": False})
    ws.insert_chart(1, 11, chart)
    book.save(out)


def timed(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def synthetic_write(folder: Path, projects: int, scenarios: int) -> tuple[float, int]:
    from benchmarks.synthetic import write_synthetic
    from model.case.load import load_case
    from model.results.write import write_result
    from model.solve.solver import solve_case

    case = load_case(write_synthetic(folder / "synthetic.xlsx", n_projects=projects, n_scenarios=scenarios))
    solution = solve_case(case, {"threads": 1, "evpi_vss": False})
    t = time.perf_counter()
    out = write_result(folder / "synthetic_result.xlsx", case, solution)
    seconds = time.perf_counter() - t
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(out))
    cells = sum(len(r) for name in wb.sheet_names for r in wb.get_sheet_by_name(name).to_python())
    return seconds, cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--projects", type=int, default=100)
    ap.add_argument("--scenarios", type=int, default=10)
    args = ap.parse_args()
    df = table(args.rows)
    cells = df.size
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        print(f"table: {len(df):,} rows x {df.shape[1]} columns = {cells:,} cells, one line chart")
        for name, fn in (("openpyxl write-only", with_openpyxl), ("XlsxWriter constant_memory", with_xlsxwriter),
                         ("minplan write_table (XlsxWriter)", with_minplan)):
            s = timed(fn, df, d / f"{name.split()[0]}.xlsx")
            print(f"  {name:34s} {s:7.2f} s  {cells / s:12,.0f} cells/s  {1e6 * s / cells:5.1f} us/cell")
        s, n = synthetic_write(d, args.projects, args.scenarios)
        print(f"write_result on the synthetic case ({args.projects} projects, {args.scenarios} scenarios): "
              f"{s:.2f} s for {n:,} cells ({n / s:,.0f} cells/s, charts and comments included)")


if __name__ == "__main__":
    main()
