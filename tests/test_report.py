"""The result workbook: every sheet, values that round-trip, charts, safe text, manifest, atomic write."""

from __future__ import annotations

import hashlib
import os

import pandas as pd
import pytest
from openpyxl import load_workbook

from model import tables as R
from model.case.load import load_case
from model.problems import RunError
from model.results import write as report
from model.results.write import RunInfo, write_result
from model.solution import OPTIMAL, TIME_LIMIT_FEASIBLE, Solution
from model.workbook import outfile, sheets
from tests.conftest import minimal_sheets

YEARS = (2026, 2027)
SCEN = {"base": 0.6, "ban": 0.4}
TABLE_SHEETS = ("Portfolio", "Funding", "Supply", "Stockpiles", "Dependence", "Scenarios")


def hand_solution(status: str = OPTIMAL) -> Solution:
    """A small solution following model/tables.py, with values chosen to be recognisable."""
    zero_supply = dict.fromkeys(R.SUPPLY.value_columns, 0.0)
    supply = pd.DataFrame([
        {"scenario": s, "region": "US", "material": "mag", "year": y, **zero_supply, "demand_t": 10.0,
         "from_projects_t": 7.5, "imports_ally_t": 1.0, "imports_concern_t": 0.5 if s == "base" else 0.0,
         "stockpile_release_t": 0.0 if s == "base" else 1.5, "shortfall_t": 1.0} for s in SCEN for y in YEARS],
        columns=R.SUPPLY.columns)
    stock = pd.DataFrame([
        {"scenario": s, "stockpile": "SP", "year": y, "node": s, "material": "mag", "location": "US",
         "buy_t": 2.0 if y == 2026 else 0.0, "release_t": 0.0, "inventory_t": 2.0 if s == "base" else 0.5,
         "inventory_coalition_t": 2.0 if s == "base" else 0.5, "inventory_ally_t": 0.0, "inventory_partner_t": 0.0,
         "inventory_concern_t": 0.0, "capacity_t": 5.0} for s in SCEN for y in YEARS], columns=R.STOCKPILES.columns)
    return Solution(
        status=status, message="", objective=123.456, bound=120.0, gap=0.0279,
        timings={"read_s": 0.1, "build_s": 0.2, "handover_s": 0.05, "solve_s": 1.5, "duals_s": 0.3},
        options={"mip_rel_gap": 1e-4, "threads": 1, "random_seed": 0},
        sizes={"variables": 40, "binaries": 2, "constraints": 30, "nonzeros": 90},
        kpis={"objective_musd": 123.456, "public_spend_musd": 7.25, "expected_shortfall_t": 2.0, "projects_funded": 1,
              "evpi_musd": 4.5, "vss_musd": 1.25},
        breakdown=pd.DataFrame({"component": ["capital", "public_funds", "shortfall_penalty"], "value_musd": [100.0, 3.456, 20.0]}),
        portfolio=pd.DataFrame([
            {"project": "new", "name": "=HYPERLINK(\"http://x\")", "region": "US", "status": "candidate", "output": "mag",
             "capacity_tpy": 8.0, "capex_musd": 50.0, "funded": True, "funded_probability": 1.0, "fid_year": 2026,
             "online_year": 2027, "fid_when": "2026 in every scenario", "online_when": "2027 in every scenario",
             "aid_musd": 7.25, "public_share": 0.145},
            {"project": "idle", "name": "idle plant", "region": "US", "status": "candidate", "output": "mag",
             "capacity_tpy": 3.0, "capex_musd": 20.0, "funded": False, "funded_probability": 0.0, "fid_year": None,
             "online_year": None, "fid_when": "never", "online_when": "never", "aid_musd": 0.0, "public_share": 0.0}],
            columns=R.PORTFOLIO.columns),
        aid=pd.DataFrame([{"project": "new", "fund": "G", "year": 2026, "node": "base", "probability": 1.0, "aid_musd": 5.0},
                          {"project": "new", "fund": "L", "year": 2026, "node": "base", "probability": 1.0,
                           "aid_musd": 2.25}], columns=R.AID.columns),
        funding=pd.DataFrame([
            {"fund": f, "year": y, "node": "base", "probability": 1.0, "instrument": "grant", "owner": "US",
             "budget_musd": 10.0, "aid_musd": (5.0 if f == "G" else 2.25) if y == 2026 else 0.0, "acquisitions_musd": 0.0,
             "budget_use_musd": (5.0 if f == "G" else 2.25) if y == 2026 else 0.0, "carry_in_musd": 0.0,
             "carry_out_musd": 0.0, "marginal_value": 0.0, "marginal_value_year": 0.0, "marginal_value_pv": 0.0}
            for f in ("G", "L") for y in YEARS], columns=R.FUNDING.columns),
        supply=supply,
        stockpiles=stock,
        stockpile_values=pd.DataFrame({"stockpile": ["SP"], "capacity_marginal_value_usd_per_t": [321.0]}),
        dependence=pd.DataFrame([{"scenario": s, "region": "US", "material": "mag", "year": y, "consumption_t": 10.0,
                                  "coalition_origin_t": 8.5, "ally_origin_t": 1.0, "partner_origin_t": 0.0,
                                  "concern_origin_t": 0.5, "concern_share": 0.05, "largest_origin": "X",
                                  "largest_origin_share": 0.1, "limit_concern_share": None,
                                  "limit_single_origin_share": None}
                                 for s in SCEN for y in YEARS], columns=R.DEPENDENCE.columns),
        scenarios=pd.DataFrame({"scenario": list(SCEN), "probability": list(SCEN.values()), "cost_musd": [110.0, 143.0],
                                "shortfall_t": [2.0, 2.0], "shortfall_cost_musd": [10.0, 10.0],
                                "path": ["base 2026–2027", "ban 2026–2027"], "options": ["", ""]}),
    )


