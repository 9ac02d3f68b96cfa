"""Solving is reliable: a valid case always has a plan, what it cannot supply is said in words, and the output
is written safely or not at all.

- A valid case can be neither infeasible nor unbounded (DESIGN.md: shortfall
  is always allowed at its penalty, committed projects' minimum shares are not
  enforced, costs and bounds are non-negative by validation). The case below
  puts every rule at its tightest and still solves to its hand optimum.
- When the plan leaves member demand unmet, the console and the Summary sheet
  name the largest unmet demands in a planner's words.
- A time limit without a plan says so and what to change.
- The output is never an input (a base case included), never written into a
  read-only folder, never left half-written when the disk fills up.
- Text from the case is written as text, never as a live formula.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from model.case.load import load_case
from model.commands import summary_text
from model.solution import OPTIMAL, Solution, unmet_demand
from model.solve.solver import solve_case
from tests.conftest import ROOT, minimal_sheets, run_cli

EXAMPLE = ROOT / "cases" / "example.xlsx"
CLEAN = ("Traceback", "internal error")


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def summary(path: Path) -> list[tuple]:
    wb = load_workbook(path, read_only=True)
    rows = [r for r in wb["Summary"].iter_rows(values_only=True)][1:]
    wb.close()
    return rows


def clean_error(done: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 1, each of `words` in the error output, no traceback."""
    text = done.stdout + done.stderr
    assert done.returncode == 1, text
    assert not any(bad in text for bad in CLEAN), text
    for w in words:
        assert w in done.stderr, done.stderr
    return text


# ---------------------------------------------------------------- a valid case always has a plan


def tightest_sheets() -> dict:
    """Every rule at its tightest; 2 years, scenarios base and worse (probability 0.5 each), discount rate 0.

    US needs 10 t of mag a year (30 t in 2027 in 'worse'). The committed plant 'com' (4 t/yr, capex 5, life 20)
    goes ahead with no aid although its min_public_share is 0.9 and the only fund has no budget. 'cand' excludes
    'com', so it cannot be chosen; 'other' requires 'cand', so it cannot either. China's cheap offer is barred
    by a concern share of 0. The full stockpile (5 t) may release only in a disruption: 'worse' blocks EU>US
    from 2026, so 5 t come out in 2026; 'com' fails in 2027. The EU stockpile has no capacity and its purchases
    cost exactly what they are worth at the end (discount 0, no premium): a ray of zero cost, not unbounded.

    Shortfall: base 6 + 6 t, worse 1 + 30 t, at 5,000 USD/t. Capital of 'com': 5 / 20 = 0.25 USD m a year.
    In base the full stockpile keeps its 5 t, worth 1,000 USD/t at the end. Z_base = 0.5 + 0.06 - 0.005 = 0.555.
    In worse, after releasing its 5 t the full stockpile rebuys 5 t of China's 1 USD/t offer (the concern cap
    binds what the US uses, not what it stores) and is credited 1,000 USD/t for them at the end: the bounded
    arbitrage DESIGN accepts. Z_worse = 0.5 + 0.155 - 0.005 + 0.000005 = 0.650005, E[Z] = 0.6025025;
    risk_weight 1 with cvar_alpha 0 adds CVaR_0 = E[Z]: objective 1.205005 USD m.
    """
    years = (2026, 2027)
    return {
        "Regions": [{"region": "US", "bloc": "ally", "member": "Y"}, {"region": "EU", "bloc": "ally", "member": "Y"},
                    {"region": "CN", "bloc": "concern", "member": "N"}],
        "Materials": [{"material": "mag", "stage": "magnet", "price_usd_per_t": 1000, "shortfall_penalty_usd_per_t": 5000}],
        "Demand": [{"region": "US", "material": "mag", "year": y, "demand_t": 10} for y in years],
        "Projects": [
            {"project": "com", "region": "US", "status": "committed", "output": "mag", "capacity_tpy": 4, "capex_musd": 5,
             "lead_time_yr": 0, "fid_year": 2026, "min_public_share": 0.9},
            {"project": "cand", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": 10,
             "capex_musd": 0.001, "lead_time_yr": 0, "min_public_share": 1},
            {"project": "other", "region": "EU", "status": "candidate", "output": "mag", "capacity_tpy": 10,
             "capex_musd": 0.001, "lead_time_yr": 0}],
        "Dependencies": [{"project": "cand", "relation": "excludes", "other": "com"},
                         {"project": "other", "relation": "requires", "other": "cand", "lag_yr": 1}],
        "Funds": [{"fund": "G", "owner": "US", "instrument": "grant", "max_per_project_musd": 0}],
        "Budgets": [{"fund": "G", "year": 2026, "budget_musd": 0}],
        "Supply": [{"origin": "CN", "material": "mag", "year": y, "max_t": 100, "price_usd_per_t": 1} for y in years],
        "Policies": [{"region": "US", "material": "mag", "max_concern_share": 0, "max_single_origin_share": 0},
                     {"region": "EU", "material": "mag", "max_concern_share": 0}],
        "Stockpiles": [{"stockpile": "full", "owner": "US", "location": "US", "material": "mag", "initial_t": 5,
                        "capacity_t": 5, "release_only_in_disruption": "Y"},
                       {"stockpile": "open", "owner": "EU", "location": "EU", "material": "mag"}],
        "Scenarios": [{"scenario": "base", "probability": 0.5}, {"scenario": "worse", "probability": 0.5}],
        "Disruptions": [
            {"scenario": "worse", "kind": "project_fail", "target": "com", "start_year": 2027},
            {"scenario": "worse", "kind": "demand_shock", "target": "US", "material": "mag", "start_year": 2027,
             "magnitude": 3},
            {"scenario": "worse", "kind": "route_block", "target": "EU>US", "start_year": 2026}],
    }


