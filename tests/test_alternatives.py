"""Near-optimal alternatives on tiny cases whose plans are derived by hand, and properties every search must have.

Conventions as in tests/test_hand_optima.py: one year (2026) unless a test
says otherwise, discount_rate 0, mcpf 0, mip_rel_gap 1e-9, member US, outside
region X, no Routes rows. Candidates have lead 0 and life 1, so a funded
project costs its capex in the one year (crf(0, 1) = 1). Distances are
DESIGN's d = Σ_s π_s Σ_p |x_p,s − x^k_p,s|, here computed from each plan's
own tables (the Decisions sheet's FIDs at the nodes of the Scenarios sheet's
paths), never from the search's own bookkeeping.
"""

from __future__ import annotations

import re
import zipfile

import pytest
from hypothesis import given

from model import solution as sol
from model.case.load import load_case
from model.solve import alternatives as alt
from model.solve.highs import HighsRun, Outcome
from model.studies.alternatives_book import EVERY, SOME, classification
from tests.conftest import run_cli
from tests.test_hand_optima import BASE, US, X
from tests.test_report import records
from tests.test_v2_properties import FEW, _load, cases

Y = 2026
X_PRICE = 100_000  # USD/t: 10 t imported cost 1.0 USD m


def material(name: str, stage: str = "magnet") -> dict:
    return {"material": name, "stage": stage, "price_usd_per_t": 20_000, "shortfall_penalty_usd_per_t": 1_000_000}


def candidate(project: str, capex: float, output: str = "mag", capacity: float = 10) -> dict:
    return {"project": project, "region": "US", "status": "candidate", "output": output, "capacity_tpy": capacity,
            "capex_musd": capex, "lead_time_yr": 0, "life_yr": 1}


def one_year(materials: list[str], projects: list[dict], **extra) -> dict:
    """Demand 10 t of each material in 2026; X offers 100 t of each at 100,000 USD/t."""
    return {"Regions": [US, X], "Materials": [material(m, "magnet" if m == "mag" else "oxide") for m in materials],
            "Demand": [{"region": "US", "material": m, "year": Y, "demand_t": 10} for m in materials],
            "Supply": [{"origin": "X", "material": m, "year": Y, "max_t": 100, "price_usd_per_t": X_PRICE}
                       for m in materials], "Projects": projects, **extra}


def search(path, slack: float, count: int, **options) -> alt.Alternatives:
    result = alt.find_alternatives(load_case(path), slack, count, options)
    assert result.optimum is not None and result.optimum.status == sol.OPTIMAL, result.optimum
    return result


def funded_sets(result: alt.Alternatives) -> list[frozenset[str]]:
    """The candidates each plan funds (every test case here has one scenario)."""
    return [frozenset(p for p, s in funded_by_scenario(plan.solution) if s == "base") for plan in result.plans]


# ---------------------------------------------------------------- reading x from a plan's own tables


def scenario_nodes(path: str) -> dict[int, str]:
    """'base 2026–2027, cut 2028' -> {2026: 'base', 2027: 'base', 2028: 'cut'} (the Scenarios sheet's path)."""
    out = {}
    for part in path.split(", "):
        node, years = part.rsplit(" ", 1)
        first, _, last = years.partition("–")
        out |= {y: node for y in range(int(first), int(last or first) + 1)}
    return out


def funded_by_scenario(solution: sol.Solution) -> set[tuple[str, str]]:
    """{(p, s)}: candidate p has an FID on scenario s's path (node 'all' under decisions = now)."""
    fids: dict[tuple[int, str], set[str]] = {}
    for r in solution.decisions.itertuples():
        if r.fid:
            fids.setdefault((int(r.year), r.node), set()).update(r.fid.split(", "))
    port = solution.portfolio
    candidates = set(port.loc[port["status"] == "candidate", "project"])
    out = set()
    for s, path in zip(solution.scenarios["scenario"], solution.scenarios["path"]):
        for year, node in scenario_nodes(path).items():
            out |= {(p, s) for p in fids.get((year, node), set()) | fids.get((year, "all"), set()) if p in candidates}
    return out


def distance(a: sol.Solution, b: sol.Solution) -> float:
    prob = dict(zip(a.scenarios["scenario"], a.scenarios["probability"]))
    return sum(prob[s] for _, s in funded_by_scenario(a) ^ funded_by_scenario(b))


def expected_cost(solution: sol.Solution) -> float:
    sc = solution.scenarios
    return float((sc["probability"] * sc["cost_musd"]).sum())


# ---------------------------------------------------------------- hand-derived plans


