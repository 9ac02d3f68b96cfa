"""The scenario tree of DESIGN.md "Information and the scenario tree", built from small cases.

Scenarios s and s′ share the node of year t when their derived data agree in
every year y ≤ t; a node is named by its first scenario in the Scenarios
order; a project's slip is learned in τ + lead, when it fails to come online;
under `decisions = now` fid, aid, buy and carry live at one node `all` per
year while releases and inventories stay at the information nodes. Each test
states the tree it expects from those rules and checks the derived data
(`build_data`) or the model's variable indices (`build_model`).
"""

from __future__ import annotations

import pytest

from model.case.load import load_case
from model.formulation import build_model
from model.formulation.data import build_data

Y = 2026
BASE = {"discount_rate": 0, "mcpf": 0, "mip_rel_gap": 1e-9}
US = {"region": "US", "bloc": "ally", "member": "Y"}
X = {"region": "X", "bloc": "partner", "member": "N"}
AU = {"region": "AU", "bloc": "ally", "member": "N"}
MAG = {"material": "mag", "stage": "magnet", "price_usd_per_t": 20_000, "shortfall_penalty_usd_per_t": 1_000_000}
IDLE = {"project": "idle", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}


def _case(make_case, years, scenarios, disruptions, projects=(IDLE,), **extra):
    sheets = {
        "Regions": [US, X, AU], "Materials": [MAG],
        "Demand": [{"region": "US", "material": "mag", "year": y, "demand_t": 10} for y in years],
        "Supply": [{"origin": o, "material": "mag", "year": y, "max_t": 10, "price_usd_per_t": p}
                   for y in years for o, p in (("X", 10_000), ("AU", 30_000))],
        "Projects": list(projects), "Scenarios": [{"scenario": s, "probability": p} for s, p in scenarios],
        "Disruptions": disruptions,
    }
    settings = {**BASE, "start_year": years[0], "end_year": years[-1], **extra.pop("settings", {})}
    sheets.update(extra)
    return load_case(make_case(settings, **sheets))


def _cut(scenario, start, end=None, magnitude=1.0, target="X"):
    row = {"scenario": scenario, "kind": "supply_cut", "target": target, "material": "mag", "start_year": start,
           "magnitude": magnitude}
    if end is not None:
        row["end_year"] = end
    return row


def test_identical_scenarios_share_every_node(make_case):
    """a and b have the same ban (X cut from 2027): they sit in one node every year, named a.

    2026-2028; a (0.3), b (0.3), c (0.4, calm). 2026: one node `a` holding all
    three (π 1). 2027, 2028: node `a` = {a, b} (π 0.6) and node `c` = {c}.
    5 nodes.
    """
    years = [Y, Y + 1, Y + 2]
    case = _case(make_case, years, [("a", 0.3), ("b", 0.3), ("c", 0.4)], [_cut("a", Y + 1), _cut("b", Y + 1)])
    tree = build_data(case).tree
    assert all(tree.node["b", t] == tree.node["a", t] == "a" for t in years)
    assert tree.node["c", Y] == "a" and tree.node["c", Y + 1] == "c"
    node = tree.nodes[Y + 1, "a"]
    assert node.scenarios == ("a", "b") and node.probability == pytest.approx(0.6) and node.parent == "a"
    assert tree.nodes[Y, "a"].probability == pytest.approx(1.0)
    assert tree.count() == 5


def test_ban_starting_in_2027_splits_the_tree_in_2027_not_before(make_case):
    """calm and ban (X cut from 2027) cannot be told apart in 2026: one root node, the branch in 2027.

    2026-2029: node[ban, 2026] = calm (the first scenario), node[ban, 2027] =
    ban with parent calm; first_branch 2027, root years [2026].
    """
    years = list(range(Y, Y + 4))
    tree = build_data(_case(make_case, years, [("calm", 0.7), ("ban", 0.3)], [_cut("ban", Y + 1)])).tree
    assert tree.node["ban", Y] == "calm"
    assert tree.node["ban", Y + 1] == "ban"
    assert tree.nodes[Y + 1, "ban"].parent == "calm"
    assert tree.first_branch == Y + 1
    assert tree.root_years() == [Y]
    assert tree.nodes[Y + 1, "ban"].probability == pytest.approx(0.3)


