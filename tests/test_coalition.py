"""`minplan coalition`: S's case, v(S) = optimum − K(S), Shapley shares, the least core, the workbook.

Hand-derived cases follow tests/test_hand_optima.py: one year (2026),
discount_rate 0, mcpf 0, mip_rel_gap 1e-9, one scenario, no Routes rows
(every leg open at no cost), per-tonne prices in USD/t (10 t at 50,000 USD/t
cost 0.5 USD m). They hold under DESIGN.md's v2 maths: no purchase ever
pays (the outside offer costs more than the reference price that credits a
tonne left at the end, up to the initial holding), so stockpiles act through
their initial holdings only. Each stockpile case has a supply_cut of X by
half in 2026: it touches every material, so the reserves may be released,
and X still offers 50 t, more than anyone needs.
"""

from __future__ import annotations

import itertools
import math
import random

import pytest
from openpyxl import load_workbook

from model.case.load import load_case
from model.problems import RunError
from model.run import RunInfo
from model.studies import games
from model.studies.coalition import (
    CoalitionOutcome,
    CoalitionTask,
    coalition_case,
    coalition_row,
    coalition_study,
    solve_coalition,
)
from model.studies.coalition_book import write_coalition_book
from tests.conftest import run_cli

Y = 2026
BASE = {"discount_rate": 0, "mcpf": 0, "mip_rel_gap": 1e-9}
F = frozenset


def region(name: str, member: bool = True) -> dict:
    return {"region": name, "bloc": "ally" if member else "partner", "member": "Y" if member else "N"}


def material(name: str, price: float = 20_000) -> dict:
    return {"material": name, "stage": "metal", "price_usd_per_t": price, "shortfall_penalty_usd_per_t": 1_000_000}


def offer(mat: str, price: float = 50_000, max_t: float = 100) -> dict:
    return {"origin": "X", "material": mat, "year": Y, "max_t": max_t, "price_usd_per_t": price}


def reserve(name: str, where: str, mat: str, tonnes: float = 10) -> dict:
    return {"stockpile": name, "owner": where, "location": where, "material": mat, "initial_t": tonnes,
            "release_only_in_disruption": "Y"}


def swap_sheets(dummy: bool = False) -> dict:
    """A holds 10 t of mag and needs 10 t of ox; B holds 10 t of ox and needs 10 t of mag. Both materials have a
    reference price of 20,000 USD/t; X sells either at 50,000. X has an existing mine (fixed opex 0.1 a year)
    making ore that nobody uses. With `dummy`, member C needs 10 t of cm, made by its own existing plant
    (fixed opex 0.2 a year), and takes no part in the rest.
    """
    regions = [region("A"), region("B"), *([region("C")] if dummy else []), region("X", member=False)]
    projects = [{"project": "xmine", "region": "X", "status": "existing", "output": "ore", "capacity_tpy": 5,
                 "fixed_opex_musd_per_yr": 0.1}]
    demand = [{"region": "A", "material": "ox", "year": Y, "demand_t": 10},
              {"region": "B", "material": "mag", "year": Y, "demand_t": 10}]
    mats = [material("mag"), material("ox"), {**material("ore", 100), "stage": "ore"}]
    if dummy:
        projects.append({"project": "cplant", "region": "C", "status": "existing", "output": "cm", "capacity_tpy": 10,
                         "fixed_opex_musd_per_yr": 0.2})
        demand.append({"region": "C", "material": "cm", "year": Y, "demand_t": 10})
        mats.append(material("cm"))
    return {
        "Regions": regions, "Materials": mats, "Demand": demand, "Projects": projects,
        "Supply": [offer("mag"), offer("ox")],
        "Stockpiles": [reserve("a_mag", "A", "mag"), reserve("b_ox", "B", "ox")],
        "Disruptions": [{"scenario": "base", "kind": "supply_cut", "target": "X", "start_year": Y, "end_year": Y,
                         "magnitude": 0.5}],
    }


