"""`minplan solve`: writes the result, refuses unsafe outputs before solving, writes nothing without a plan."""

from __future__ import annotations

import hashlib
import math

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import cli
from model.solution import INFEASIBLE, TIME_LIMIT_FEASIBLE, TIME_LIMIT_NO_PLAN, Solution
from model.solve import solver as solve_module
from tests.conftest import minimal_sheets, run_cli
from tests.test_report import hand_solution, records

CRF_5PCT_20YR = 0.05 / (1 - 1.05**-20)


def worth_building() -> dict:
    """Demand 10 t, existing plant 6 t; a candidate of 10 t, capex 1 USD m, online at once.

    Building it costs capex x crf(5 %, 20 yr) = 0.0802 USD m in the single year; the 4 t it saves
    would cost 4 x 100,000 USD/t = 0.4 USD m of shortfall. So it is funded and the optimum is the
    capital charge alone.
    """
    sheets = minimal_sheets()
    sheets["Materials"][0]["shortfall_penalty_usd_per_t"] = 100_000
    sheets["Projects"][0]["capacity_tpy"] = 6
    sheets["Projects"].append({"project": "new", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": 10,
                               "capex_musd": 1, "lead_time_yr": 0})
    return sheets


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_solve_writes_the_result_and_exits_0(make_case, tmp_path):
    case = make_case({"case_name": "tiny"}, **worth_building())
    out = tmp_path / "res" / "tiny.xlsx"
    done = run_cli("solve", case, "-o", out)
    assert done.returncode == 0, done.stderr
    assert f"result: {out}" in done.stdout and "optimal" in done.stdout
    wb = load_workbook(out)
    summary = {(r["section"], r["item"]): r["value"] for r in records(wb["Summary"])}
    assert summary[("outcome", "status")] == "optimal"
    assert summary[("outcome", "objective")] == pytest.approx(CRF_5PCT_20YR, rel=1e-4)
    funded = [r["project"] for r in records(wb["Portfolio"]) if r["funded"]]
    assert funded == ["new"]
    manifest = {r["key"]: r["value"] for r in records(wb["Manifest"])}
    assert manifest["case_sha256"] == sha(case)
    assert manifest["command_line"].startswith("minplan solve ")
    assert [p.name for p in out.parent.iterdir()] == ["tiny.xlsx"]  # no temporary file left


def test_refuses_to_overwrite_without_force(make_case, tmp_path, monkeypatch):
    case = make_case({"end_year": 2027}, **minimal_sheets())
    out = tmp_path / "old.xlsx"
    out.write_bytes(b"an earlier result")
    done = run_cli("solve", case, "-o", out)
    assert done.returncode == 1
    assert "already exists" in done.stderr and "--force" in done.stderr
    assert out.read_bytes() == b"an earlier result"
    monkeypatch.setattr(solve_module, "solve_case", lambda c, o=None, p=None: hand_solution())
    result = invoke(case, "-o", out, "--force")
    assert result.exit_code == 0, result.output
    assert load_workbook(out)["Summary"]["A1"].value == "section"


def test_refuses_to_write_over_the_input(make_case):
    case = make_case(**minimal_sheets())
    before = sha(case)
    done = run_cli("solve", case, "-o", case, "--force")
    assert done.returncode == 1
    assert "input of the case" in done.stderr
    assert sha(case) == before


# ---- in process, with solve_case replaced: outcomes the tiny cases cannot produce


def invoke(*args: str):
    return CliRunner().invoke(cli.main, ["solve", *map(str, args)])


def test_infeasible_case_exits_1_and_writes_nothing(make_case, tmp_path, monkeypatch):
    case = make_case(**minimal_sheets())
    monkeypatch.setattr(solve_module, "solve_case",
                        lambda c, o=None, p=None: Solution(INFEASIBLE, "budgets cannot cover the committed projects"))
    result = invoke(case, "-o", tmp_path / "out" / "r.xlsx")
    assert result.exit_code == 1
    assert "the case is infeasible" in result.stderr and "No result workbook was written" in result.stderr
    assert "budgets cannot cover" in result.stderr
    assert not (tmp_path / "out").exists()  # not even the folder