TIGHTEST_SETTINGS = {"end_year": 2027, "discount_rate": 0, "mcpf": 0, "risk_weight": 1, "cvar_alpha": 0}


def test_valid_case_at_its_tightest_is_neither_infeasible_nor_unbounded(make_case):
    case = load_case(make_case(TIGHTEST_SETTINGS, **tightest_sheets()))
    sol = solve_case(case, {"evpi_vss": False})
    assert sol.status == OPTIMAL, sol.message
    assert sol.objective == pytest.approx(1.205005, rel=1e-6)
    short = sol.supply.set_index(["scenario", "year"])["shortfall_t"]
    assert short.to_dict() == pytest.approx({("base", 2026): 6, ("base", 2027): 6, ("worse", 2026): 1,
                                             ("worse", 2027): 30})
    assert sol.portfolio.set_index("project")["funded"].to_dict() == {"com": True, "cand": False, "other": False}
    lines, total = unmet_demand(sol)
    assert total == 4
    assert lines[0].startswith("US cannot be supplied any of the 30 t of mag it needs in 2027 "
                               "(scenario worse, probability 50%): no project, supply offer or stockpile reaches it")
    assert "shortfall penalty (5,000 USD/t)" in lines[0]


# ---------------------------------------------------------------- unmet demand in words


def hand_supply(rows: list[tuple]) -> Solution:
    """A Solution whose Supply holds (scenario, region, material, year, demand_t, shortfall_t) rows."""
    supply = pd.DataFrame(rows, columns=["scenario", "region", "material", "year", "demand_t", "shortfall_t"])
    scen = pd.DataFrame({"scenario": ["base", "ban"], "probability": [0.8, 0.2]})
    return Solution(OPTIMAL, supply=supply, scenarios=scen, shortfall_penalty={"mag": 100_000, "ore": 10})