def plant_sheets() -> dict:
    """A, B and C each need 10 t of mag; X sells it at 50,000 USD/t (0.5 USD m for 10 t) and has a candidate plant
    of 20 t/yr, capex 0.6, lead 0, life 1 (capital 0.6 in 2026) that any coalition may build."""
    return {
        "Regions": [region("A"), region("B"), region("C"), region("X", member=False)],
        "Materials": [material("mag")],
        "Demand": [{"region": r, "material": "mag", "year": Y, "demand_t": 10} for r in "ABC"],
        "Projects": [{"project": "plant", "region": "X", "status": "candidate", "output": "mag", "capacity_tpy": 20,
                      "capex_musd": 0.6, "lead_time_yr": 0, "life_yr": 1}],
        "Supply": [offer("mag")],
    }


def study(path, **kw):
    out = coalition_study(load_case(path), jobs=kw.pop("jobs", 2), **kw)
    assert not out.failed, [(r["members"], r["status"], r["reason"]) for r in out.failed]
    return out


# ---------------------------------------------------------------- hand-derived cases


def test_pooling_stockpiles_saves_a_known_amount_split_equally_by_symmetry(make_case):
    """A alone: its mag is of no use; it buys 10 t of ox from X (0.5) and is credited 10 t of mag left at the end
    (−0.2): 0.3. The mine in X costs 0.1 in every case and is K(S): v({A}) = 0.3, and v({B}) = 0.3 likewise.
    Together each releases its reserve to the other: no purchase, no credit, v(N) = 0 (objective 0.1).
    Saving 0.6; Shapley φ_A = ½·v({A}) + ½·(v(N) − v({B})) = 0 = φ_B, each saving 0.3 (half of it).
    Least core: x_A ≤ 0.3 + ε, x_B ≤ 0.3 + ε, x_A + x_B = 0 → ε = −0.3, x = (0, 0): in the core.
    """
    out = study(make_case(BASE, **swap_sheets()))
    v = out.values
    assert v[F("A")] == pytest.approx(0.3, abs=1e-7) and v[F("B")] == pytest.approx(0.3, abs=1e-7)
    assert v[F("AB")] == pytest.approx(0.0, abs=1e-7)
    grand = out.row(["A", "B"])
    assert grand["objective_musd"] == pytest.approx(0.1, abs=1e-7)
    assert all(r["outside_fixed_costs_musd"] == pytest.approx(0.1, abs=1e-9) for r in out.rows)
    sh = out.shares
    assert sh.shapley["A"] == pytest.approx(0.0, abs=1e-7) and sh.shapley["B"] == pytest.approx(0.0, abs=1e-7)
    assert sh.epsilon == pytest.approx(-0.3, abs=1e-7)
    assert sh.least_core == pytest.approx({"A": 0.0, "B": 0.0}, abs=1e-7)
    assert sh.in_core is True and sh.blocking is None


def test_three_members_sharing_one_plant_have_an_empty_core(make_case):
    """v({i}) = min(buy 0.5, plant 0.6) = 0.5; v({i,j}) = min(buy 1.0, plant 0.6) = 0.6;
    v(N) = min(buy 1.5, plant + 10 t bought 1.1) = 1.1. The core needs x_i + x_j ≤ 0.6 for each pair, so
    Σ x ≤ 0.9 < 1.1: empty. By symmetry φ_i = 1.1/3; a pair then pays 2.2/3 − 0.6 = 2/15 more than alone and would
    rather leave. Least core: symmetric x = 1.1/3, pairs bind: 2.2/3 = 0.6 + ε → ε = 2/15 > 0.
    """
    out = study(make_case(BASE, **plant_sheets()))
    v = out.values
    for s in ("A", "B", "C"):
        assert v[F(s)] == pytest.approx(0.5, abs=1e-7)
    for s in ("AB", "AC", "BC"):
        assert v[F(s)] == pytest.approx(0.6, abs=1e-7)
    assert v[F("ABC")] == pytest.approx(1.1, abs=1e-7)
    sh = out.shares
    assert sh.shapley == pytest.approx(dict.fromkeys("ABC", 1.1 / 3), abs=1e-7)
    assert sh.epsilon == pytest.approx(2 / 15, abs=1e-7)
    assert sh.least_core == pytest.approx(dict.fromkeys("ABC", 1.1 / 3), abs=1e-6)
    assert sh.in_core is False
    assert len(sh.blocking) == 2 and sh.blocking_excess == pytest.approx(2 / 15, abs=1e-7)


