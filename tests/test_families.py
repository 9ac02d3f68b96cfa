"""Scenario families: the scenarios an Events sheet generates, their names, order and probabilities, and the sample."""

from __future__ import annotations

import pytest

from model.case.load import load_case
from model.solve.solver import solve_case
from tests.conftest import minimal_sheets

# three independent events: 2, 3 and 1 options, none summing to 1
EVENTS = [
    {"event": "ree_ban", "option": "2027_1y", "probability": 0.1, "description": "ban in 2027"},
    {"event": "ree_ban", "option": "2027_3y", "probability": 0.2},
    {"event": "gaban", "option": "return", "probability": 0.3},
    {"event": "gaban", "option": "tighten", "probability": 0.1},
    {"event": "gaban", "option": "lift", "probability": 0.1},
    {"event": "delay", "option": "2y", "probability": 0.5},
]


def _family_case(make_case, events, settings=None, disruptions=()):
    return load_case(make_case({"end_year": 2028, **(settings or {})}, **minimal_sheets(), Events=events,
                               **({"Disruptions": list(disruptions)} if disruptions else {})))


def test_three_independent_events_give_every_combination_with_product_probabilities(make_case):
    """(2+1)·(3+1)·(1+1) = 24 scenarios; the probability of each is the product of its choices' (none = the rest)."""
    case = _family_case(make_case, EVENTS)
    sc = case.scenarios
    assert len(sc) == 24 and not case.sampled
    assert sum(sc.probability) == pytest.approx(1.0, abs=1e-12)
    p = dict(zip(sc.scenario, sc.probability))
    assert p["calm"] == pytest.approx(0.7 * 0.5 * 0.5)
    assert p["ree_ban=2027_3y+gaban=return+delay=2y"] == pytest.approx(0.2 * 0.3 * 0.5)
    assert p["gaban=lift"] == pytest.approx(0.7 * 0.1 * 0.5)
    assert dict(zip(sc.scenario, sc.options))["ree_ban=2027_3y+delay=2y"] == ("ree_ban=2027_3y", "delay=2y")


def test_the_first_event_varies_slowest_and_none_comes_before_the_options(make_case):
    names = list(_family_case(make_case, EVENTS).scenarios.scenario)
    assert names[:4] == ["calm", "delay=2y", "gaban=return", "gaban=return+delay=2y"]
    assert names[8] == "ree_ban=2027_1y"  # after the 4·2 scenarios without a ree_ban
    assert names[-1] == "ree_ban=2027_3y+gaban=lift+delay=2y"


def test_an_event_whose_options_sum_to_one_has_no_none(make_case):
    """gaban's options sum to 1 (within 1e-6): 3·3·2 = 18 scenarios, none without a gaban option."""
    events = [dict(e) for e in EVENTS]
    events[2]["probability"] = 0.8 - 1e-7
    case = _family_case(make_case, events)
    sc = case.scenarios
    assert len(sc) == (2 + 1) * 3 * (1 + 1)
    assert all("gaban=" in s for s in sc.scenario)
    assert sum(sc.probability) == pytest.approx(1.0, abs=1e-6)


def test_more_combinations_than_max_scenarios_draws_a_seeded_sample(make_case):
    """10 draws of 24 combinations: probabilities count/10, the same with the same seed, different with another."""
    def sample(seed):
        c = _family_case(make_case, EVENTS, {"max_scenarios": 10, "random_seed": seed})
        return c, list(zip(c.scenarios.scenario, c.scenarios.probability))

    first, a = sample(1)
    _, again = sample(1)
    _, other = sample(2)
    assert first.sampled and len(a) <= 10
    assert sum(p for _, p in a) == pytest.approx(1.0)
    assert all(round(p * 10, 9).is_integer() for _, p in a)
    assert len({s for s, _ in a}) == len(a)  # identical draws are merged
    assert a == again
    assert a != other


def test_a_disruption_row_naming_an_option_acts_in_every_scenario_that_has_it(make_case):
    """A cut of the only supply in ree_ban=2027_3y scenarios: shortfall only there, in 2027 onwards.

    The member needs 10 t a year; with no project, only the Supply offer (10 t a year) can meet it, so a cut of
    the offer leaves 10 t short in each year it acts: 2027 and 2028 (2 years, 20 t), in 2 of the 6 scenarios.
    """
    sheets = minimal_sheets()
    sheets["Regions"].append({"region": "CN", "bloc": "concern", "member": "N"})
    sheets["Projects"] = [{"project": "old", "region": "US", "status": "existing", "output": "mag", "capacity_tpy": 0}]
    sheets["Demand"] = [{"region": "US", "material": "mag", "year": y, "demand_t": 10} for y in (2026, 2027, 2028)]
    sheets["Supply"] = [{"origin": "CN", "material": "mag", "year": y, "max_t": 10, "price_usd_per_t": 100}
                        for y in (2026, 2027, 2028)]
    events = [EVENTS[0], EVENTS[1], {"event": "delay", "option": "2y", "probability": 0.5}]
    cut = {"scenario": "ree_ban=2027_3y", "kind": "supply_cut", "target": "CN", "material": "mag",
           "start_year": 2027}
    case = load_case(make_case({"end_year": 2028}, **sheets, Events=events, Disruptions=[cut]))
    s = solve_case(case, {"evpi_vss": False})
    assert s.status == "optimal"
    short = s.scenarios.set_index("scenario").shortfall_t
    assert {k for k, v in short.items() if v > 1e-6} == {"ree_ban=2027_3y", "ree_ban=2027_3y+delay=2y"}
    assert short["ree_ban=2027_3y"] == pytest.approx(20.0)
    opts = s.scenarios.set_index("scenario").options
    assert opts["ree_ban=2027_3y+delay=2y"] == "ree_ban=2027_3y + delay=2y"