def test_unmet_demand_is_ranked_by_expected_penalty_and_merged_across_scenarios():
    """ore: 1,000 t short in both scenarios costs 10,000 USD; mag in 2031: 0.8 x 5 t x 100,000 = 400,000 USD
    (base) and 0.2 x 50 t x 100,000 = 1,000,000 USD (ban); mag 2030 only in ban: 0.2 x 1 x 100,000 = 20,000."""
    sol = hand_supply([("base", "EU", "mag", 2031, 60, 5), ("ban", "EU", "mag", 2031, 60, 50),
                       ("ban", "EU", "mag", 2030, 50, 1), ("base", "US", "ore", 2031, 1000, 1000),
                       ("ban", "US", "ore", 2031, 1000, 1000), ("base", "US", "mag", 2031, 10, 0)])
    lines, total = unmet_demand(sol)
    assert total == 4
    assert [line.split(":")[0] for line in lines] == [
        "EU cannot be supplied 50 t of the 60 t of mag it needs in 2031 (scenario ban, probability 20%)",
        "EU cannot be supplied 5 t of the 60 t of mag it needs in 2031 (scenario base, probability 80%)",
        "EU cannot be supplied 1 t of the 50 t of mag it needs in 2030 (scenario ban, probability 20%)",
        "US cannot be supplied any of the 1,000 t of ore it needs in 2031 (every scenario)"]
    assert unmet_demand(sol, limit=2) == (lines[:2], 4)
    assert unmet_demand(hand_supply([("base", "US", "mag", 2031, 10, 0)])) == ([], 0)


def test_unmet_demand_is_named_in_the_console_and_the_summary(tmp_path):
    """example.xlsx leaves EU magnet demand unmet in the ban scenario, 2029-2033 (8 member-years in all)."""
    out = tmp_path / "r.xlsx"
    done = run_cli("solve", EXAMPLE, "-o", out)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    head = next(i for i, line in enumerate(printed) if line.startswith("UNMET DEMAND"))
    wb = load_workbook(out, read_only=True)
    supply = [r for r in wb["Supply"].iter_rows(values_only=True)]
    wb.close()
    col = {name: i for i, name in enumerate(supply[0])}
    short = sorted((r for r in supply[1:] if r[col["shortfall_t"]] > 1e-6), key=lambda r: -r[col["shortfall_t"]])
    assert printed[head].startswith(f"UNMET DEMAND, the largest 5 of {len(short)} ")
    said = [line.removeprefix("  - ") for line in printed[head + 1: head + 6]]
    for line, row in zip(said, short):  # one material, one penalty: the largest in tonnes come first
        assert line.startswith(f"{row[col['region']]} cannot be supplied {row[col['shortfall_t']]:,.0f} t of the "
                               f"{row[col['demand_t']]:,.0f} t of ndfeb it needs in {row[col['year']]} "
                               f"(scenario {row[col['scenario']]}, probability 25%)"), line
    rows = {item: value for section, item, value, _ in summary(out) if section == "unmet demand"}
    assert [rows[str(i)] for i in range(1, 6)] == said
    assert rows["shown"].startswith(f"the largest 5 of {len(short)}")


def test_console_summary_never_prints_a_negative_zero():
    """VSS = EEV - RP can come out at -1e-12 when both solves find the same plan."""
    sol = Solution(OPTIMAL, objective=1.0, gap=0.0, kpis={"evpi_musd": 0.0, "vss_musd": -1e-12})
    text = summary_text("c", sol, 1.0)
    assert "EVPI / VSS          0.00 / 0.00 USD m" in text and "-0.00" not in text


# ---------------------------------------------------------------- a time limit without a plan


def test_time_limit_without_a_plan_says_so_and_what_to_change(tmp_path):
    """A natural case: no solver finds a plan for example.xlsx in a nanosecond."""
    out = tmp_path / "out" / "r.xlsx"
    done = run_cli("solve", EXAMPLE, "-o", out, "--time-limit", "1e-9")
    clean_error(done, "no plan: the time limit (1e-09 s) ran out before any plan was found",
                "allow more time with --time-limit", "--mip-rel-gap", "No result workbook was written")
    assert not (tmp_path / "out").exists()  # folders are made when there is a file to write, not before


# ---------------------------------------------------------------- where the result may go


def test_result_over_the_base_case_is_refused(make_case, tmp_path):
    base = make_case(name="base.xlsx", **minimal_sheets())
    variant = make_case({"base_case": "base.xlsx", "case_name": "variant"}, name="variant.xlsx")
    link = tmp_path / "link.xlsx"
    link.symlink_to(base)
    before = sha(base)
    for target in (base, tmp_path / "sub" / ".." / "base.xlsx", link):
        done = run_cli("solve", variant, "-o", target, "--force")
        clean_error(done, "an input of the case; choose another output file (-o)")
        assert sha(base) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.xlsx", "link.xlsx", "variant.xlsx"]