def test_a_member_that_adds_nothing_pays_its_stand_alone_cost(make_case):
    """C's plant serves only C: v(S ∪ {C}) = v(S) + 0.2 for every S ∌ C (when C has left, its plant's 0.2 is in
    K(S)), so C is a dummy: φ_C = v({C}) = 0.2, and A and B keep their shares of the two-member case (0, 0)."""
    out = study(make_case(BASE, **swap_sheets(dummy=True)))
    v = out.values
    assert v[F("C")] == pytest.approx(0.2, abs=1e-7)
    for s in ("A", "B", "AB"):
        assert v[F(s) | {"C"}] == pytest.approx(v[F(s)] + 0.2, abs=1e-7)
    assert out.row(["A"])["outside_fixed_costs_musd"] == pytest.approx(0.3, abs=1e-9)  # X's mine and C's plant
    sh = out.shares
    assert sh.shapley["C"] == pytest.approx(0.2, abs=1e-7)
    assert sh.shapley["A"] == pytest.approx(0.0, abs=1e-7) and sh.shapley["B"] == pytest.approx(0.0, abs=1e-7)
    assert sum(sh.shapley.values()) == pytest.approx(v[F("ABC")], abs=1e-9)
    assert sh.epsilon <= 0
    for s, cost in v.items():
        if s:
            assert sum(sh.least_core[i] for i in s) <= cost + sh.epsilon + 1e-7


def test_answers_do_not_depend_on_the_number_of_workers_and_sampling_keeps_efficiency(make_case):
    """Every v(S) is the same with one worker and with two; 40 sampled orderings of three members need the same
    seven coalitions, and their shares still add up to v(N) exactly (each ordering's marginal costs do)."""
    path = make_case(BASE, **plant_sheets())
    one, two = study(path, jobs=1), study(path, jobs=2)
    assert [(r["members"], r["v_musd"], r["status"]) for r in one.rows] == \
           [(r["members"], r["v_musd"], r["status"]) for r in two.rows]
    sampled = study(path, sample=40, seed=3)
    assert sampled.orderings == 40 and sampled.shares.epsilon is None and sampled.shares.in_core is None
    assert sum(sampled.shares.shapley.values()) == pytest.approx(1.1, abs=1e-9)
    assert all(se >= 0 for se in sampled.shares.standard_error.values())


# ---------------------------------------------------------------- S's case


def test_a_leaver_takes_its_rows_and_leaves_its_projects_producing(make_case):
    """B leaves: its region becomes a partner; its demand, fund, budgets, policy, shortfall-cost rows, stockpile and
    the demand_shock on it go; A's stockpile paid by B's fund keeps its holding and may not buy; B's committed plant
    stays, sunk (capex 0); the supply_cut of X and the route naming B stay."""
    sheets = swap_sheets()
    sheets["Funds"] = [{"fund": "bf", "owner": "B", "instrument": "stockpile", "budget_cost_per_musd": 1}]
    sheets["Budgets"] = [{"fund": "bf", "year": Y, "budget_musd": 1}]
    sheets["Stockpiles"][0]["fund"] = "bf"
    sheets["Projects"].append({"project": "bplant", "region": "B", "status": "committed", "output": "mag",
                               "capacity_tpy": 5, "capex_musd": 1, "lead_time_yr": 0, "fid_year": Y})
    sheets["Policies"] = [{"region": "B", "material": "mag", "max_concern_share": 0.5},
                          {"region": "A", "material": "ox", "max_concern_share": 0.5}]
    sheets["ShortfallCosts"] = [{"material": "mag", "region": "B", "up_to_share": 1, "penalty_usd_per_t": 100_000}]
    sheets["Disruptions"].append({"scenario": "base", "kind": "demand_shock", "target": "B", "start_year": Y,
                                  "magnitude": 2})
    sheets["Routes"] = [{"origin": "B", "destination": "A", "transport_usd_per_t": 10}]
    case = load_case(make_case(BASE, **sheets))
    a = coalition_case(case, ["A"])
    t = a.tables
    assert t["Regions"].set_index("region").loc["B", ["bloc", "member"]].tolist() == ["partner", False]
    assert set(t["Demand"]["region"]) == {"A"}
    assert t["Funds"].empty and t["Budgets"].empty
    assert t["Policies"]["region"].tolist() == ["A"]
    assert "ShortfallCosts" not in t or t["ShortfallCosts"].empty  # the sheet came with the v2 schema
    kept = t["Stockpiles"].set_index("stockpile")
    assert list(kept.index) == ["a_mag"] and kept.loc["a_mag", "fund"] is None and kept.loc["a_mag", "initial_t"] == 10
    assert kept.loc["a_mag", "buy_until_year"] < Y
    assert t["Disruptions"]["kind"].tolist() == ["supply_cut"]
    assert t["Projects"].set_index("project").loc["bplant", "capex_musd"] == 0
    assert len(t["Routes"]) == 1
    assert case.tables["Demand"]["region"].tolist() == ["A", "B"]  # the case itself is untouched
    assert coalition_case(case, ["A", "B"]) is case