def test_the_interchangeable_twin_is_the_first_alternative_at_slack_0(make_case):
    """A and B both make 10 t of mag for 0.1 USD m; importing the 10 t costs 1.0.

    Optimum 0.1 with either of them; at slack 0 (objective ≤ 0.1) the only other
    plan is the other one, at distance 2 (one dropped, one added). Both (0.2) and
    neither (1.0) cost more, so a second alternative does not exist.
    """
    path = make_case(BASE, **one_year(["mag"], [candidate("A", 0.1), candidate("B", 0.1)]))
    result = search(path, 0.0, 2)
    first, second = funded_sets(result)
    assert {first, second} == {frozenset("A"), frozenset("B")}
    assert result.plans[1].solution.objective == pytest.approx(0.1, rel=1e-6)
    assert distance(result.plans[1].solution, result.plans[0].solution) == pytest.approx(2)
    assert result.plans[1].w == pytest.approx(2, rel=1e-6)
    assert result.found == 1 and result.missing_status == sol.INFEASIBLE
    assert "no other plan costs at most 0.10 USD m" in result.missing


def core_case(make_case):
    """C makes 10 t of mag for 0.1 USD m; without it the mag is imported for 1.0.
    A and B make 10 t of nd for 0.1 each, D for 0.15; importing the nd costs 1.0.

    Optimum 0.2: C and one of A, B. C's cost advantage: the cheapest plan without
    it is 1.1 (imported mag and one of A, B), 0.9 = 4.5 × z* above the optimum, so
    at any slack below 4.5 every plan funds C.
    """
    return make_case(BASE, **one_year(["mag", "nd"], [candidate("C", 0.1), candidate("A", 0.1, "nd"),
                                                      candidate("B", 0.1, "nd"), candidate("D", 0.15, "nd")]))


def test_a_project_no_plan_can_do_without_stays_in_every_alternative(make_case):
    """core_case at slack 0.4 (objective ≤ 0.28): the plans are {C, A}, {C, B} and {C, D} (0.25); {C, A, B}
    costs 0.3. So two alternatives, then none, and C is the robust core."""
    result = search(core_case(make_case), 0.4, 5)
    plans = funded_sets(result)
    assert set(plans) == {frozenset("CA"), frozenset("CB"), frozenset("CD")}
    assert result.found == 2 and result.missing_status == sol.INFEASIBLE
    classes = classification(result)
    assert [p for p, _ in classes[EVERY]] == ["C"]
    assert sorted(p for p, _ in classes[SOME]) == ["A", "B", "D"]


@pytest.mark.parametrize("slack", [1.0, 4.0])
def test_the_core_project_stays_at_any_slack_below_its_advantage(make_case, slack):
    """core_case at slack 1 (objective ≤ 0.4) and 4 (≤ 1.0): plans fund more of A, B and D, none drops C."""
    result = search(core_case(make_case), slack, 5)
    assert result.found >= 3
    assert all("C" in plan for plan in funded_sets(result))


def test_above_its_advantage_a_plan_without_the_core_project_appears(make_case):
    """core_case at slack 5.2 (objective ≤ 1.24): {B}, {D} and {A, B} (1.1, 1.15, 1.2) are within reach.

    Say the optimum is {C, A} (B is symmetric). The plans farthest from it are at
    distance 3: {C, B, D}, {B} and {D}. If the first alternative is {B} or {D}, it
    lacks C. If it is {C, B, D}, the second maximises min(d to {C, A}, d to {C, B, D}):
    {B}, {D} and {A, B} reach 2, every plan with C at most 1. Either way one of the
    first two alternatives drops C.
    """
    result = search(core_case(make_case), 5.2, 2)
    assert any("C" not in plan for plan in funded_sets(result))


def test_slack_0_with_a_unique_optimum_finds_no_other_plan_and_says_so(make_case):
    """A makes the 10 t of mag for 0.1 USD m, B for 0.15, importing costs 1.0: the optimum {A} is unique.

    At slack 0 no other plan costs 0.1 or less; at slack 0.6 (≤ 0.16) {B} is the
    alternative, 0.05 dearer, at distance 2.
    """
    path = make_case(BASE, **one_year(["mag"], [candidate("A", 0.1), candidate("B", 0.15)]))
    none = search(path, 0.0, 3)
    assert funded_sets(none) == [frozenset("A")]
    assert none.found == 0 and none.missing_status == sol.INFEASIBLE
    assert none.missing.startswith("no other plan costs at most 0.10 USD m") and "only the optimum was found" in none.missing
    some = search(path, 0.6, 1)
    assert funded_sets(some) == [frozenset("A"), frozenset("B")]
    assert some.plans[1].solution.objective == pytest.approx(0.15, rel=1e-6)
    assert some.missing == ""


