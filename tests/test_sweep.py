"""`minplan sweep`: the --vary grammar, variants built in memory, parallel solves equal to separate ones."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import cli
from model.case.load import load_case
from model.problems import RunError
from model.results.read import read_result
from model.solve.solver import solve_case
from model.sweep.book import frontier, point_labels
from model.sweep.engine import run_sweep
from model.sweep.vary import apply_variant, parse_varies, plan, variants
from model.workbook.outfile import TEMP_PREFIX

YEARS = (2026, 2027, 2028)
SETTINGS = {"start_year": 2026, "end_year": 2028, "case_name": "grant"}


def grant_case(budget: float = 3.0, capacity_t: float = 10.0) -> dict:
    """Demand 10 t a year for three years; one candidate plant of 10 t/yr, capex 10 USD m, online at once, that goes
    ahead only with 5 USD m of grant (min_public_share 0.5) in its FID year; the grant fund has `budget` a year and
    no carry-over. Shortfall costs 1,000,000 USD/t, so the plant pays whenever the budget allows it:

    - budget 3: 5 USD m never fits in one year: nothing is funded, shortfall 30 t, public spend 0;
    - budget 6: the plant is funded in 2026 with 5 USD m of aid, no shortfall.

    A stockpile holds 4 t (capacity `capacity_t`); capacity 2 < initial 4 leaves no feasible plan.
    """
    return {
        "Regions": [{"region": "US", "bloc": "ally", "member": "Y"}],
        "Materials": [{"material": "mag", "stage": "magnet", "price_usd_per_t": 1000,
                       "shortfall_penalty_usd_per_t": 1_000_000}],
        "Demand": [{"region": "US", "material": "mag", "year": y, "demand_t": 10} for y in YEARS],
        "Projects": [{"project": "plant", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": 10,
                      "capex_musd": 10, "lead_time_yr": 0, "min_public_share": 0.5}],
        "Funds": [{"fund": "vault", "owner": "US", "instrument": "grant"},
                  {"fund": "other", "owner": "US", "instrument": "grant"}],
        "Budgets": [{"fund": f, "year": y, "budget_musd": budget if f == "vault" else 0.0}
                    for f in ("vault", "other") for y in YEARS],
        "Stockpiles": [{"stockpile": "sp", "owner": "US", "location": "US", "material": "mag", "initial_t": 4,
                        "capacity_t": capacity_t}],
    }


@pytest.fixture
def case(make_case):
    return load_case(make_case(SETTINGS, **grant_case()))


@pytest.mark.parametrize("vary, words", [
    ("Budget.budget_musd=1", ["no sheet 'Budget'", "did you mean 'Budgets'", "Settings, Regions"]),
    ("Budgets.budget=1", ["Budgets has no column 'budget'", "its columns are fund, year, budget_musd"]),
    ("Budgets.budget_musd[owner=US]*=2", ["no column 'owner' to filter on", "its columns are fund, year, budget_musd"]),
    ("Budgets.budget_musd[fund=valt]*=2", ["no Budgets row has fund = valt", "did you mean 'vault'",
                                            "fund values present: other, vault"]),
    ("Budgets.budget_musd[year=2040]*=2", ["no Budgets row has year = 2040", "year values present: 2026, 2027, 2028"]),
    ("Projects.status*=2", ["Projects.status holds one of candidate, committed, existing", "cannot be multiplied"]),
    ("Budgets.budget_musd*=half", ["multiplier 'half' is not a number"]),
    ("Budgets.budget_musd=lots", ["'lots' cannot go in Budgets.budget_musd", "expected a number"]),
    ("Budgets.fund=vault", ["part of the sheet's key (fund, year)"]),
    ("Settings.end_year=2030", ["cannot be varied in a sweep", "risk_weight"]),
    ("Settings.riskweight=0,1", ["no setting 'riskweight'", "did you mean 'risk_weight'"]),
    ("Projects.min_public_share*=3", ["variant v01 makes Projects.min_public_share (case.xlsx row 2) 1.5", "at most 1"]),
    ("Projects.region=XX", ["'XX' is not on the Regions sheet; known: US"]),
    ("budgets budget_musd x2", ["cannot read it", "SHEET.COLUMN[FILTER]=V1,V2"]),
])
def test_bad_vary_target_names_what_exists(case, vary, words):
    with pytest.raises(RunError) as err:
        plan(case, [vary])
    for w in words:
        assert w in str(err.value)


def test_bad_vary_stops_the_cli_before_any_solve(make_case, tmp_path):
    path = make_case(SETTINGS, **grant_case())
    out = tmp_path / "sweep"
    done = CliRunner().invoke(cli.main, ["sweep", str(path), "--vary", "Budgets.budget_musd[fund=valt]*=0.5,2", "-o", str(out)])
    assert done.exit_code == 1
    assert "fund values present: other, vault" in done.output
    assert not out.exists()


def test_variant_changes_only_filtered_rows_and_leaves_the_case_and_file_untouched(case, make_case):
    before = hashlib.sha256(case.path.read_bytes()).hexdigest()
    varies = parse_varies(["Budgets.budget_musd[fund=vault,year=2026|2027]*=0.5,2", "Settings.risk_weight=0,0.5"], case)
    points = variants(varies)
    assert [p.vid for p in points] == ["v01", "v02", "v03", "v04"]
    assert [p.values for p in points] == [(0.5, 0.0), (0.5, 0.5), (2.0, 0.0), (2.0, 0.5)]  # first --vary slowest
    v = apply_variant(case, varies, points[3])
    budgets = {(r.fund, r.year): r.budget_musd for r in v.tables["Budgets"].itertuples()}
    assert budgets[("vault", 2026)] == budgets[("vault", 2027)] == 6.0
    assert budgets[("vault", 2028)] == 3.0 and budgets[("other", 2026)] == 0.0
    assert v.settings["risk_weight"] == 0.5 and v.name == "grant_v04"
    assert set(case.tables["Budgets"]["budget_musd"]) == {3.0, 0.0} and case.settings["risk_weight"] == 0.0
    assert v.tables["Projects"] is case.tables["Projects"]  # sheets not varied are shared, not copied
    assert hashlib.sha256(case.path.read_bytes()).hexdigest() == before


def test_two_variant_sweep_equals_two_separate_solves(case, make_case, tmp_path):
    """Budget ×1 and ×2 solved in two worker processes give what two hand-written cases give solved one by one."""
    out = run_sweep(case, ["Budgets.budget_musd[fund=vault]*=1,2"], tmp_path / "sw", jobs=2)
    varied = list(load_workbook(out.workbook, read_only=True)["Varied"].iter_rows(values_only=True))
    assert dict(zip(varied[0], varied[1]))["rows_changed"] == 3  # the vault's three years, not the other fund's
    assert not out.interrupted and [r["variant"] for r in out.rows] == ["v01", "v02"]
    for row, budget in zip(out.rows, (3.0, 6.0)):
        alone = solve_case(load_case(make_case(SETTINGS, name=f"alone{budget}.xlsx", **grant_case(budget))))
        assert row["status"] == alone.status == "optimal"
        assert row["objective_musd"] == pytest.approx(alone.objective, rel=1e-9)
        book = read_result(out.out_dir / row["result_file"])
        portfolio = book.tables["Portfolio"]
        swept = sorted(zip(portfolio["project"], portfolio["funded"], portfolio["fid_year"].map(lambda y: y or None)))
        solo = sorted(zip(alone.portfolio["project"], alone.portfolio["funded"],
                          alone.portfolio["fid_year"].map(lambda y: None if pd.isna(y) else int(y))))
        assert swept == solo
    assert [r["projects_funded"] for r in out.rows] == [0, 1]
    assert out.rows[0]["expected_shortfall_t"] == pytest.approx(30.0)
    assert out.rows[1]["public_spend_musd"] == pytest.approx(5.0)


def test_results_do_not_depend_on_the_number_of_workers(case, tmp_path):
    one = run_sweep(case, ["Budgets.budget_musd[fund=vault]*=1,2", "Materials.shortfall_penalty_usd_per_t*=0.001,1"],
                    tmp_path / "j1", jobs=1)
    two = run_sweep(case, ["Budgets.budget_musd[fund=vault]*=1,2", "Materials.shortfall_penalty_usd_per_t*=0.001,1"],
                    tmp_path / "j2", jobs=2)
    keys = ("variant", "status", "objective_musd", "public_spend_musd", "expected_shortfall_t", "projects_funded")
    assert {r["status"] for r in one.rows} == {"optimal"}
    assert [tuple(r[k] for k in keys) for r in one.rows] == [tuple(r[k] for k in keys) for r in two.rows]


def test_variant_that_breaks_a_rule_is_a_row_and_the_others_finish(case, tmp_path):
    """capacity_t 2 below initial_t 4 is refused by validation, exactly as the same edit in the file would be."""
    out = run_sweep(case, ["Stockpiles.capacity_t=10,2,20"], tmp_path / "sw", jobs=2)
    status = {r["variant"]: r["status"] for r in out.rows}
    assert status == {"v01": "optimal", "v02": "invalid", "v03": "optimal"}
    bad = out.rows[1]
    assert bad["reason"] == ("error: case.xlsx: Stockpiles!E2: initial_t is above capacity_t (found '4'; expected at most 2)"
                             " (in the variant Stockpiles.capacity_t=2)") and bad["result_file"] is None
    files = sorted(p.name for p in out.out_dir.iterdir())
    assert files == ["grant_frontier.png", "grant_sweep.xlsx", "grant_v01.xlsx", "grant_v03.xlsx"]
    wb = load_workbook(out.workbook, read_only=True)
    rows = list(wb["Sweep"].iter_rows(values_only=True))
    header = rows[0]
    table = [dict(zip(header, r)) for r in rows[1:]]
    assert [r["status"] for r in table] == ["optimal", "invalid", "optimal"]
    assert table[1]["Stockpiles.capacity_t"] == 2
    varied = list(wb["Varied"].iter_rows(values_only=True))
    assert dict(zip(varied[0], varied[1]))["rows_changed"] == 1
    assert out.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_interrupt_keeps_the_finished_rows(case, tmp_path):
    """Ctrl-C (here raised by the progress display after the first finished variant) stops the workers;
    the sweep workbook keeps what finished and says it was interrupted."""
    def progress(row, finished, planned):
        raise KeyboardInterrupt

    out = run_sweep(case, ["Budgets.budget_musd[fund=vault]*=1,2,3,4"], tmp_path / "sw", jobs=2, progress=progress)
    assert out.interrupted and 1 <= len(out.rows) < out.planned == 4
    wb = load_workbook(out.workbook, read_only=True)
    manifest = {r[0]: r[1] for r in wb["Manifest"].iter_rows(min_row=2, values_only=True)}
    assert manifest["interrupted"] == "yes" and manifest["variants_finished"] == len(out.rows)
    assert not list(out.out_dir.glob(f"{TEMP_PREFIX}*"))


def test_sweep_refuses_to_replace_an_earlier_sweep_without_force(case, tmp_path):
    run_sweep(case, ["Settings.mcpf=0.2"], tmp_path / "sw", jobs=1)
    with pytest.raises(RunError, match="already exists; add --force"):
        run_sweep(case, ["Settings.mcpf=0.2"], tmp_path / "sw", jobs=1)
    again = run_sweep(case, ["Settings.mcpf=0.2"], tmp_path / "sw", jobs=1, force=True)
    assert again.rows[0]["status"] == "optimal"


def test_frontier_keeps_the_points_no_other_beats_on_both():
    pts = [(0.0, 30.0, "v01"), (0.0, 30.0, "v02"), (5.0, 0.0, "v03"), (7.0, 0.0, "v04"), (2.0, 40.0, "v05"), (3.0, 10.0, "v06")]
    assert [p[2] for p in frontier(pts)] == ["v01", "v06", "v03"]
    assert sorted(p[2] for p in point_labels(pts)) == ["v01, v02", "v03", "v04", "v05", "v06"]


def test_frontier_sheet_labels_points_by_their_varied_values(case, tmp_path):
    """The sweep workbook draws the frontier natively, each point named by what was varied, not by v01…."""
    import re
    import zipfile

    out = run_sweep(case, ["Stockpiles.capacity_t=10,2,20"], tmp_path / "sw", jobs=1)
    wb = load_workbook(out.workbook)
    assert wb.sheetnames == ["Sweep", "Frontier", "Varied", "Manifest"]
    rows = list(wb["Frontier"].iter_rows(values_only=True))
    labels = sorted(r[0] for r in rows[1:])
    assert labels == ["10, 20"]  # v02 (capacity 2) has no plan; v01 and v03 land on one spot and share its label
    with zipfile.ZipFile(out.workbook) as z:
        xml = z.read("xl/charts/chart1.xml").decode()
    assert re.findall(r"<a:t>([^<]*)</a:t>", xml).count("10, 20") == 1 and '<c:smooth val="1"/>' not in xml


def test_progress_bar_counts_and_time_left():
    import io

    from model.run import ProgressBar, bar_text

    assert bar_text("sweep", 2, 8, 10.0, "v02 optimal", width=8) == "sweep [##......] 2/8  10 s, about 30 s left  v02 optimal"
    assert bar_text("sweep", 8, 8, 40.0, width=4) == "sweep [####] 8/8  40 s"
    log = io.StringIO()
    bar = ProgressBar("sweep", 3, stream=log, tty=False)
    bar.update(1, "v01 optimal")
    bar.update(3, "v03 optimal")
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].endswith("sweep [] 1/3  0 s, about 0 s left  v01 optimal")
    term = io.StringIO()
    bar = ProgressBar("sweep", 2, stream=term, tty=True)
    bar.update(1)
    bar.update(2)
    assert term.getvalue().count("\r") == 2 and term.getvalue().endswith("\n")
