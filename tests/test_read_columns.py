"""Reading a sheet a whole column at a time gives exactly what reading it cell by cell gives.

Large sheets are trimmed, parsed and checked column by column (model.workbook.read,
model.case.cells.parse_column, the Routes rules of model.case.feasibility); the
cell-by-cell definitions (`parse_value`, one Routes lookup per flow) are the
reference each fast path is checked against, on columns drawn to hit both the
fast path (clean text, numbers in range, a few words) and its way back to the
cell-by-cell reading (a slip anywhere in the column).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.case import schema as S
from model.case.cells import FREE_TEXT, parse_column, parse_value
from model.case.reader import Record
from model.case.routes import RouteRules
from model.workbook.read import _trimmed

# one column of each way of parsing: kind, range and words (text columns differ only in being prose or not)
COLUMNS = list({(c.kind, c.min, c.max, c.min_open, c.max_open, c.choices, c.name in FREE_TEXT): c
                for s in S.SHEETS for c in S.all_columns(s).values()}.values())
WORDS = sorted({w for c in COLUMNS for w in (c.choices or ())} | set(S.YES_WORDS) | set(S.NO_WORDS))
ODD = st.one_of(
    st.none(),
    st.text(max_size=6),
    st.sampled_from(["#N/A", " US ", "1,000", "2030", "x\x1by", "-", "*", " ", ""]),
    st.integers(-10**6, 10**6),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e16, -0.0, 0.0, 0.5, 1.0, 2030.0, 2200.5, -1.0, 1e15]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)),
)
SLIPS = st.sampled_from([math.nan, math.inf, -1.0, 0.5, 2200.5, 1e16, True, "#N/A", "x\x1by", "5", dt.date(2030, 1, 1)])
TEXTS = st.sampled_from(["US", "ore", "W001", "a b", "Y"])


def in_range(col: S.Column) -> st.SearchStrategy:
    """Numbers the column accepts, as floats and ints (whole where it must be)."""
    lo = col.min if col.min is not None else (2000 if col.kind == S.YEAR else -1e6)
    hi = col.max if col.max is not None else (2100 if col.kind == S.YEAR else 1e6)
    if col.kind != S.NUMBER:
        whole = st.integers(math.ceil(lo) + col.min_open, math.floor(hi) - col.max_open)
        return st.one_of(whole, whole.map(float))
    return st.one_of(st.floats(lo, hi, exclude_min=col.min_open, exclude_max=col.max_open), st.sampled_from([-0.0, 0.0]).filter(
        lambda x: lo < x < hi or (x == lo and not col.min_open)))


def clean(col: S.Column) -> st.SearchStrategy:
    """Cells of the column's usual kind, valid, some blank."""
    usual = {S.TEXT: TEXTS, S.ENUM: st.sampled_from(WORDS), S.YN: st.sampled_from(WORDS), S.LIST: TEXTS}.get(col.kind)
    return st.lists(st.one_of(st.none(), in_range(col) if usual is None else usual), min_size=1, max_size=30)


def typed(pairs: list) -> list:
    """Values with their types, so that 1 and 1.0, or 0.0 and -0.0, differ."""
    return [(type(x).__name__, repr(x)) for x in pairs]


@settings(max_examples=500, deadline=None)
@given(col=st.sampled_from(COLUMNS), data=st.data())
def test_a_column_reads_as_its_cells_do(col, data):
    cells = data.draw(st.one_of(clean(col), st.lists(ODD, max_size=30)))
    for _ in range(data.draw(st.integers(0, 2))):  # an odd cell anywhere sends the whole column the cell-by-cell way
        cells.insert(data.draw(st.integers(0, len(cells))), data.draw(SLIPS))
    values, problems = parse_column(col, cells)
    one_by_one = [parse_value(col, v) for v in cells]
    assert typed(values) == typed([x for x, _ in one_by_one])
    assert problems == {k: why for k, (_, why) in enumerate(one_by_one) if why}


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.one_of(st.none(), st.text(max_size=4), st.sampled_from([" a ", "", "  ", "b"]),
                                st.floats(allow_nan=False), st.booleans(), st.integers()), max_size=20))
def test_a_column_is_trimmed_as_its_cells_are(cells):
    assert _trimmed(tuple(cells)) == [(v.strip() or None) if type(v) is str else v for v in cells]


REGIONS = ["A", "B", "C", "D"]
ROUTE = st.fixed_dictionaries({
    "origin": st.sampled_from([*REGIONS, "*", None]), "destination": st.sampled_from([*REGIONS, "*", None]),
    "material": st.sampled_from([None, "m", "n"]), "allowed": st.sampled_from([True, False, None]),
})