# ---------------------------------------------------------------- properties


def check_properties(result: alt.Alternatives) -> None:
    """Within the slack by each plan's own Scenarios table; no two plans alike; every distance ≥ the solver's w."""
    z = result.optimum.objective
    limit = z + result.slack * abs(z)
    plans = [plan.solution for plan in result.plans]
    for plan in result.plans[1:]:
        assert expected_cost(plan.solution) <= limit + 1e-6 * max(1.0, abs(limit))
        assert plan.solution.objective == pytest.approx(expected_cost(plan.solution), rel=1e-9, abs=1e-9)
    for j, b in enumerate(plans):
        for i in range(j):
            assert funded_by_scenario(plans[i]) != funded_by_scenario(b), f"plans {i} and {j} are the same"
            assert distance(plans[i], b) >= result.plans[j].w - 1e-6, f"plan {j} is nearer plan {i} than w"


def adaptive_case(make_case, decisions: str = "adaptive"):
    """2026–2027; X's mag is cut in 2027 in scenario cut (40%): the tree branches in 2027.

    Four candidates of 5 t (lead 0, life 2, so capex/2 a year) of different cost, imports at 30,000 USD/t
    (0.15 USD m per 5 t a year), shortfall 300,000 USD/t: funding in 2027 only in the cut branch is a choice.
    """
    projects = [{**candidate(p, capex, capacity=5), "life_yr": 2} for p, capex in
                (("A", 0.2), ("B", 0.22), ("C", 0.25), ("D", 0.3))]
    mag = material("mag") | {"shortfall_penalty_usd_per_t": 300_000}
    return make_case({**BASE, "end_year": Y + 1, "decisions": decisions}, Regions=[US, X], Materials=[mag],
                     Demand=[{"region": "US", "material": "mag", "year": y, "demand_t": 10} for y in (Y, Y + 1)],
                     Supply=[{"origin": "X", "material": "mag", "year": y, "max_t": 100, "price_usd_per_t": 30_000}
                             for y in (Y, Y + 1)], Projects=projects,
                     Scenarios=[{"scenario": "base", "probability": 0.6}, {"scenario": "cut", "probability": 0.4}],
                     Disruptions=[{"scenario": "cut", "kind": "supply_cut", "target": "X", "material": "mag",
                                   "start_year": Y + 1}])


@pytest.mark.parametrize("decisions", ["adaptive", "now"])
def test_alternatives_are_within_the_slack_distinct_and_at_least_w_apart(make_case, decisions):
    result = search(adaptive_case(make_case, decisions), 0.3, 4)
    assert result.found >= 2
    check_properties(result)


@FEW
@given(cases(min_scenarios=1, max_scenarios=3))
def test_properties_hold_on_drawn_cases(case_data):
    result = alt.find_alternatives(_load(*case_data), 0.2, 3)
    if result.optimum is None or not result.optimum.has_plan:
        return
    check_properties(result)


def test_rows_handed_to_highs_in_place_are_the_rows_the_model_holds(make_case):
    """Compiling the grown model afresh solves the same problem: its optimum is the last plan's w."""
    case = load_case(adaptive_case(make_case))
    s = alt.Search(case, 0.3, 2)
    assert s.solve_optimum()
    assert s.next_plan() is not None and s.next_plan() is not None
    fresh = HighsRun(s.model, s.opts)
    assert fresh.maximise and len(fresh.rows) == len(s.run.rows) and len(fresh.columns) == len(s.run.columns)
    out = fresh.run()
    assert out.status == sol.OPTIMAL
    assert out.objective == pytest.approx(s.result.plans[-1].w, abs=1e-6)


def test_a_plan_stopped_by_the_time_limit_is_reported_with_what_was_found(make_case, monkeypatch):
    """The second alternative's solve stops without a plan: the optimum and the first alternative are kept."""
    real = HighsRun.run
    calls = []

    def run(self):
        calls.append(1)
        if len(calls) == 3:
            return Outcome(sol.TIME_LIMIT_NO_PLAN, "stopped at the time limit before any plan was found", seconds=2.0)
        return real(self)

    monkeypatch.setattr(HighsRun, "run", run)
    result = search(core_case(make_case), 0.4, 5, time_limit_s=7)
    assert result.found == 1 and result.missing_status == sol.TIME_LIMIT_NO_PLAN
    assert result.missing == ("the time limit (7 s) ran out before plan 2 was found; 1 alternative found before it: "
                              "allow more time with --time-limit")


