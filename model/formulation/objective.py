"""Objective: expected present-value cost plus the CVaR risk term."""

from __future__ import annotations

import pyomo.environ as pyo

from model.formulation.data import ModelData
from model.formulation.ledger import Ledger


def add_objective(m: pyo.ConcreteModel, d: ModelData, ledger: Ledger, risk: bool = True) -> None:
    """min Σ_s π_s Z_s + risk_weight·(η + 1/(1−cvar_alpha)·Σ_s π_s u_s),
    Z_s = Σ_t δ_t (decision costs on s's path + operating costs of s); u_s ≥ Z_s − η, u_s ≥ 0, η free.

    The risk term (η, u) is left out when risk_weight is 0 or `risk` is False.
    """
    expected = ledger.linear(d.delta, d.weight)
    rw = float(d.settings["risk_weight"]) if risk else 0.0
    m.risk_weight = rw
    if rw <= 0:
        m.cost = pyo.Objective(sense=pyo.minimize)  # declared, then given its expression: see the package's docstring
        m.cost.expr = expected
        return
    alpha = float(d.settings["cvar_alpha"])
    m.eta = pyo.Var(domain=pyo.Reals)
    m.u = pyo.Var(d.scenarios, domain=pyo.NonNegativeReals)
    z = ledger.by_scenario(d.delta, d.scenarios)
    m.cvar_excess = pyo.Constraint(d.scenarios)
    for s in d.scenarios:
        m.cvar_excess[s] = m.u[s] >= z[s] - m.eta
    m.cvar_term = pyo.Expression(expr=rw * (m.eta + 1.0 / (1.0 - alpha) * sum(d.weight[s] * m.u[s] for s in d.scenarios)))
    m.cost = pyo.Objective(sense=pyo.minimize)
    m.cost.expr = expected + m.cvar_term