def _by_score(rows: list[dict], o, d, m) -> bool:
    """DESIGN's Routes rule, row by row: of the rows matching (o, d, m), the one with the highest score
    4·[material named] + 2·[origin named] + 1·[destination named] applies (the later of two for one key);
    no row: allowed."""
    best = None
    for r in rows:
        if r["origin"] in (o, "*") and r["destination"] in (d, "*") and r["material"] in (m, None):
            score = 4 * (r["material"] is not None) + 2 * (r["origin"] != "*") + (r["destination"] != "*")
            if best is None or score >= best[0]:
                best = (score, r["allowed"] is not False)
    return True if best is None else best[1]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(ROUTE, max_size=25))
def test_the_routes_rule_is_the_highest_scoring_row_for_every_flow_and_every_use(rows):
    """One rule serves validation (each flow, every destination at once) and the model (its legs): all three are
    the highest-scoring matching row of DESIGN's rule, checked row by row."""
    routes = RouteRules.from_records([Record("Routes", r, "case.xlsx", i + 2, {}) for i, r in enumerate(rows)])
    regions = set(REGIONS)
    for o in [*REGIONS, None]:
        for m in (None, "m", "n"):
            for d in regions:
                assert routes.ok(o, d, m) == _by_score(rows, o, d, m), (o, d, m)
            assert routes.destinations(o, m, regions) == {d for d in regions if routes.ok(o, d, m)}, (o, m)
    holders, users = {"m": {"A", "B", "C"}, "n": {"B", "D"}}, {"m": {"A", "C", "D"}, "n": {"A", "B", "D"}}
    legs = RouteRules.from_records([Record("Routes", r, "case.xlsx", i + 2, {}) for i, r in enumerate(rows)]).legs(
        holders, users)
    assert set(legs) == {(o, d, m) for m in holders for o in holders[m] for d in users[m]
                         if o != d and _by_score(rows, o, d, m)}


@pytest.mark.parametrize("first,later", [(True, False), (False, True), (None, False), (False, None)])
def test_a_later_routes_row_for_the_same_key_replaces_the_earlier(first, later):
    """Two rows for one (origin, destination, material), one allowed and one not: the later one applies, as the
    rule reads the sheet from the top (the reader reports the pair as duplicates)."""
    rules = RouteRules(["A", "A"], ["B", "B"], [None, None], [first, later], [5, 7], [1, 2])
    assert rules.ok("A", "B", "m") is (later is not False)
    assert rules.tariff("A", "B", "m") == 2.0
    assert rules.leg("A", "B", "m") == (None if later is False else (7.0, 2.0))


# ---------------------------------------------------------------- a sheet's kept columns


def _routes_file(tmp_path):
    from model.case.writer import write_case

    rows = [{"origin": "CN", "destination": "US", "transport_usd_per_t": 20},
            {"source": "a row with only a source is blank"},
            {"origin": "AU", "destination": "JP", "transport_usd_per_t": "twenty"},  # unreadable: kept, reported
            {"origin": "*", "destination": "UK", "allowed": "N"}]
    return write_case(tmp_path / "case.xlsx", {"start_year": 2026}, {"Routes": rows})


def test_a_sheets_kept_columns_are_what_its_records_hold(tmp_path):
    """values_of hands out the columns a sheet was parsed from: they must be, value for value, what each record
    holds (the blank row left out of both, the unreadable cell blank in both), and a column the sheet lacks is blank."""
    from model.case.reader import Rows, read_case_file, values_of
    from model.problems import Problems

    problems = Problems()
    recs = read_case_file(_routes_file(tmp_path), problems).tables["Routes"]
    assert isinstance(recs, Rows) and recs.columns is not None
    assert [r.row for r in recs] == recs.numbers == [2, 4, 5]
    for col in ("origin", "destination", "transport_usd_per_t", "allowed", "tariff_pct", "source"):
        assert values_of(recs, col) == [r.values.get(col) for r in recs], col
    assert values_of(recs, "transport_usd_per_t") == [20, None, None]
    assert values_of(recs, "tariff_pct") == [None] * 3
    assert values_of(recs, "_bad") == [None, ("transport_usd_per_t",), None]
    assert [p.where for p in problems.errors] == ["Routes!C4"]


def test_replacing_a_record_lets_the_kept_columns_go(tmp_path):
    """A sweep varies a cell by replacing its record (rows[i] = new): what values_of reads afterwards is the new
    record's value, never the column as it was read; every other change to the list lets the columns go too."""
    import dataclasses

    from model.case.reader import read_case_file, values_of
    from model.problems import Problems

    recs = read_case_file(_routes_file(tmp_path), Problems()).tables["Routes"]
    recs[0] = dataclasses.replace(recs[0], values={**recs[0].values, "transport_usd_per_t": 99})
    assert recs.columns is None and values_of(recs, "transport_usd_per_t") == [99, None, None]
    for change in (lambda r: r.append(r[0]), lambda r: r.pop(), lambda r: r.sort(key=lambda x: x.row),
                   lambda r: r.extend([]), lambda r: r.__delitem__(0), lambda r: r.__iadd__([])):
        again = read_case_file(_routes_file(tmp_path), Problems()).tables["Routes"]
        change(again)
        assert again.columns is None and again.numbers is None