# ---------------------------------------------------------------- the command


def test_cli_writes_the_alternatives_workbook_and_prints_the_classification(make_case, tmp_path):
    case = core_case(make_case)
    out = tmp_path / "alt.xlsx"
    done = run_cli("alternatives", case, "--slack", "0.4", "-n", "5", "-o", out)
    assert done.returncode == 0, done.stderr
    assert "funded in every plan (the robust core): C\n" in done.stdout
    assert "funded in some plans (interchangeable): A (plans " in done.stdout
    assert "funded in no plan: none\n" in done.stdout
    assert "plan 3 not found: no other plan costs at most 0.28 USD m" in done.stdout
    assert "plan 1 of 5: cost 0." in done.stderr and "plan 2 of 5: cost 0.25" in done.stderr
    assert f"alternatives workbook: {out}" in done.stdout
    from openpyxl import load_workbook

    wb = load_workbook(out)
    assert wb.sheetnames == ["Plans", "Projects", "Manifest"]
    plans = records(wb["Plans"])
    assert [r["plan"] for r in plans] == [0, 1, 2, 3]
    assert [r["status"] for r in plans] == ["optimum", "found", "found", "not found"]
    assert plans[0]["objective_musd"] == pytest.approx(0.2, rel=1e-6)
    assert plans[2]["objective_musd"] == pytest.approx(0.25, rel=1e-6)
    assert plans[2]["excess_share"] == pytest.approx(0.25, rel=1e-6)
    assert plans[2]["funded"] == "C, D" and plans[0]["expected_shortfall_t"] == pytest.approx(0, abs=1e-6)
    projects = {r["project"]: r for r in records(wb["Projects"])}
    assert projects["C"]["class"] == "every plan" and projects["C"]["plans"] == "0, 1, 2"
    assert projects["D"]["class"] == "some plans" and projects["D"]["plans"] == "2"
    manifest = {r["key"]: r["value"] for r in records(wb["Manifest"])}
    assert manifest["command_line"].startswith("minplan alternatives ")
    assert manifest["slack"] == 0.4 and manifest["plans_found"] == 2
    with zipfile.ZipFile(out) as z:
        chart = z.read("xl/charts/chart1.xml").decode()
    assert "<c:scatterChart>" in chart and chart.count("<c:ser>") == 3  # one series per plan found
    assert len(re.findall(r"<c:ser>.*?<c:spPr><a:ln[^>]*><a:noFill/></a:ln>", chart)) == 3  # markers, no lines
    assert chart.count('<c:smooth val="0"/>') == 3
    assert "distance from the optimum (expected number of candidate projects" in chart and "objective, USD m" in chart


def test_a_case_without_a_plan_exits_1_and_writes_nothing(make_case, tmp_path, monkeypatch):
    from click.testing import CliRunner

    import cli

    monkeypatch.setattr(alt, "find_alternatives", lambda case, slack, count, options=None, progress=None: alt.Alternatives(
        slack, count, [], {}, optimum=sol.Solution(sol.INFEASIBLE, "budgets cannot cover the committed projects")))
    out = tmp_path / "out" / "alt.xlsx"
    done = CliRunner().invoke(cli.main, ["alternatives", str(core_case(make_case)), "-o", str(out)])
    assert done.exit_code == 1
    assert "no plan: the case is infeasible" in done.stderr and "No alternatives workbook was written" in done.stderr
    assert not out.exists()


def test_an_optimum_stopped_by_the_time_limit_is_marked_not_proven(make_case, tmp_path, monkeypatch):
    """The first solve is reported as stopped at 1% gap: the slack is measured from that plan, and the console says so."""
    from click.testing import CliRunner

    import cli

    real = HighsRun.run
    calls = []

    def run(self):
        out = real(self)
        calls.append(1)
        if len(calls) == 1:
            out.status, out.gap = sol.TIME_LIMIT_FEASIBLE, 0.01
        return out

    monkeypatch.setattr(HighsRun, "run", run)
    done = CliRunner().invoke(cli.main, ["alternatives", str(core_case(make_case)), "--slack", "0.4", "-n", "1",
                                         "-o", str(tmp_path / "alt.xlsx")])
    assert done.exit_code == 0, done.output
    assert "NOT PROVEN OPTIMAL: the time limit stopped the first solve; the best plan may cost up to 1.00% less" in done.stdout
    assert "1 of 1 alternatives within 40% of the optimum" in done.stdout
