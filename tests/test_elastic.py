"""The elastic scenario model that progressive hedging works on (model/formulation/elastic.py).

Two properties: it is exact (σ = 0 at its optimum, and the optimum is the
original model's), and it is complete (a plan whose nodes come from
different scenarios' solutions, which the original model cannot carry out,
has a finite cost in it, with σ > 0 where the plan breaks a row).
"""

from __future__ import annotations

import pyomo.environ as pyo
import pytest
from pyomo.contrib.solver.common.factory import SolverFactory

from model.case.load import load_case
from model.formulation import build_model, nodal_vars
from model.formulation.elastic import add_elastic, elastic_prices
from tests.test_ph import listed_case

OPTIONS = {"mip_rel_gap": 1e-9, "random_seed": 0}  # no threads: HiGHS refuses a count other than its scheduler started with


def _solve(model: pyo.ConcreteModel):
    """The results, with the solution loaded into the model when there is one."""
    res = SolverFactory("highs").solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False,
                                       solver_options=OPTIONS)
    if res.incumbent_objective is not None:
        res.solution_loader.load_vars()
    return res


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return load_case(listed_case(tmp_path_factory.mktemp("elastic") / "case.xlsx"))


@pytest.mark.parametrize("scenario", ["calm", "ban27", "ban28"])
def test_elastic_model_has_the_original_optimum_with_no_slack(case, scenario):
    plain = build_model(case, scenarios=[scenario], risk=False)
    elastic = build_model(case, scenarios=[scenario], risk=False)
    added = add_elastic(elastic, elastic.data)
    assert added > 0
    a, b = _solve(plain), _solve(elastic)
    assert a.incumbent_objective == pytest.approx(b.incumbent_objective, rel=1e-9, abs=1e-9)
    assert max(v.value for v in elastic.elastic.values()) == pytest.approx(0.0, abs=1e-7)


def test_a_plan_the_scenario_cannot_carry_out_is_infeasible_plain_and_costed_elastic(case):
    """Release the whole 3 t holding in 2027 (the cut begins) and again 3 t in 2028 with nothing bought: the stock would go to −3 t.

    The plain model is infeasible; the elastic one makes up the 3 t at its price, ELASTIC_TIMES × the dearest
    thing a tonne of mag stands for (the 200,000 USD/t shortfall penalty): 3 · 10 · 0.2 = 6 USD m at least."""
    results = {}
    for elastic in (False, True):
        m = build_model(case, scenarios=["ban27"], risk=False)
        if elastic:
            add_elastic(m, m.data)
        for (k, g, t, _mu), var in m.rel.items():
            var.fix(3.0 if t in (2027, 2028) and g == "coalition" else 0.0)
        for var in m.buy.values():
            var.fix(0.0)
        results[elastic] = (_solve(m), m)
    plain, _ = results[False]
    assert plain.incumbent_objective is None
    res, m = results[True]
    assert res.incumbent_objective is not None
    assert sum(v.value for v in m.elastic.values()) == pytest.approx(3.0, abs=1e-6)
    assert pyo.value(m.elastic_cost) == pytest.approx(3 * elastic_prices(m.data)["mag"], rel=1e-9)
    assert elastic_prices(m.data)["mag"] == pytest.approx(10 * 200_000 / 1e6 * m.data.scale["mag"])


def test_ph_shares_decisions_and_releases_but_not_states(case):
    m = build_model(case, scenarios=["calm"], risk=False)
    shared = {id(v) for vs in nodal_vars(m, states=False).values() for v in vs}
    every = {id(v) for vs in nodal_vars(m).values() for v in vs}
    assert {id(v) for v in m.rel.values()} <= shared
    assert {id(v) for v in m.fid.values()} <= shared
    assert not shared & {id(v) for v in (*m.inv.values(), *m.carry.values(), *m.tv.values())}
    assert shared < every
