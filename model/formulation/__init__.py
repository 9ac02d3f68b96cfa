"""The planning model of DESIGN.md "Mathematics (v1)", built in Pyomo from a Case.

`build_model(case)` derives the sets and parameters once (`data.py`), then
adds each constraint group in turn: financing (first stage), capacity,
stockpiles, balance, and the objective with its risk term. Cost terms are
collected in one ledger (`ledger.py`) from which the objective, Z_s and the
breakdown are all read. The model is returned unsolved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from model.formulation import balance, capacity, financing, objective, stockpile
from model.formulation.data import MEAN_VALUE, build_data
from model.formulation.ledger import Ledger

if TYPE_CHECKING:
    from model.case.load import Case

__all__ = ["MEAN_VALUE", "build_model", "first_stage_vars"]


def build_model(case: Case, scenarios: list[str] | None = None, *, risk: bool = True, mean_value: bool = False) -> pyo.ConcreteModel:
    """Extensive form of the case over `scenarios` (default all, weighted by probability).

    With one scenario it is that scenario's own model (weight 1). `risk`
    False drops the CVaR term (EVPI and VSS are on expected cost);
    `mean_value` builds the mean-value problem of DESIGN.md's VSS. The derived
    data is `model.data`, the cost ledger `model.ledger`.
    """
    # Building creates millions of small objects and no cycles: the collector would only slow it down.
    with PauseGC():
        return _build(case, scenarios, risk, mean_value)


def _build(case: Case, scenarios: list[str] | None, risk: bool, mean_value: bool) -> pyo.ConcreteModel:
    d = build_data(case, scenarios, mean_value=mean_value)
    ledger = Ledger()
    m = pyo.ConcreteModel(name=str(case.settings.get("case_name") or "minplan"))
    m.data, m.ledger = d, ledger
    financing.add_first_stage_vars(m, d)
    financing.add_fid_once(m, d)
    financing.add_public_share(m, d)
    financing.add_aid_cap(m, d)
    financing.add_fund_budgets(m, d)
    financing.add_dependencies(m, d)
    financing.add_first_stage_costs(m, d, ledger)
    capacity.add_production(m, d, ledger)
    capacity.add_external_supply(m, d, ledger)
    stockpile.add_stockpiles(m, d, ledger)
    balance.add_shipments(m, d, ledger)
    balance.add_shortfall(m, d, ledger)
    terms = balance.balance_terms(m, d)  # needs every variable above
    balance.add_balance(m, d, terms)
    balance.add_no_transshipment(m, d, terms)
    balance.add_policies(m, d, terms)
    objective.add_objective(m, d, ledger, risk=risk)
    return m


def first_stage_vars(model: pyo.ConcreteModel) -> list:
    """The first-stage variables: fid, aid, buy, carry and η (when the risk term is present)."""
    out = [*model.fid.values(), *model.aid.values(), *model.buy.values(), *model.carry.values()]
    if hasattr(model, "eta"):
        out.append(model.eta)
    return out