def test_bans_of_three_and_five_years_share_nodes_until_the_shorter_ends(make_case):
    """ban3 (2027-2029) and ban5 (2027-2031) agree up to 2029 and split in 2030, the first year they differ.

    2026-2032, calm / ban3 / ban5. 2026: 1 node; 2027-2029: calm and ban3
    (= {ban3, ban5}); 2030-2032: calm, ban3, ban5 (ban3's 2030 data equal
    calm's, but its parent differs). 1 + 3·2 + 3·3 = 16 nodes.
    """
    years = list(range(Y, Y + 7))
    tree = build_data(_case(make_case, years, [("calm", 0.5), ("ban3", 0.25), ("ban5", 0.25)],
                            [_cut("ban3", Y + 1, Y + 3), _cut("ban5", Y + 1, Y + 5)])).tree
    for t in (Y + 1, Y + 2, Y + 3):
        assert tree.node["ban5", t] == "ban3", t
        assert tree.node["calm", t] == "calm"
    assert tree.node["ban5", Y + 4] == "ban5"
    assert tree.nodes[Y + 4, "ban5"].parent == "ban3"
    assert tree.node["ban3", Y + 4] == "ban3" != tree.node["calm", Y + 4]
    assert tree.count() == 16


@pytest.mark.parametrize("end_year", [None, Y], ids=["fids-2026-on", "fid-2026-only"])
def test_project_delay_is_learned_when_the_project_fails_to_come_online(make_case, end_year):
    """A slip of an FID taken in τ is learned in τ + lead (P: lead 2, so 2028), not at the FID.

    2026-2030; candidate P (lead 2, W_P = 2026..2028); `late` delays FIDs
    from 2026 (to the horizon end, or 2026 only) by 1 year. d_{P,2026} is
    learned in 2028, so ontime and late share 2026 and 2027 and split in 2028.
    """
    years = list(range(Y, Y + 5))
    p = {"project": "P", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": 10,
         "capex_musd": 1, "lead_time_yr": 2, "life_yr": 5}
    row = {"scenario": "late", "kind": "project_delay", "target": "P", "start_year": Y, "magnitude": 1}
    if end_year is not None:
        row["end_year"] = end_year
    tree = build_data(_case(make_case, years, [("ontime", 0.5), ("late", 0.5)], [row], projects=(IDLE, p))).tree
    assert tree.node["late", Y + 1] == "ontime"
    assert tree.node["late", Y + 2] == "late"
    assert tree.first_branch == Y + 2


def test_project_delay_no_fid_can_meet_splits_nothing(make_case):
    """A delay of FIDs from 2029 on, when P's window ends in 2028 (2030 − lead 2), is never learned: one path."""
    years = list(range(Y, Y + 5))
    p = {"project": "P", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": 10,
         "capex_musd": 1, "lead_time_yr": 2, "life_yr": 5}
    row = {"scenario": "late", "kind": "project_delay", "target": "P", "start_year": Y + 3, "magnitude": 1}
    tree = build_data(_case(make_case, years, [("ontime", 0.5), ("late", 0.5)], [row], projects=(IDLE, p))).tree
    assert tree.first_branch is None
    assert all(tree.node["late", t] == "ontime" for t in years)


def _now_case(make_case, decisions):
    """2026-2027, calm / ban (X cut 2027); candidate P, carry-over grant G, stockpile S (releases in any year)."""
    years = [Y, Y + 1]
    p = {"project": "P", "region": "US", "status": "candidate", "output": "mag", "capacity_tpy": 10,
         "capex_musd": 0.5, "lead_time_yr": 0, "life_yr": 1}
    return _case(make_case, years, [("calm", 0.5), ("ban", 0.5)], [_cut("ban", Y + 1)], projects=(IDLE, p),
                 settings={"decisions": decisions},
                 Funds=[{"fund": "G", "owner": "US", "instrument": "grant", "carryover": "Y"}],
                 Budgets=[{"fund": "G", "year": y, "budget_musd": 1} for y in years],
                 Stockpiles=[{"stockpile": "S", "owner": "US", "location": "US", "material": "mag", "initial_t": 5,
                              "release_only_in_disruption": "N"}])


def _nodes(var, year_at, node_at, year):
    return {key[node_at] for key in var if key[year_at] == year}


def test_decisions_now_put_fid_aid_buy_and_carry_at_one_node_but_releases_at_information_nodes(make_case):
    """decisions = now: fid[p,τ,all], aid[p,f,τ,all], buy[k,g,t,all], carry[f,t,all]; rel and inv at calm/ban.

    Tree: 2026 {calm}, 2027 {calm, ban}. ν^D(s, t) = all for every s, t;
    releases react to what is happening, so rel[k,g,2027,·] exists at both
    information nodes of 2027. Under adaptive the 2027 decisions are at calm
    and ban too.
    """
    case = _now_case(make_case, "now")
    m = build_model(case)
    tree = m.data.tree
    assert tree.decision("ban", Y + 1) == tree.decision("calm", Y) == "all"
    for year in (Y, Y + 1):
        assert _nodes(m.fid, 1, 2, year) == {"all"}
        assert _nodes(m.aid, 2, 3, year) == {"all"}
        assert _nodes(m.buy, 2, 3, year) == {"all"}
        assert _nodes(m.carry, 1, 2, year) == {"all"}
    assert _nodes(m.rel, 2, 3, Y) == _nodes(m.inv, 2, 3, Y) == {"calm"}
    assert _nodes(m.rel, 2, 3, Y + 1) == _nodes(m.inv, 2, 3, Y + 1) == {"calm", "ban"}

    adaptive = build_model(_now_case(make_case, "adaptive"))
    assert _nodes(adaptive.fid, 1, 2, Y + 1) == {"calm", "ban"}
    assert _nodes(adaptive.buy, 2, 3, Y + 1) == {"calm", "ban"}
    assert _nodes(adaptive.fid, 1, 2, Y) == {"calm"}


