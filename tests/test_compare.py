"""`minplan compare`: side-by-side KPIs with differences, portfolio diff, provenance warnings, refusals."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

import cli
from model.case.load import load_case
from model.results.compare import compare_results, difference
from model.results.comparebook import GREEN, write_comparison
from model.results.read import read_result, read_results
from model.results.write import write_result
from model.solve.solver import solve_case
from tests.test_sweep import SETTINGS, grant_case


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Result workbooks of the grant case (tests/test_sweep.grant_case) with budget 3 (nothing funded, 30 t short)
    and budget 6 (plant funded in 2026 with 5 USD m of aid), and of a one-year-longer horizon."""
    from model.case.writer import write_case

    folder = tmp_path_factory.mktemp("runs")
    out = {}
    for name, budget, end in (("base", 3.0, 2028), ("doubled", 6.0, 2028), ("longer", 6.0, 2029)):
        sheets = grant_case(budget)
        if end == 2029:
            sheets["Demand"].append({"region": "US", "material": "mag", "year": 2029, "demand_t": 10})
            sheets["Budgets"] += [{"fund": f, "year": 2029, "budget_musd": budget} for f in ("vault", "other")]
        case = load_case(write_case(folder / f"{name}_case.xlsx", {**SETTINGS, "end_year": end, "case_name": name}, sheets))
        solution = solve_case(case)
        assert solution.status == "optimal"
        out[name] = write_result(folder / f"{name}.xlsx", case, solution)
    return out


def kpi(cmp, group: str, item: str) -> dict:
    rows = cmp.kpis[(cmp.kpis["group"] == group) & (cmp.kpis["item"] == item)]
    assert len(rows) == 1, (group, item)
    return rows.iloc[0].to_dict()


def test_a_run_compared_with_itself_shows_no_difference(runs):
    cmp = compare_results(read_results([runs["doubled"], runs["doubled"]]))
    diffs = [c for c in cmp.kpis.columns if c.endswith(" − 1:doubled")]
    assert diffs == ["2:doubled − 1:doubled"]
    values = cmp.kpis[diffs[0]].tolist()
    assert values and all(v in (0.0, "same") for v in values)
    assert (cmp.portfolio["differs"] == "").all()
    assert cmp.warnings == [] and cmp.notes == []


def test_doubled_budget_funds_the_plant_and_ends_the_shortfall(runs, tmp_path):
    """Predicted in grant_case's docstring: with budget 6 the plant is funded in 2026 with 5 USD m of aid, the 30 t
    of shortfall disappear, and the optimum cannot rise when a budget grows."""
    cmp = compare_results(read_results([runs["base"], runs["doubled"]]))
    short = kpi(cmp, "expected shortfall by material", "mag")
    assert short["base"] == pytest.approx(30.0) and short["doubled"] == pytest.approx(0.0)
    assert short["doubled − base"] == pytest.approx(-30.0) and short["doubled Δ%"] == pytest.approx(-1.0)
    spend = kpi(cmp, "public spend by fund", "vault")
    assert spend["doubled − base"] == pytest.approx(5.0) and spend["doubled Δ%"] is None  # from zero: no percent
    assert kpi(cmp, "public spend by fund", "other")["doubled − base"] == 0.0
    objective = kpi(cmp, "outcome", "objective")
    assert objective["doubled − base"] < 0
    assert objective["doubled Δ%"] == pytest.approx(objective["doubled − base"] / objective["base"])
    plant = cmp.portfolio.set_index("project").loc["plant"]
    assert not plant["base funded"] and plant["doubled funded"]
    assert plant["doubled fid_year"] == 2026 and plant["doubled aid_musd"] == pytest.approx(5.0)
    assert plant["differs"] == "doubled"

    out = write_comparison(tmp_path / "cmp.xlsx", cmp, [runs["base"], runs["doubled"]], "test")
    wb = load_workbook(out)
    assert wb.sheetnames == ["KPIs", "Portfolio", "Funding", "Stockpiles", "Supply", "Runs", "Manifest"]
    ws = wb["Portfolio"]
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("doubled funded") + 1)
    assert cell.value is True and cell.fill.fgColor.rgb.endswith(GREEN[-6:])
    assert ws.cell(row=2, column=header.index("base funded") + 1).fill.fill_type is None
    assert len(wb["Funding"]._charts) == 1 and len(wb["Supply"]._charts) == 1
    funding = [dict(zip([c.value for c in wb["Funding"][1]], [c.value for c in r])) for r in wb["Funding"].iter_rows(min_row=2)]
    assert [r["all funds | doubled"] for r in funding] == pytest.approx([5.0, 0.0, 0.0])


def test_different_horizons_and_base_data_still_compare_and_say_so(runs):
    cmp = compare_results(read_results([runs["doubled"], runs["longer"]]))
    assert any("different horizons (doubled 2026-2028, longer 2026-2029)" in n for n in cmp.notes)
    assert any("different base data" in w for w in cmp.warnings)
    funding = cmp.series["Funding"].set_index("year")
    assert list(funding.index) == [2026, 2027, 2028, 2029]
    assert pd.isna(funding.loc[2029, "all funds | doubled"])  # not in that run's horizon
    assert funding.loc[2029, "all funds | longer"] == 0.0


def test_different_minplan_versions_are_warned(runs):
    books = read_results([runs["base"], runs["doubled"]])
    books[1].manifest["minplan_version"] = "9.9.9"
    assert any("different minplan versions (base 0.1.0, doubled 9.9.9)" in w.replace(books[0].version, "0.1.0")
               for w in compare_results(books).warnings)


