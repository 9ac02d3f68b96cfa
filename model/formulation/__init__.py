"""The planning model of DESIGN.md "Mathematics (v2)", built in Pyomo from a Case.

`build_model(case)` derives the sets, parameters and the scenario tree once
(`data.py`, `tree.py`), then adds each constraint group in turn: decisions
at the tree's nodes (financing), capacity, stockpiles, the balance by traced
origin, and the objective with its risk term. Cost terms are collected in
one ledger (`ledger.py`) from which the objective, Z_s and the breakdown are
all read. The model is returned unsolved.

Each constraint family declares its rows over their index and then fills
them, rather than handing Pyomo a rule, and the objective is declared and
then given its expression: Pyomo keeps a component's rule or initial
expression for as long as the model lives, and with it everything the rule's
closure holds (the pre-grouped terms, often larger than the rows themselves).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from model.formulation import balance, capacity, financing, objective, stockpile
from model.formulation.data import MEAN_VALUE, build_data
from model.formulation.ledger import Ledger

if TYPE_CHECKING:
    from model.case.load import Case

__all__ = ["MEAN_VALUE", "build_model", "decision_vars", "nodal_vars"]


def build_model(case: Case, scenarios: list[str] | None = None, *, risk: bool = True, mean_value: bool = False,
                mode: str | None = None) -> pyo.ConcreteModel:
    """Extensive form of the case over `scenarios` (default all, weighted by probability).

    With one scenario it is that scenario's own model (weight 1), its
    decisions indexed by the nodes of the whole case's tree (`nodal_vars`).
    `risk` False drops the CVaR term (every KPI solve is on expected cost);
    `mean_value` builds the mean-value problem of DESIGN.md's VSS; `mode`
    overrides Settings `decisions`. The derived data is `model.data`, the
    cost ledger `model.ledger`.
    """
    # Building creates millions of small objects and no cycles: the collector would only slow it down.
    with PauseGC():
        return _build(case, scenarios, risk, mean_value, mode)


def _build(case, scenarios, risk, mean_value, mode) -> pyo.ConcreteModel:
    d = build_data(case, scenarios, mean_value=mean_value, mode=mode)
    ledger = Ledger()
    m = pyo.ConcreteModel(name=str(case.settings.get("case_name") or "minplan"))
    m.data, m.ledger = d, ledger
    financing.add_decision_vars(m, d)
    financing.add_fid_once(m, d)
    financing.add_public_share(m, d)
    financing.add_aid_cap(m, d)
    financing.add_fund_budgets(m, d)
    financing.add_dependencies(m, d)
    financing.add_decision_costs(m, d, ledger)
    capacity.add_production(m, d, ledger)
    capacity.add_external_supply(m, d, ledger)
    stockpile.add_stockpiles(m, d, ledger)
    balance.add_shipments(m, d, ledger)
    groups = balance.group_terms(m, d)
    balance.find_sinks(d, groups)
    balance.add_consumption(m, d, groups)
    balance.add_shortfall(m, d, ledger, groups)
    balance.add_member_balance(m, d, groups)
    balance.add_use(m, d, groups)
    balance.add_nonmember_balance(m, d, groups)
    balance.add_policies(m, d, groups)
    objective.add_objective(m, d, ledger, risk=risk)
    return m


def decision_vars(model: pyo.ConcreteModel) -> list:
    """fid, aid, buy and carry at every decision node (what EEV and the stochastic engines fix or share)."""
    return [*model.fid.values(), *model.aid.values(), *model.buy.values(), *model.carry.values()]


def nodal_vars(model: pyo.ConcreteModel, states: bool = True) -> dict[tuple[int, str], list]:
    """Every variable that lives at a node, by (year, node): fid, aid, buy, carry at decision nodes and rel, inv
    at information nodes (tv at the end nodes). A multi-stage engine makes them equal across a node's scenarios.

    `states` False leaves out inv, tv and carry: in an elastic model (`elastic.add_elastic`) inventories and the
    credit follow from the shared purchases and releases, and carrying more over is never worse."""
    out = defaultdict(list)
    for (p, tau, v), x in model.fid.items():
        out[tau, v].append(x)
    for (p, f, tau, v), x in model.aid.items():
        out[tau, v].append(x)
    for (k, g, t, v), x in model.buy.items():
        out[t, v].append(x)
    for (k, g, t, mu), x in model.rel.items():
        out[t, mu].append(x)
    if not states:
        return dict(out)
    for (f, t, v), x in model.carry.items():
        out[t, v].append(x)
    for (k, g, t, mu), x in model.inv.items():
        out[t, mu].append(x)
    for (k, mu), x in model.tv.items():
        out[model.data.end, mu].append(x)
    return dict(out)