def test_a_leavers_committed_plant_is_sunk_and_its_fixed_opex_is_outside_the_coalitions_cost(make_case):
    """The swap case plus B's committed plant: 5 t/yr of mag from 2026, capex 1 (life 1: capital 1 in 2026), fixed opex
    0.05. {A}: the plant is B's, sunk (no capex) and idle; A's case costs 0.3 + 0.05 + X's mine 0.1 = 0.45, of which
    K({A}) = 0.15: v({A}) = 0.3. {B}: capital 1 + opex 0.05 + 5 t bought 0.25 − 10 t of ox credited 0.2 + 0.1 = 1.2,
    K = 0.1 (the mine): v({B}) = 1.1. N: B uses 5 t from the plant and 5 t of A's mag, A keeps 5 t (credit 0.1) and
    gets B's ox: 1 + 0.05 − 0.1 + 0.1 = 1.05, K(N) = 0.1: v(N) = 0.95."""
    sheets = swap_sheets()
    sheets["Projects"].append({"project": "bplant", "region": "B", "status": "committed", "output": "mag",
                               "capacity_tpy": 5, "capex_musd": 1, "fixed_opex_musd_per_yr": 0.05, "lead_time_yr": 0,
                               "fid_year": Y, "life_yr": 1})
    case = load_case(make_case(BASE, **sheets))
    want = {("A",): (0.45, 0.15, 0.3), ("B",): (1.2, 0.1, 1.1), ("A", "B"): (1.05, 0.1, 0.95)}
    for members, (objective, k, v) in want.items():
        row = solve_coalition(CoalitionTask(members, case, {"evpi_vss": False}))
        assert row["status"] == "optimal", row
        got = (row["objective_musd"], row["outside_fixed_costs_musd"], row["v_musd"])
        assert got == pytest.approx((objective, k, v), abs=1e-7), members


def test_one_member_is_a_clear_error(make_case):
    one = swap_sheets()
    one["Regions"] = [region("A"), region("B", member=False), region("X", member=False)]
    one["Demand"] = one["Demand"][:1]
    one["Stockpiles"] = one["Stockpiles"][:1]
    with pytest.raises(RunError, match="one member .A.: a coalition study needs at least two members"):
        coalition_study(load_case(make_case(BASE, **one)))


def test_a_coalition_without_a_value_is_a_row_with_its_reason_and_blank_shares(make_case, tmp_path):
    """A v(S) that fails is a row saying why; the workbook is still written, with the shares left blank."""
    case = load_case(make_case(BASE, **swap_sheets()))
    bad = solve_coalition(CoalitionTask(("A", "Z"), case, {}))
    assert bad["status"] == "error" and "not members of" in bad["reason"] and bad["v_musd"] is None
    rows = [coalition_row(("A",), "infeasible", "the case is infeasible: no plan meets every rule of the case"),
            coalition_row(("B",), "optimal", "", v_musd=0.3, objective_musd=0.4, outside_fixed_costs_musd=0.1,
                          bound_musd=0.3, gap=0.0),
            coalition_row(("A", "B"), "optimal", "", v_musd=0.0, objective_musd=0.1, outside_fixed_costs_musd=0.1,
                          bound_musd=0.0, gap=0.0)]
    out = write_coalition_book(tmp_path / "c.xlsx", CoalitionOutcome(case, ["A", "B"], rows, None), RunInfo())
    wb = load_workbook(out)
    coal = list(wb["Coalitions"].values)
    assert coal[1][2] is None and coal[1][3] == "infeasible" and "infeasible" in coal[1][coal[0].index("reason")]
    shares = list(wb["Shares"].values)
    assert shares[1][1] is None and shares[2][1] == pytest.approx(0.3) and shares[2][2] is None
    stab = {r[0]: r[1] for r in wb["Stability"].values}
    assert stab["coalitions without a value"] == 1