def test_difference_is_absolute_and_relative_to_the_first_run():
    assert difference(10.0, 12.5) == (2.5, 0.25)
    assert difference(-4.0, -2.0) == (2.0, 0.5)
    assert difference(0.0, 0.0) == (0.0, 0.0)
    assert difference(1.0, 1.0 + 1e-12) == (0.0, 0.0)
    assert difference(None, 3.0) == (None, None)


def test_cli_prints_the_kpi_table_and_writes_the_workbook(runs, tmp_path):
    out = tmp_path / "cmp.xlsx"
    done = CliRunner().invoke(cli.main, ["compare", str(runs["base"]), str(runs["doubled"]), "-o", str(out)])
    assert done.exit_code == 0, done.output
    line = next(x for x in done.output.splitlines() if x.startswith("expected shortfall by material: mag"))
    assert line.split()[-4:] == ["30", "0", "-30", "-100.0%"]  # whole tonnes print as integers
    manifest = {r[0]: r[1] for r in load_workbook(out)["Manifest"].iter_rows(min_row=2, values_only=True)}
    assert manifest["minplan_compare_version"] == "1" and manifest["run_2_case_name"] == "doubled"
    again = CliRunner().invoke(cli.main, ["compare", str(runs["base"]), str(out)])
    assert again.exit_code == 1 and "is a comparison workbook, not a result workbook" in again.output


def test_compare_never_writes_over_an_input(runs):
    before = runs["base"].read_bytes()
    done = CliRunner().invoke(cli.main, ["compare", str(runs["base"]), str(runs["doubled"]), "-o", str(runs["base"]),
                                         "--force"])
    assert done.exit_code == 1 and "refusing to write" in done.output
    assert runs["base"].read_bytes() == before


@pytest.mark.parametrize("kind, code, words", [
    ("case", 1, "is a case workbook, not a result workbook: solve it first with 'minplan solve"),
    ("other", 1, "is not a minplan result workbook: it has no Manifest sheet with a minplan_result_version (its sheets"),
    ("csv", 2, "CSV text file; minplan reads .xlsx workbooks"),
    ("missing", 2, "file not found"),
])
def test_a_file_that_is_not_a_result_gets_a_clear_message(runs, make_case, tmp_path, kind, code, words):
    if kind == "case":
        bad = make_case(SETTINGS, **grant_case())
    elif kind == "other":
        wb = Workbook()
        wb.active.title = "Data"
        wb.active.append(["a", "b"])
        bad = tmp_path / "other.xlsx"
        wb.save(bad)
    elif kind == "csv":
        bad = tmp_path / "table.csv"
        bad.write_text("a,b\n1,2\n")
    else:
        bad = tmp_path / "nowhere.xlsx"
    done = CliRunner().invoke(cli.main, ["compare", str(runs["base"]), str(bad), "-o", str(tmp_path / "cmp.xlsx")])
    assert done.exit_code == code
    assert words in done.output and "nothing was compared" in done.output
    assert "Traceback" not in done.output and not (tmp_path / "cmp.xlsx").exists()


def test_result_reader_reads_back_the_manifest_and_tables(runs):
    book = read_result(runs["doubled"])
    assert book.manifest["minplan_result_version"] == "1" and book.case_name == "doubled"
    assert book.files()[0][0].endswith("doubled_case.xlsx") and len(book.files()[0][1]) == 64
    assert book.probabilities == {"base": 1.0}
    assert list(book.tables["Funding"]["year"].unique()) == [2026, 2027, 2028]


def test_console_table_fits_100_columns_with_integers_as_integers(runs):
    """Four runs side by side still fit a 100-column terminal; counts print without decimals."""
    import warnings

    from model.commands import kpi_text

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no library warning (pandas' PerformanceWarning) reaches the planner
        cmp = compare_results(read_results([runs["base"], runs["doubled"], runs["longer"], runs["base"]]))
    text = kpi_text(cmp)
    assert max(len(line) for line in text.splitlines()) <= 100
    funded = next(line for line in text.splitlines() if "projects funded" in line)
    assert re.search(r"projects funded\s+0\s+1\s+1\s+0(\s|$)", funded) and ".000" not in funded


def test_only_real_differences_are_shaded(runs, tmp_path):
    """A gap of 0.0% against 0.00001% (a Δ% of -100%) is no difference a reviewer should look at; 5 USD m is."""
    from model.results.compare import real_difference

    assert not real_difference(-1e-7, -1.0, "fraction") and real_difference(0.01, 0.5, "fraction")
    assert real_difference(5.0, None, "USD m") and not real_difference(0.0, 0.0, "USD m")
    assert not real_difference(1e-6, 1e-6, "USD m")
    cmp = compare_results(read_results([runs["base"], runs["doubled"]]))
    wb = load_workbook(write_comparison(tmp_path / "c.xlsx", cmp, [runs["base"], runs["doubled"]], "test"))
    ws = wb["KPIs"]
    header = [c.value for c in ws[1]]
    col = header.index("doubled − base") + 1
    shaded = {ws.cell(row=r, column=2).value for r in range(2, ws.max_row + 1)
              if ws.cell(row=r, column=col).fill.fill_type == "solid"}
    assert "vault" in shaded and "other" not in shaded and "relative gap" not in shaded
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
