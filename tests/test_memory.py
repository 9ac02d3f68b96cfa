"""What the model, the hand-over and the case keep in memory, and that keeping less changes no answer."""

from __future__ import annotations

import pickle
from pathlib import Path

import pyomo.environ as pyo
import pytest
from pyomo.core.expr import MonomialTermExpression
from pyomo.repn import generate_standard_repn

from model.case.load import load_case
from model.formulation import build_model
from model.formulation.balance import Uses
from model.formulation.ledger import affine
from model.solve.highs import HighsRun
from model.solve.solver import solve_model, solver_options

ROOT = Path(__file__).resolve().parents[1]
Y = 2026
TABLES = ("breakdown", "portfolio", "aid", "funding", "supply", "shortfall", "stockpiles", "stockpile_values",
          "dependence", "scenarios", "decisions")


def _import_case(make_case, years=1, **extra):
    """A member US needing 10 t of mag a year from 2026, offered 20 t a year by the non-member X at 1000 USD/t,
    50 USD/t to ship."""
    return make_case(
        {"start_year": Y, "end_year": Y + years - 1, "discount_rate": 0, "mcpf": 0},
        Regions=[{"region": "US", "bloc": "ally", "member": "Y"}, {"region": "X", "bloc": "partner", "member": "N"}],
        Materials=[{"material": "mag", "stage": "magnet", "price_usd_per_t": 1000, "shortfall_penalty_usd_per_t": 5000}],
        Demand=[{"region": "US", "material": "mag", "year": Y + i, "demand_t": 10} for i in range(years)],
        Projects=[{"project": "none", "region": "X", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Supply=[{"origin": "X", "material": "mag", "year": Y + i, "max_t": 20, "price_usd_per_t": 1000}
                for i in range(years)],
        Routes=[{"origin": "X", "destination": "US", "transport_usd_per_t": 50}], **extra)


def test_rows_and_objective_keep_no_builder_data(make_case):
    """Every constraint family and the objective is built without a rule or initial expression that Pyomo would keep
    (with the grouped terms its closure holds) for the model's lifetime."""
    for path in (_import_case(make_case), ROOT / "cases" / "example.xlsx"):
        m = build_model(load_case(path))
        kept = [c.name for c in m.component_objects((pyo.Constraint, pyo.Objective)) if c.rule is not None]
        assert kept == []


def test_unit_terms_are_the_variables_themselves():
    """affine(1·x + 2·y − 3): x stands alone, y gets a monomial, and the repn reads the coefficients 1 and 2."""
    m = pyo.ConcreteModel()
    m.x, m.y = pyo.Var(), pyo.Var()
    e = affine([(1.0, m.x), (2.0, m.y)], -3.0)
    assert e.args[0] is m.x and isinstance(e.args[1], MonomialTermExpression)
    repn = generate_standard_repn(e)
    assert dict(zip([v.name for v in repn.linear_vars], repn.linear_coefs)) == {"x": 1, "y": 2.0}
    assert repn.constant == -3.0


def test_uses_gives_back_each_key_and_its_terms_in_order():
    """The flat columns of Uses read back as the grouped lists they were made from, empty lists included."""
    m = pyo.ConcreteModel()
    m.v = pyo.Var(range(3))
    groups = {("US", "mag", Y, "s"): [("X", 1.0, m.v[0]), ("coalition", 0.5, m.v[1])], ("EU", "mag", Y, "s"): [],
              ("JP", "mag", Y, "s"): [("X", 2.0, m.v[2])]}
    assert list(Uses(groups).items()) == list(groups.items())


def test_columns_are_looked_up_only_when_asked(make_case):
    """The column index is made on first use and maps each variable to its own column."""
    run = HighsRun(build_model(load_case(_import_case(make_case))), {})
    assert "col_index" not in vars(run)
    assert all(run.col_index[id(v)] == i for i, v in enumerate(run.columns))


def _tables(s):
    return {name: getattr(s, name).to_dict("records") for name in TABLES}


def test_own_model_loses_its_objective_and_the_answer_is_the_same(make_case):
    """Hand optimum: buy the 10 t from X, 10·(1000 + 50) USD = 0.0105 USD m. A model solved as its run's own drops
    its objective once HiGHS holds it; the Solution is the one of a model that keeps it."""
    case = load_case(_import_case(make_case))
    opts = solver_options(case, {"evpi_vss": False})
    own, kept = build_model(case), build_model(case)
    a = solve_model(case, own, opts, own_model=True)
    b = solve_model(case, kept, opts)
    assert not hasattr(own, "cost") and hasattr(kept, "cost")
    assert a.objective == pytest.approx(0.0105, rel=1e-9) and a.objective == b.objective
    assert _tables(a) == _tables(b) and a.kpis == b.kpis


def test_objective_is_kept_when_evpi_and_vss_compile_the_model_again(make_case):
    """Two scenarios, X's offer cut to 5 t in 2027 in one (30%): EEV recompiles the solved model, so its objective
    stays. Hand optimum: 10 t imported in 2026 and in 2027 on calm (0.0105 USD m each), 5 t and 5 t short on cut
    (0.00525 + 0.025): 0.0105 + 0.7·0.0105 + 0.3·0.03025 = 0.026925; nothing is decided before 2027 that could
    wait, so EEV is that cost (VSS 0); every KPI is that of a model solved without dropping anything."""
    path = _import_case(make_case, years=2, Scenarios=[{"scenario": "calm", "probability": 0.7},
                                                       {"scenario": "cut", "probability": 0.3}],
                        Disruptions=[{"scenario": "cut", "kind": "supply_cut", "target": "X", "material": "mag",
                                      "start_year": Y + 1, "magnitude": 0.75}])
    case = load_case(path)
    opts = solver_options(case)
    own, kept = build_model(case), build_model(case)
    a = solve_model(case, own, opts, own_model=True)
    b = solve_model(case, kept, opts)
    assert hasattr(own, "cost")
    assert a.objective == pytest.approx(0.026925, rel=1e-9) and a.kpis["eev_musd"] == pytest.approx(0.026925, rel=1e-9)
    assert a.kpis == b.kpis and _tables(a) == _tables(b)


def test_a_case_travels_to_a_sweep_worker_whole(make_case):
    """A sweep sends cases to worker processes: the records (with slots) come back from pickling equal, inherited
    cells included."""
    case = load_case(_import_case(make_case))
    back = pickle.loads(pickle.dumps(case))
    assert back.records.tables == case.records.tables and back.records.settings == case.records.settings


def test_equal_texts_in_a_column_are_read_as_one_object(make_case):
    """Routes names Xland in three rows and USA, EUR, JPN once each: the three Xland cells read as one string
    object (a one-letter text would be one object anyway)."""
    path = make_case(
        {"start_year": Y, "end_year": Y},
        Regions=[{"region": r, "bloc": "ally", "member": "Y"} for r in ("USA", "EUR", "JPN")]
        + [{"region": "Xland", "bloc": "partner", "member": "N"}],
        Materials=[{"material": "mag", "stage": "magnet", "price_usd_per_t": 1000, "shortfall_penalty_usd_per_t": 5000}],
        Demand=[{"region": r, "material": "mag", "year": Y, "demand_t": 10} for r in ("USA", "EUR", "JPN")],
        Projects=[{"project": "none", "region": "Xland", "status": "existing", "output": "mag", "capacity_tpy": 0}],
        Supply=[{"origin": "Xland", "material": "mag", "year": Y, "max_t": 40, "price_usd_per_t": 1000}],
        Routes=[{"origin": "Xland", "destination": r, "transport_usd_per_t": 50} for r in ("USA", "EUR", "JPN")])
    recs = load_case(path).records.tables["Routes"]
    assert [r.values["origin"] for r in recs] == ["Xland"] * 3
    assert len({id(r.values["origin"]) for r in recs}) == 1
    assert len({id(r.values["destination"]) for r in recs}) == 3