# ---------------------------------------------------------------- properties of the sharing maths


def random_game(members: list[str], rng: random.Random, twins: tuple[str, str] | None = None) -> games.Game:
    """A random cost game; with `twins` (a, b), a set holding b but not a costs what the same set with a does."""
    def canon(s: frozenset) -> frozenset:
        if twins and twins[1] in s and twins[0] not in s:
            return (s - {twins[1]}) | {twins[0]}
        return s

    drawn: games.Game = {}
    v: games.Game = {F(): 0.0}
    for k in range(1, len(members) + 1):
        for s in itertools.combinations(members, k):
            key = canon(F(s))
            if key not in drawn:
                drawn[key] = rng.uniform(0, 10) * k ** 0.7
            v[F(s)] = drawn[key]
    return v


@pytest.mark.parametrize("seed", range(6))
def test_shares_are_efficient_symmetric_and_the_least_core_holds(seed):
    rng = random.Random(seed)
    members = list("ABCDE")[: 3 + seed % 3]
    v = random_game(members, rng, twins=("A", "B"))
    sh = games.exact_shares(members, v)
    grand = F(members)
    assert sum(sh.shapley.values()) == pytest.approx(v[grand], abs=1e-9)
    assert sh.shapley["A"] == pytest.approx(sh.shapley["B"], abs=1e-9)
    assert sum(sh.least_core.values()) == pytest.approx(v[grand], abs=1e-6)
    for s, cost in v.items():
        if s and s != grand:
            assert sum(sh.least_core[i] for i in s) <= cost + sh.epsilon + 1e-6
    if sh.epsilon <= 0:  # a non-empty core: the allocation is in it
        assert all(sum(sh.least_core[i] for i in s) <= cost + 1e-6 for s, cost in v.items() if s)
    orders = [tuple(p) for p in itertools.permutations(members)]
    phi, _ = games.sampled_shapley(members, v, orders)  # every ordering once: the exact shares
    assert phi == pytest.approx(sh.shapley, abs=1e-9)


def test_dummy_member_in_a_random_game_pays_its_stand_alone_cost():
    rng = random.Random(7)
    members = ["A", "B", "C", "D"]
    v = random_game(members[:3], rng)
    for s in list(v):
        v[s | {"D"}] = v[s] + 2.5
    sh = games.exact_shares(members, v)
    assert sh.shapley["D"] == pytest.approx(2.5, abs=1e-9) == pytest.approx(v[F("D")])
    assert not math.isnan(sh.epsilon)


# ---------------------------------------------------------------- the command


def test_coalition_command_writes_the_workbook_and_prints_the_shares(make_case, tmp_path):
    path = make_case(BASE, **swap_sheets())
    res = run_cli("coalition", path, "-j", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = tmp_path / "outputs" / "case_coalition.xlsx"  # the working folder's outputs/
    assert f"coalition workbook: {out}" in res.stdout
    assert "stand_alone_musd" in res.stdout and "shapley_musd" in res.stdout
    assert "3/3" in res.stderr and "should take about" in res.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == ["Coalitions", "Shares", "Stability", "Manifest"]
    shares = list(wb["Shares"].values)
    assert shares[0][:4] == ("member", "stand_alone_musd", "shapley_musd", "saving_musd")
    assert [r[0] for r in shares[1:]] == ["A", "B"]
    assert shares[1][4] == pytest.approx(0.5)  # A's part of the saving
    assert len(wb["Shares"]._charts) == 1
    coal = list(wb["Coalitions"].values)
    assert coal[0][:5] == ("coalition", "members", "v_musd", "status", "gap")
    assert [r[1] for r in coal[1:]] == ["A", "B", "A, B"]
    again = run_cli("coalition", path, "-o", out)
    assert again.returncode != 0 and "--force" in again.stderr


def test_coalition_command_refuses_a_case_with_one_member(make_case, tmp_path):
    one = swap_sheets()
    one["Regions"] = [region("A"), region("B", member=False), region("X", member=False)]
    one["Demand"], one["Stockpiles"] = one["Demand"][:1], one["Stockpiles"][:1]
    res = run_cli("coalition", make_case(BASE, **one), cwd=tmp_path)
    assert res.returncode != 0
    assert "needs at least two members" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "outputs").exists()