def test_time_limit_without_plan_says_so(make_case, tmp_path, monkeypatch):
    case = make_case(**minimal_sheets())
    monkeypatch.setattr(solve_module, "solve_case", lambda c, o=None, p=None: Solution(TIME_LIMIT_NO_PLAN))
    result = invoke(case, "-o", tmp_path / "r.xlsx", "--time-limit", "5")
    assert result.exit_code == 1
    assert "time limit (5 s) ran out before any plan" in result.stderr
    assert not (tmp_path / "r.xlsx").exists()


def test_time_limit_with_plan_writes_and_warns(make_case, tmp_path, monkeypatch):
    case = make_case({"end_year": 2027}, **minimal_sheets())
    monkeypatch.setattr(solve_module, "solve_case", lambda c, o=None, p=None: hand_solution(TIME_LIMIT_FEASIBLE))
    result = invoke(case, "-o", tmp_path / "r.xlsx")
    assert result.exit_code == 0, result.output
    assert "NOT PROVEN OPTIMAL" in result.stdout and "2.79%" in result.stdout
    summary = {(r["section"], r["item"]): r["value"] for r in records(load_workbook(tmp_path / "r.xlsx")["Summary"])}
    assert summary[("outcome", "status")] == TIME_LIMIT_FEASIBLE


def test_output_is_checked_before_solving(make_case, tmp_path, monkeypatch):
    case = make_case(**minimal_sheets())
    (tmp_path / "r.xlsx").write_bytes(b"x")

    def must_not_run(*_a, **_k):
        raise AssertionError("solved although the output was refused")

    monkeypatch.setattr(solve_module, "solve_case", must_not_run)
    for target in (tmp_path / "r.xlsx", case, tmp_path / "r.csv"):
        result = invoke(case, "-o", target)
        assert result.exit_code == 1 and "internal error" not in result.stderr, result.stderr


def test_solver_options_on_the_command_line_override_settings(make_case, tmp_path, monkeypatch):
    case = make_case({"end_year": 2027}, **minimal_sheets())
    seen = {}

    def fake(c, options=None, progress=None):
        seen.update(options or {})
        progress("solving")
        return hand_solution()

    monkeypatch.setattr(solve_module, "solve_case", fake)
    result = invoke(case, "-o", tmp_path / "r.xlsx", "--mip-rel-gap", "0.01", "--time-limit", "30", "--threads", "2",
                    "--seed", "7")
    assert result.exit_code == 0, result.output
    assert seen == {"mip_rel_gap": 0.01, "time_limit_s": 30.0, "threads": 2, "random_seed": 7}
    assert "solving" in result.stderr  # progress goes to stderr
    manifest = {r["key"]: r["value"] for r in records(load_workbook(tmp_path / "r.xlsx")["Manifest"])}
    assert manifest["override.random_seed"] == 7 and math.isclose(manifest["override.mip_rel_gap"], 0.01)


def test_defaults_solve_the_base_case_into_outputs(make_case, tmp_path, monkeypatch):
    (tmp_path / "cases").mkdir()
    make_case({"case_name": "base: ban/2030", "end_year": 2027}, name="cases/base.xlsx", **minimal_sheets())
    monkeypatch.chdir(tmp_path)  # the default case and outputs/ are those of the working folder
    monkeypatch.setattr(solve_module, "solve_case", lambda c, o=None, p=None: hand_solution())
    result = CliRunner().invoke(cli.main, ["solve"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "outputs" / "base_ ban_2030.xlsx"
    assert out.exists() and f"result: {out}" in result.stdout


def test_case_with_errors_exits_1_and_writes_nothing(make_case, tmp_path):
    sheets = minimal_sheets()
    sheets["Demand"][0]["demand_t"] = -5
    case = make_case(**sheets)
    result = invoke(case, "-o", tmp_path / "r.xlsx")
    assert result.exit_code == 1
    assert "Demand!D2" in result.stderr and "nothing was solved or written" in result.stderr
    assert not (tmp_path / "r.xlsx").exists()