@pytest.fixture
def case(make_case):
    sheets = minimal_sheets()
    sheets["Regions"][0].update({"name": "+United States", "source": "@SUM(A1)", "note": "=1+1"})
    sheets["Projects"][0]["note"] = "-2 plants"
    sheets["Scenarios"] = [{"scenario": s, "probability": p} for s, p in SCEN.items()]
    return load_case(make_case({"end_year": 2027, "case_name": "tiny"}, **sheets))


def records(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_every_sheet_is_written_with_its_header(case, tmp_path):
    out = write_result(tmp_path / "r.xlsx", case, hand_solution(), RunInfo(command="minplan solve case.xlsx"))
    wb = load_workbook(out)
    expected = ["Summary", *TABLE_SHEETS, "In_Settings", "In_Regions", "In_Projects", "Manifest", "ChartData"]
    assert [n for n in wb.sheetnames if n in expected] == expected
    assert all(len(n) <= 31 for n in wb.sheetnames)
    assert [c.value for c in wb["Summary"][1]] == ["section", "item", "value", "unit"]
    assert [c.value for c in wb["Manifest"][1]] == ["key", "value"]
    for name, cols in report.COLUMNS.items():
        header = [c.value for c in wb[name.capitalize()][1]]
        assert header[: len(cols)] == cols, name
    for name in [*TABLE_SHEETS, "Summary", "Manifest", "In_Projects"]:
        assert wb[name].freeze_panes == "A2"
        assert wb[name]["A1"].font.b


def test_values_round_trip(case, tmp_path):
    sol = hand_solution()
    wb = load_workbook(write_result(tmp_path / "r.xlsx", case, sol))
    port = records(wb["Portfolio"])
    assert [r["project"] for r in port] == ["new", "idle"]  # funded first
    assert port[0]["aid_G_musd"] == 5.0 and port[0]["aid_L_musd"] == 2.25 and port[1]["aid_G_musd"] == 0
    assert port[1]["fid_year"] is None
    supply = pd.DataFrame(records(wb["Supply"]))
    pd.testing.assert_frame_equal(supply, sol.supply, check_dtype=False)
    stock = records(wb["Stockpiles"])
    assert {r["capacity_marginal_value_usd_per_t"] for r in stock} == {321.0}
    assert sum(r["budget_use_musd"] for r in records(wb["Funding"])) == pytest.approx(7.25)
    summary = {(r["section"], r["item"]): r["value"] for r in records(wb["Summary"])}
    assert summary[("outcome", "objective")] == pytest.approx(123.456)
    assert summary[("objective breakdown", "total")] == pytest.approx(123.456)
    assert summary[("kpi", "EVPI")] == 4.5
    assert summary[("case", "name")] == "tiny"
    assert _cell(wb["Funding"], "carry_in_musd").number_format == "#,##0.00"
    assert _cell(wb["Portfolio"], "public_share").number_format == "0.0%"


def _cell(ws, column: str):
    """The first data cell of the column with this header."""
    header = [c.value for c in ws[1]]
    return ws.cell(row=2, column=header.index(column) + 1)


def test_inputs_carry_source_and_note_beside_each_row(case, tmp_path):
    wb = load_workbook(write_result(tmp_path / "r.xlsx", case, hand_solution()))
    regions = records(wb["In_Regions"])
    assert regions == [{"region": "US", "name": "+United States", "bloc": "ally", "member": True, "source": "@SUM(A1)",
                        "note": "=1+1", "from_file": "case.xlsx", "from_row": 2}]
    settings = {r["key"]: r["value"] for r in records(wb["In_Settings"])}
    assert settings["end_year"] == 2027 and settings["discount_rate"] == 0.05
    scen = records(wb["In_Scenarios"])
    assert [(r["scenario"], r["probability"]) for r in scen] == list(SCEN.items())


def test_text_from_input_is_never_a_formula(case, tmp_path):
    wb = load_workbook(write_result(tmp_path / "r.xlsx", case, hand_solution()))
    cells = [wb["In_Regions"]["B2"], wb["In_Regions"]["E2"], wb["In_Regions"]["F2"], wb["Portfolio"]["B2"]]
    assert [c.value for c in cells] == ["+United States", "@SUM(A1)", "=1+1", "=HYPERLINK(\"http://x\")"]
    assert all(c.data_type == "s" for c in cells)
    projects = records(wb["In_Projects"])
    assert projects[0]["note"] == "-2 plants"


def test_charts_are_native_and_on_the_dashboard(case, tmp_path):
    wb = load_workbook(write_result(tmp_path / "r.xlsx", case, hand_solution()))
    assert wb.sheetnames[:2] == ["Summary", "Dashboard"]
    assert not any(wb[name]._charts for name in TABLE_SHEETS)  # the data sheets stay plain tables
    titles = [r["value"] for r in records(wb["Summary"]) if r["section"] == "chart"]
    assert len(wb["Dashboard"]._charts) == len(titles) >= 3
    data = [r for r in wb["ChartData"].iter_rows(values_only=True)]
    assert data[0][0] == "Budget use by fund, USD m"
    assert data[1][:3] == ("year", "G", "L") and data[2][:3] == (2026, 5.0, 2.25)
    # expected inventory: 0.6 * 2.0 + 0.4 * 0.5
    inv = next(i for i, r in enumerate(data) if r[0] and str(r[0]).startswith("Stockpile inventory"))
    assert data[inv + 2][1] == pytest.approx(1.4)
    wide = wb["In_Projects"]  # more than 20 columns: two pages across, so the numbers stay legible
    assert wide.page_setup.fitToWidth == -(-wide.max_column // sheets.COLUMNS_PER_PAGE) == 2
    for ws in (wb["Supply"], wb["Summary"], wb["Funding"]):  # prints readably: landscape, one page wide, header repeated
        assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0  # 1 is the default, left out
        assert ws.print_title_rows in ("1:1", "$1:$1") and ws.auto_filter.ref.startswith("A1:")


def test_manifest_records_what_produced_the_workbook(case, tmp_path):
    run = RunInfo(command="minplan solve case.xlsx --threads 1", overrides={"threads": 1})
    wb = load_workbook(write_result(tmp_path / "r.xlsx", case, hand_solution(), run))
    m = {r["key"]: r["value"] for r in records(wb["Manifest"])}
    digest = hashlib.sha256(case.path.read_bytes()).hexdigest()
    assert m["case_sha256"] == digest and m["file_1_sha256"] == digest
    assert m["case_path"] == str(case.path)
    assert m["minplan_result_version"] == report.RESULT_VERSION
    for key in ("minplan_version", "pyomo_version", "highspy_version", "python_version", "started_utc"):
        assert m[key] and m[key] != "not installed", key
    assert m["command_line"] == run.command and m["override.threads"] == 1 and m["option.mip_rel_gap"] == 1e-4
    assert m["started_utc"].endswith("+00:00") and m["duration_s"] >= 0


def test_inherited_case_lists_every_file_in_the_chain(make_case, tmp_path):
    base = make_case({"end_year": 2027}, name="base.xlsx", **minimal_sheets())
    top = load_case(make_case({"base_case": base.name, "case_name": "variant"}, name="variant.xlsx"))
    wb = load_workbook(write_result(tmp_path / "r.xlsx", top, hand_solution()))
    m = {r["key"]: r["value"] for r in records(wb["Manifest"])}
    assert m["file_2_sha256"] == hashlib.sha256(base.read_bytes()).hexdigest()
    assert m["case_sha256"] == hashlib.sha256(top.path.read_bytes()).hexdigest()
    assert records(wb["In_Regions"])[0]["from_file"] == "base.xlsx"


def test_time_limit_plan_says_it_is_not_proven_optimal(case, tmp_path):
    wb = load_workbook(write_result(tmp_path / "r.xlsx", case, hand_solution(TIME_LIMIT_FEASIBLE)))
    summary = {(r["section"], r["item"]): r["value"] for r in records(wb["Summary"])}
    assert summary[("outcome", "proven optimal")].startswith("NO: the time limit")
    assert "2.79%" in summary[("outcome", "proven optimal")]


def test_too_many_rows_continue_on_more_sheets(case, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "MAX_ROWS", 3)  # header + 2 records per sheet: Supply's 4 rows need 2 sheets
    wb = load_workbook(write_result(tmp_path / "r.xlsx", case, hand_solution()))
    assert "Supply_2" in wb.sheetnames and "Supply_3" not in wb.sheetnames
    assert len(records(wb["Supply"])) == 2 and len(records(wb["Supply_2"])) == 2
    assert "rows 3 to 4 are on Supply_2" in wb["Supply_2"]["A1"].comment.text
    m = {r["key"]: r["value"] for r in records(wb["Manifest"])}
    assert m["split.Supply"] == "Supply, Supply_2"


def test_empty_tables_keep_their_headers(case, tmp_path):
    sol = Solution(status=OPTIMAL, objective=0.0, gap=0.0)
    wb = load_workbook(write_result(tmp_path / "r.xlsx", case, sol))
    assert [c.value for c in wb["Dependence"][1]] == report.COLUMNS["dependence"]
    assert wb["Funding"].max_row == 1 and not wb["Funding"]._charts


def test_failed_write_leaves_no_file_and_no_temp(case, tmp_path, monkeypatch):
    out = tmp_path / "r.xlsx"

    def broken_save(self, filename):
        with open(filename, "wb") as f:
            f.write(b"PK half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(report.sheets.Book, "save", broken_save)
    with pytest.raises(RunError, match="disk full; nothing was written"):
        write_result(out, case, hand_solution())
    assert os.listdir(tmp_path) == ["case.xlsx"]


def test_failed_write_keeps_the_previous_result(case, tmp_path, monkeypatch):
    out = tmp_path / "r.xlsx"
    out.write_bytes(b"previous")
    monkeypatch.setattr(outfile.os, "replace", lambda a, b: (_ for _ in ()).throw(PermissionError("locked")))
    with pytest.raises(RunError, match="open in another program"):
        write_result(out, case, hand_solution(), force=True)
    assert out.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["case.xlsx", "r.xlsx"]


def test_refuses_to_write_over_the_case_or_an_existing_result(case, tmp_path):
    before = case.path.read_bytes()
    with pytest.raises(RunError, match="input of the case"):
        write_result(case.path, case, hand_solution(), force=True)
    assert case.path.read_bytes() == before
    out = tmp_path / "r.xlsx"
    out.write_bytes(b"keep me")
    with pytest.raises(RunError, match="already exists"):
        write_result(out, case, hand_solution())
    assert out.read_bytes() == b"keep me"


def test_result_file_is_readable_as_the_umask_allows(case, tmp_path):
    umask = os.umask(0o022)
    try:
        out = write_result(tmp_path / "r.xlsx", case, hand_solution())
    finally:
        os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o644  # not the owner-only 0o600 of a plain temporary file


def test_read_only_folder_is_refused_with_a_plain_message(case, tmp_path, monkeypatch):
    def denied(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outfile.tempfile, "mkstemp", denied)
    with pytest.raises(RunError, match="read-only or you lack permission"):
        outfile.check_output(tmp_path / "r.xlsx", case.files)


def test_formula_like_text_and_odd_values_are_made_safe():
    assert outfile.safe_value(float("nan")) is None and outfile.safe_value(float("inf")) is None
    assert outfile.safe_value(("US", "EU")) == "US, EU"
    assert outfile.safe_value("bell\x07") == "bell"
    assert [outfile.is_formula_like(t) for t in ("=A1", "+1", "-x", "@f", "ok")] == [True] * 4 + [False]
    assert outfile.file_name("base: ban/2030") == "base_ ban_2030"


def test_many_funds_are_lumped_so_stacked_totals_stay_right(case, tmp_path):
    sol = hand_solution()
    funds = [f"F{i:02d}" for i in range(15)]
    sol.funding = pd.DataFrame([{"fund": f, "year": 2026, "budget_use_musd": float(i + 1)} for i, f in enumerate(funds)])
    wb = load_workbook(write_result(tmp_path / "r.xlsx", case, sol))
    data = list(wb["ChartData"].iter_rows(values_only=True))
    assert data[0][0] == "Budget use by fund, USD m (6 smaller ones as 'other')"
    header, values = data[1], data[2]
    assert header[-1] == "other" and len([h for h in header if h]) == 1 + report.charts.MAX_SERIES
    assert sum(v for v in values[1:] if v is not None) == pytest.approx(sum(range(1, 16)))
    assert values[-1] == pytest.approx(sum(range(1, 7)))


def test_every_declared_result_table_is_a_solution_table():
    """model/tables.py declares what a Solution holds: a table declared there and missing here would never be filled."""
    import dataclasses

    from model.solution import Solution
    from model.tables import TABLES

    fields = {f.name for f in dataclasses.fields(Solution)}
    assert [t.name for t in TABLES if t.name not in fields] == []
    assert len({t.sheet for t in TABLES if t.sheet}) == len([t for t in TABLES if t.sheet])


def test_long_tables_also_go_to_parquet_beside_the_workbook(case, tmp_path, monkeypatch):
    """Past PARQUET_ROWS a table is also written as Parquet (analysts need not wait on Excel), and the sheet says so."""
    monkeypatch.setattr(report, "PARQUET_ROWS", 3)  # Supply's 4 rows count as long here
    sol = hand_solution()
    out = write_result(tmp_path / "r.xlsx", case, sol)
    pq = tmp_path / "r_Supply.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(pq), sol.supply, check_dtype=False)
    assert len(sol.scenarios) < 3 and not (tmp_path / "r_Scenarios.parquet").exists()  # short: the workbook is enough
    wb = load_workbook(out)
    assert "r_Supply.parquet" in wb["Supply"]["A1"].comment.text
    summary = {(r["section"], r["item"]): r["value"] for r in records(wb["Summary"])}
    assert summary[("note", "supply as Parquet")] == str(pq)