def test_result_that_names_a_folder_is_refused(make_case, tmp_path):
    case = make_case(**minimal_sheets())
    (tmp_path / "r.xlsx").mkdir()
    clean_error(run_cli("solve", case, "-o", tmp_path / "r.xlsx", "--force"), "is a folder")
    assert not any((tmp_path / "r.xlsx").iterdir())


def without_root_powers(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI; as root, first drop the power to bypass file permissions (chmod does not stop root)."""
    cmd = [sys.executable, str(ROOT / "cli.py"), *map(str, args)]
    if os.geteuid() == 0:
        caps = "-dac_override,-dac_read_search"
        cmd = [shutil.which("setpriv") or "setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}", *cmd]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_read_only_folder_is_refused_before_solving(make_case, tmp_path):
    case = make_case(**minimal_sheets())
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        done = without_root_powers("solve", case, "-o", folder / "r.xlsx")
    finally:
        folder.chmod(0o755)
    clean_error(done, f"cannot write in the folder {folder}: it is read-only or you lack permission")
    assert "solving" not in done.stderr  # refused before any solve
    assert not any(folder.iterdir())


def test_disk_full_while_writing_leaves_no_file_behind(tmp_path):
    """A file-size limit of 8 KB stands in for a full disk: writing the result's sheets fails part-way."""
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    out.mkdir()
    scratch.mkdir()

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (8_000, 8_000))

    env = {**os.environ, "TMPDIR": str(scratch)}
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "solve", str(EXAMPLE), "-o", str(out / "r.xlsx")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, env=env,
                          preexec_fn=small_files)
    clean_error(done, "cannot write", "File too large", "nothing was written")
    assert not any(out.iterdir()) and not any(scratch.iterdir())


# ---------------------------------------------------------------- text stays text


FORMULA_LIKE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1,2)", "-2+3"]


def test_formula_like_text_from_the_case_is_written_as_text(make_case, tmp_path):
    """The existing plant meets all demand, so no candidate is built and nothing is unmet (no UNMET DEMAND)."""
    sheets = minimal_sheets()
    sheets["Projects"] += [{"project": f"p{i}", "name": text, "region": "US", "status": "candidate", "output": "mag",
                            "capacity_tpy": 1, "capex_musd": 1, "lead_time_yr": 0, "note": text, "source": text}
                           for i, text in enumerate(FORMULA_LIKE)]
    case = make_case(**sheets)
    out = tmp_path / "r.xlsx"
    done = run_cli("solve", case, "-o", out)
    assert done.returncode == 0, done.stderr
    assert "UNMET DEMAND" not in done.stdout
    assert not [r for r in summary(out) if r[0] == "unmet demand"]
    wb = load_workbook(out)
    checked = 0
    for sheet, columns in (("In_Projects", ("name", "note", "source")), ("Portfolio", ("name",))):
        ws = wb[sheet]
        header = [c.value for c in ws[1]]
        by_project = {row[0].value: row for row in ws.iter_rows(min_row=2)}
        for i, text in enumerate(FORMULA_LIKE):
            for col in columns:
                cell = by_project[f"p{i}"][header.index(col)]
                assert (cell.value, cell.data_type) == (text, "s"), f"{sheet}!{cell.coordinate}"
                checked += 1
    assert checked == 16
    assert not [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if c.data_type == "f"]  # the result holds no formula at all


def test_absurd_thread_count_is_refused_before_the_solver_sees_it(tmp_path):
    """HiGHS aborts the process (exit 134) when asked for 100,000 threads; minplan refuses it with a message."""
    out = tmp_path / "r.xlsx"
    done = run_cli("solve", ROOT / "cases" / "example.xlsx", "-o", out, "--threads", "100000")
    assert done.returncode == 2 and "100000" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_absurd_thread_count_in_settings_is_a_validation_error(make_case):
    path = make_case({"threads": 100000}, **minimal_sheets())
    done = run_cli("validate", path)
    assert done.returncode == 1 and "Settings!B" in done.stdout and "threads" in done.stdout