def test_a_sheets_rows_survive_pickling_and_copying(tmp_path):
    """Sweeps send cases to worker processes: the records and their columns arrive together."""
    import pickle

    from model.case.reader import Rows, read_case_file, values_of
    from model.problems import Problems

    recs = read_case_file(_routes_file(tmp_path), Problems()).tables["Routes"]
    for other in (pickle.loads(pickle.dumps(recs)), recs.copy()):
        assert isinstance(other, Rows) and other == recs and other.numbers == recs.numbers
        assert values_of(other, "origin") == ["CN", "AU", "*"]


def _unmade(rec) -> bool:
    """Whether a record read from a sheet has not made its fields yet (looked at without making them)."""
    try:
        object.__getattribute__(rec, "values")
    except AttributeError:
        return True
    return False


def test_a_read_record_makes_its_fields_when_first_asked(tmp_path):
    """A record read from a sheet holds only its sheet and position until asked; asked, its fields are exactly the
    sheet's, the same as a record built with them, and it survives pickling, dataclasses.replace and pickling the
    replacement as any record does; it cannot be changed in place (a change replaces it)."""
    import dataclasses
    import pickle

    from model.case.reader import Record, read_case_file
    from model.problems import Problems

    recs = read_case_file(_routes_file(tmp_path), Problems()).tables["Routes"]
    first = recs[0]
    assert _unmade(first) and _unmade(recs[2])
    assert first.row == 2 and not _unmade(first)  # one field asked: the record is made
    assert first.values == {"origin": "CN", "destination": "US", "transport_usd_per_t": 20, "allowed": None,
                            "source": None}
    assert (first.sheet, first.file, first.inherited) == ("Routes", str(tmp_path / "case.xlsx"), {})
    sent = pickle.loads(pickle.dumps(recs))  # a sweep sends whole cases: what was not made is not made to send it
    assert _unmade(sent[2]) and not _unmade(sent[0])
    assert sent[2].values == recs[2].values and (sent[2].row, sent[2].letters) == (recs[2].row, recs[2].letters)
    built = Record("Routes", dict(first.values), first.file, first.row, first.letters)
    assert first == built and pickle.loads(pickle.dumps(recs[2])) == recs[2] == sent[2]
    assert pickle.loads(pickle.dumps(built)) == built
    moved = dataclasses.replace(recs[2], row=99, file="other.xlsx", inherited={"origin": ("base.xlsx", "A7")},
                                values={"origin": "JP"})
    assert pickle.loads(pickle.dumps(moved)) == moved and moved.ref("origin") == ("base.xlsx", "Routes!A7")
    assert (pickle.loads(pickle.dumps(moved)).row, pickle.loads(pickle.dumps(moved)).file) == (99, "other.xlsx")
    with pytest.raises(dataclasses.FrozenInstanceError):
        recs[2].row = 50
    assert recs[1].values["_bad"] == ("transport_usd_per_t",) and recs[1].get("origin") == "AU"
    assert recs[1].ref("origin") == (first.file, f"Routes!A{recs[1].row}")


def test_loading_a_case_asks_no_lane_for_its_values(tmp_path):
    """Validation and building read Routes and Demand column by column: loading a valid case makes no Routes or
    Demand record's values (a rule that walked every lane row by row would make them all, and cost a dict per lane)."""
    from model.case.load import load_case
    from model.case.writer import write_case

    lanes = [{"origin": "*", "destination": "*", "allowed": "N"}] + [
        {"origin": "CN", "destination": d, "transport_usd_per_t": 10 + i} for i, d in enumerate(["US", "UK"])]
    sheets = {"Regions": [{"region": "US", "bloc": "ally", "member": "Y"}, {"region": "UK", "bloc": "ally", "member": "Y"},
                          {"region": "CN", "bloc": "concern", "member": "N"}],
              "Materials": [{"material": "mag", "stage": "magnet", "price_usd_per_t": 1000,
                             "shortfall_penalty_usd_per_t": 5000}],
              "Demand": [{"region": r, "material": "mag", "year": 2026, "demand_t": 5} for r in ("US", "UK")],
              "Supply": [{"origin": "CN", "material": "mag", "year": 2026, "max_t": 20, "price_usd_per_t": 900}],
              "Projects": [{"project": "none", "region": "CN", "status": "existing", "output": "mag", "capacity_tpy": 0}],
              "Routes": lanes}
    case = load_case(write_case(tmp_path / "lanes.xlsx", {"start_year": 2026, "end_year": 2026}, sheets))
    routes = case.records.tables["Routes"]
    assert len(routes) == 3 and all(map(_unmade, routes))
    demand = case.records.tables["Demand"]  # a row per customer and year: read column by column too
    assert len(demand) == 2 and all(map(_unmade, demand))
    assert list(case.tables["Routes"]["transport_usd_per_t"])[1:] == [10, 11]
