"""Large tables are streamed a column at a time (`sheets._stream_rows`); the sheet must be exactly what
XlsxWriter writes cell by cell, whatever the values: text that looks like a formula stays text, escapes, blank
cells, booleans, dates, mixed columns, numbers at the edges of their formatting."""

from __future__ import annotations

import datetime as dt
import zipfile

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from model.workbook import sheets


def _sheet_xml(tmp_path, df: pd.DataFrame, streamed: bool, name: str) -> str:
    book = sheets.Book()
    if not streamed:
        book.constant_memory = False  # the cell-by-cell path (the workbook itself stays in constant-memory mode)
    sheets.write_table(book, "T", df, notes=sheets.TableNotes(), comment="a note on the header")
    book.constant_memory = True
    path = tmp_path / f"{name}.xlsx"
    book.save(path)
    return zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()


EDGES = pd.DataFrame({
    "scenario": ["calm", " leading space", "a&b<c>", None, "=SUM(A1)", "_x0041_ literal"],
    "year": [2026, 2027, 2028, 2029, 2030, 2031],
    "value_t": [1.5, float("nan"), 1e-20, 123456789.123456789, -0.0, float("inf")],
    "flag": [True, False, True, False, True, False],
    "mixed": [1, "two", 3.5, None, dt.date(2026, 1, 2), True],
    "share": [0.1, 0.2, None, 0.4, 0.5, 0.6],
})


def test_streamed_rows_are_the_cells_xlsxwriter_writes(tmp_path):
    assert _sheet_xml(tmp_path, EDGES, True, "fast") == _sheet_xml(tmp_path, EDGES, False, "slow")
    assert "<f>" not in _sheet_xml(tmp_path, EDGES, True, "check")  # "=SUM(A1)" is text, not a formula


def test_a_row_of_blanks_is_left_out_as_xlsxwriter_leaves_it(tmp_path):
    df = pd.DataFrame({"a": ["x", None, "z"], "b": [1.0, float("nan"), 3.0]})
    fast = _sheet_xml(tmp_path, df, True, "fast")
    assert fast == _sheet_xml(tmp_path, df, False, "slow")
    assert '<row r="3"' not in fast


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=12)),
                          st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
                          st.one_of(st.none(), st.integers(-10**12, 10**12))), min_size=1, max_size=40))
@example(rows=[("\r", None, None)])  # a control character escaped to _x000D_ needs no preserved whitespace
def test_streamed_rows_match_for_any_values(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("s")
    df = pd.DataFrame(rows, columns=["name", "value_t", "count"])
    assert _sheet_xml(tmp, df, True, "fast") == _sheet_xml(tmp, df, False, "slow")


def test_a_table_longer_than_one_chunk_is_streamed_whole(tmp_path):
    n = sheets.STREAM_CHUNK + 7
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"scenario": [f"s{i % 5}" for i in range(n)], "value_t": rng.random(n)})
    fast = _sheet_xml(tmp_path, df, True, "fast")
    assert fast == _sheet_xml(tmp_path, df, False, "slow")
    assert f'<row r="{n + 1}">' in fast


def test_a_long_text_on_a_key_value_sheet_wraps_in_a_row_tall_enough(tmp_path):
    """A Summary "if…" line of a thousand characters must not overflow far to the right (the printout then
    shrinks to unreadable): it wraps inside its column, top-aligned, in a row about as tall as its lines."""
    import openpyxl

    long = "if a ban begins: " + "release 1,000 t; " * 60
    book = sheets.Book()
    sheets.key_value_sheet(book, book.sheet("Summary"), [("kpi", "short", 1.0, "t"), ("if…", "1", long, "")],
                           ("section", "item", "value", "unit"))
    path = tmp_path / "kv.xlsx"
    book.save(path)
    ws = openpyxl.load_workbook(path)["Summary"]
    assert ws["C3"].value == long and ws["C3"].alignment.wrap_text and ws["C3"].alignment.vertical == "top"
    width = ws.column_dimensions["C"].width
    assert ws.row_dimensions[3].height >= sheets.ROW_POINTS * len(long) / width
    assert not ws["C2"].alignment.wrap_text and ws.row_dimensions[2].height is None


def test_the_package_is_deflated_at_zip_level_and_xlsxwriter_is_left_as_it_was(tmp_path):
    """Each part's stored bytes are exactly what raw deflate at ZIP_LEVEL makes of it (level 6 would differ), and
    XlsxWriter's module opens archives through the plain ZipFile again once the book is saved."""
    import zlib

    import xlsxwriter.workbook

    book = sheets.Book()
    sheets.write_table(book, "T", pd.DataFrame({"x": np.arange(5000) * 1.5, "name": [f"n{i % 7}" for i in range(5000)]}),
                       notes=sheets.TableNotes())
    book.save(tmp_path / "t.xlsx")
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        raw = z.read(info)

    def deflated(level: int) -> int:
        c = zlib.compressobj(level, zlib.DEFLATED, -15)
        return len(c.compress(raw) + c.flush())

    packed = {level: deflated(level) for level in (sheets.ZIP_LEVEL, 6)}
    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert packed[sheets.ZIP_LEVEL] != packed[6]
    assert info.compress_size == packed[sheets.ZIP_LEVEL]
