"""`python cli.py validate CASE` as a planner runs it: exit status, tidy output, input untouched."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from conftest import run_cli
from fixtures.make_broken import OUT


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_clean_case_exits_0_and_says_so():
    r = run_cli("validate", OUT / "good.xlsx")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("good.xlsx: no problems found.")


def test_warnings_alone_exit_0_and_are_printed():
    r = run_cli("validate", OUT / "warn_fund_without_budget.xlsx")
    assert r.returncode == 0
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("warning: warn_fund_without_budget.xlsx: Funds!A5: this fund has no budget")
    assert lines[-1].endswith("0 errors, 1 warning: the case can be solved.")


def test_errors_exit_1_errors_first_then_warnings_then_one_count_line(tmp_path):
    from conftest import minimal_sheets

    from model.case.writer import write_case

    sheets = minimal_sheets()
    sheets["Regions"].append({"region": "JP", "bloc": "ally", "member": "Y"})  # warning: member without demand
    sheets["Projects"][0]["capacity_tpy"] = -3  # error
    sheets["Demand"][0]["year"] = 2031  # error: outside the horizon
    case = write_case(tmp_path / "mixed.xlsx", {"start_year": 2026, "end_year": 2030}, sheets)
    r = run_cli("validate", case)
    assert r.returncode == 1
    lines = r.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["error", "error", "warning"]
    assert lines[0].startswith("error: mixed.xlsx: Demand!C2: year is outside the planning horizon")
    assert lines[1].startswith("error: mixed.xlsx: Projects!E2: capacity_tpy is negative")
    assert lines[-1] == f"{case}: 2 errors, 1 warning: fix the errors before solving."
    assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.parametrize("name", ["not_an_xlsx.xlsx", "password_protected.xlsx"])
def test_unreadable_file_exits_2_with_one_message(name):
    r = run_cli("validate", OUT / name)
    assert r.returncode == 2
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"error: {name}: ")
    assert lines[1].endswith("cannot be read, so nothing was checked.")
    assert "Traceback" not in r.stdout + r.stderr


def test_missing_file_exits_2(tmp_path):
    r = run_cli("validate", tmp_path / "nowhere.xlsx")
    assert r.returncode == 2
    assert "file not found" in r.stdout


def test_a_folder_is_not_a_workbook(tmp_path):
    r = run_cli("validate", tmp_path)
    assert r.returncode == 2
    assert "is a folder, not an Excel workbook" in r.stdout


@pytest.mark.parametrize("name", ["formula_without_value.xlsx", "password_protected.xlsx"])
def test_validate_never_modifies_the_input(name, tmp_path):
    case = shutil.copy(OUT / name, tmp_path / name)
    before, mtime = _sha(case), case.stat().st_mtime_ns
    run_cli("validate", case)
    assert _sha(case) == before
    assert case.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no stray temporary or lock files


def test_checking_never_modifies_any_fixture(tmp_path):
    """In-process, every fixture: reading and validating leaves the bytes and the folder as they were."""
    from model.case.load import check_case
    from model.problems import UnreadableFile

    for src in sorted(OUT.iterdir()):
        case = shutil.copy(src, tmp_path / src.name)
        before = _sha(case)
        try:
            check_case(case)
        except UnreadableFile:
            pass
        assert _sha(case) == before, src.name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in OUT.iterdir())


def test_a_variant_and_its_base_are_left_untouched(tmp_path):
    from model.case.writer import write_case

    base = shutil.copy(OUT / "good.xlsx", tmp_path / "good.xlsx")
    variant = write_case(tmp_path / "variant.xlsx", {"base_case": "good.xlsx"}, {})
    before = {p: _sha(p) for p in (base, variant)}
    r = run_cli("validate", variant)
    assert r.returncode == 0, r.stdout
    assert {p: _sha(p) for p in (base, variant)} == before