def test_star_disruption_acts_in_every_scenario_and_splits_nothing(make_case):
    """A Disruptions row of scenario `*` (X cut by half in 2026) acts in a and b alike: one node, both cut.

    One year, US demands 10 t; X offers 10 t at 10,000 USD/t, AU 10 t at
    30,000. With X's offer cut to 5 t in both scenarios: 5 · 10,000 +
    5 · 30,000 = 0.2 in each, objective 0.2; the tree is one node.
    """
    from model.solve.solver import solve_case

    case = _case(make_case, [Y], [("a", 0.5), ("b", 0.5)], [_cut("*", Y, magnitude=0.5)])
    d = build_data(case)
    assert d.tree.first_branch is None and d.tree.count() == 1
    assert d.tree.node["b", Y] == "a"
    assert all(d.effects[s].cut.get(("X", "mag", Y)) == pytest.approx(0.5) for s in ("a", "b"))
    sol = solve_case(case, {"evpi_vss": False})
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(0.2, rel=1e-6)
    costs = sol.scenarios.set_index("scenario")["cost_musd"].astype(float).to_dict()
    assert costs == pytest.approx({"a": 0.2, "b": 0.2}, rel=1e-6)


def test_star_disruption_beside_a_scenarios_own_row_splits_only_where_the_own_row_acts(make_case):
    """`*` cuts X in 2026 everywhere; b's own row cuts AU from 2027: one node in 2026, a split in 2027."""
    years = [Y, Y + 1]
    case = _case(make_case, years, [("a", 0.5), ("b", 0.5)],
                 [_cut("*", Y, magnitude=0.5), _cut("b", Y + 1, target="AU")])
    tree = build_data(case).tree
    assert tree.node["b", Y] == "a"
    assert tree.node["b", Y + 1] == "b"
    assert tree.first_branch == Y + 1


def test_tree_larger_than_max_nodes_is_refused_with_a_message(make_case):
    """The identical-scenario case's tree has 5 nodes: max_nodes 5 builds it, max_nodes 4 is refused by name."""
    from model.problems import RunError

    years = [Y, Y + 1, Y + 2]
    scen, rows = [("a", 0.3), ("b", 0.3), ("c", 0.4)], [_cut("a", Y + 1), _cut("b", Y + 1)]
    assert build_data(_case(make_case, years, scen, rows, settings={"max_nodes": 5})).tree.count() == 5
    with pytest.raises(RunError, match="max_nodes"):
        build_data(_case(make_case, years, scen, rows, settings={"max_nodes": 4}))


def test_decisions_now_without_stockpiles_needs_one_node_a_year(make_case):
    """Under `now` with no stockpile, only the decision node `all` of each year carries decisions: 3 ≤ 4 builds."""
    years = [Y, Y + 1, Y + 2]
    scen, rows = [("a", 0.3), ("b", 0.3), ("c", 0.4)], [_cut("a", Y + 1), _cut("b", Y + 1)]
    d = build_data(_case(make_case, years, scen, rows, settings={"max_nodes": 4, "decisions": "now"}))
    assert d.tree.count() == 5 and d.tree.decision_nodes(Y + 1) == ["all"]


def test_single_scenario_models_of_two_cases_built_in_turn_each_see_their_own_tree(make_case):
    """The case-wide derived data is reused between one case's builds, never lent to another case.

    Case A bans X from 2027, case B from 2028: a scenario model of A branches in 2027, one of B in 2028, however
    the builds are interleaved, and a rebuilt case (a new object from the same file) derives its own."""
    years = list(range(Y, Y + 4))
    a = _case(make_case, years, [("calm", 0.5), ("ban", 0.5)], [_cut("ban", Y + 1)])
    b = _case(make_case, years, [("calm", 0.5), ("ban", 0.5)], [_cut("ban", Y + 2)])
    for case, branch in ((a, Y + 1), (b, Y + 2), (a, Y + 1), (b, Y + 2)):
        data = build_data(case, ["ban"])
        assert data.tree.node["ban", branch] == "ban" and data.tree.node["ban", branch - 1] == "calm"
        assert build_data(case).tree.first_branch == branch
    del a
    c = _case(make_case, years, [("calm", 0.5), ("ban", 0.5)], [_cut("ban", Y + 3)])
    assert build_data(c, ["ban"]).tree.node["ban", Y + 2] == "calm"
    assert build_data(c).tree.first_branch == Y + 3
