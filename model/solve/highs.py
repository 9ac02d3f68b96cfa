"""Hand a Pyomo model to HiGHS in memory and read the answer back.

Pyomo's `LinearStandardFormCompiler` (mixed form) turns the model into
scipy arrays; `highspy.Highs.passModel` takes them in one call. This is much
faster than the contrib interface, which walks the model constraint by
constraint (DESIGN.md "Solver notes"). `columns` and `rows` map HiGHS's
columns and rows back to Pyomo variables and constraints.

A study that re-solves one model with a few more rows or another objective
(near-optimal alternatives) adds them to the Pyomo model and hands only those
to the HiGHS model already built (`add_rows`, `set_objective`): compiling the
whole model again is what takes the time.
"""

from __future__ import annotations

import math
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.gc_manager import PauseGC
from pyomo.repn import generate_standard_repn
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from model import solution as sol

INF = highspy.kHighsInf
MS = highspy.HighsModelStatus
# HiGHS sees costs in units of USD 10,000 rather than USD million: per-tonne costs of cheap materials (e.g.
# 30 USD/t transport = 3e-5 USD m/t) would otherwise sit near its dual tolerance (1e-7) and trigger its
# "excessively small costs" warning; 1e3 would trigger "excessively large costs" on capex terms.
# Objective, bound and duals are divided back on the way out.
OBJECTIVE_SCALE = 1e2
# HiGHS options we set, by HiGHS's own names; a misspelt name is silently ignored, so each is checked.
# The numbers guard (DESIGN.md "Solver notes"): HiGHS works to absolute tolerances (1e-7 primal, 1e-6 on
# integrality) on a scaled copy of the model, so a model whose coefficients span too many orders of magnitude can
# come back "optimal" with a plan that is not, or "infeasible" when it is not. After every solve the plan, with its
# yes/no decisions rounded, is checked against the model as given; the spans below are far beyond any shipped case
# (matrix 1e6, costs 1e9) and within reach of the failures seen (capacities of 9e14 t/yr: matrix 6e11).
MAX_VIOLATION = 1e-6  # relative to the size of the row's terms
MAX_OBJECTIVE_GAP = 1e-6  # relative
MAX_MATRIX_SPAN = 1e10  # largest / smallest nonzero constraint coefficient
MAX_COST_SPAN = 1e13  # largest / smallest nonzero cost
OPTION_NAMES = {"mip_rel_gap": "mip_rel_gap", "time_limit_s": "time_limit", "threads": "threads",
                "random_seed": "random_seed"}


class TriviallyInfeasible(Exception):
    """A constraint with no free variable left is violated (found while compiling)."""


@dataclass
class Outcome:
    """The result of one HiGHS run, in the model's words."""

    status: str
    message: str
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0


@dataclass
class Check:
    """The solver's plan checked against the model it was given (HighsRun.check)."""

    violation: float  # largest row or bound violation, relative to the size of the row's terms
    amount: float  # the same violation in the row's own units
    where: str  # the constraint (or the variable's bounds) broken most
    objective_gap: float  # |objective recomputed from the plan − objective HiGHS reports|, relative
    objective: float
    reported: float
    span: tuple[float, float]  # smallest and largest magnitude among the model's coefficients and bounds


class HighsRun:
    """One model in HiGHS: compile, pass, solve, and read values and duals back."""

    def __init__(self, model: pyo.ConcreteModel, options: dict):
        try:
            with PauseGC():
                info = LinearStandardFormCompiler().write(model, mixed_form=True)
        except InfeasibleConstraintException as exc:  # fixed variables violate a row
            raise TriviallyInfeasible(str(exc)) from exc
        self.columns = list(info.columns)
        # The constraint of each row (a ranged one gives two rows). Not the compiler's (constraint, sense) entries:
        # kept, they would hold one small object per row spread through all the memory the compiler used.
        self.rows = [con for con, _ in info.rows]
        self.offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
        # The compiler maps a maximised objective to a minimisation; HiGHS is told the true sense instead,
        # so that the objective and bound it reports read as the model's.
        self.maximise = bool(info.objectives) and info.objectives[0].sense == pyo.maximize
        self.time_limit = options.get("time_limit_s")
        with _quiet_stdout():
            self.h = highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        for key, name in OPTION_NAMES.items():
            value = options.get(key)
            if value is not None and self.h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
                raise ValueError(f"HiGHS rejected option {name}={value!r}")
        self._pass(info)

    def _pass(self, info) -> None:
        n, a = len(self.columns), info.A.tocsc()
        sense = np.fromiter((mult for _, mult in info.rows), dtype=int, count=len(info.rows))
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, a.shape[0]
        c = info.c.toarray()[0] if info.c.shape[0] else np.zeros(n)
        sign = -1.0 if self.maximise else 1.0
        lp.col_cost_ = sign * np.asarray(c, dtype=float) * OBJECTIVE_SCALE
        lp.offset_ = sign * self.offset * OBJECTIVE_SCALE  # so that HiGHS's relative gap is on the whole cost
        if self.maximise:
            lp.sense_ = highspy.ObjSense.kMaximize
        # The arrays are kept for the check (`check`): HighsLp hands its vectors back as Python lists.
        self.col_lower = np.fromiter((-INF if v.lb is None else v.lb for v in self.columns), dtype=float, count=n)
        self.col_upper = np.fromiter((INF if v.ub is None else v.ub for v in self.columns), dtype=float, count=n)
        rhs = np.asarray(info.rhs, dtype=float)
        self.row_lower = np.where(sense >= 0, np.where(sense == 0, rhs, -INF), rhs)
        self.row_upper = np.where(sense <= 0, np.where(sense == 0, rhs, INF), rhs)
        lp.col_lower_, lp.col_upper_ = self.col_lower, self.col_upper
        lp.row_lower_, lp.row_upper_ = self.row_lower, self.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a.indptr
        lp.a_matrix_.index_ = a.indices
        lp.a_matrix_.value_ = a.data
        self.integer = np.fromiter((v.is_integer() for v in self.columns), dtype=bool, count=n)
        self.h.passModel(lp)
        # Mark the few integer columns afterwards: a full integrality list costs one Python object per column.
        idx = np.flatnonzero(self.integer).astype(np.int32)
        if len(idx):
            self.h.changeColsIntegrality(len(idx), idx, np.full(len(idx), highspy.HighsVarType.kInteger))
        self.a = a
        self.cost = np.asarray(c, dtype=float)
        self.span_problem = self._span_problem()

    @cached_property
    def col_index(self) -> dict[int, int]:
        """HiGHS's column of each Pyomo variable, by id: made when first asked for, as it costs a dict entry per column."""
        return {id(v): i for i, v in enumerate(self.columns)}

    @property
    def sizes(self) -> dict[str, int]:
        return {"variables": len(self.columns), "binaries": int(self.integer.sum()), "constraints": len(self.rows),
                "nonzeros": int(self.h.getNumNz())}

    def run(self) -> Outcome:
        """Solve, map HiGHS's model status to one of model.solution's outcomes, and check the answer (`trusted`).

        HiGHS measures its time limit from the first run of a Highs object, so a re-solve would inherit the
        time already spent (HiGHS issue 1477): each run is given `time_limit` from its own start.
        """
        return self.trusted(self._run())

    def _run(self) -> Outcome:
        _match_scheduler(self.h.getOptionValue("threads"))
        if self.time_limit is not None:
            self.h.setOptionValue("time_limit", self.h.getRunTime() + float(self.time_limit))
        t0 = time.perf_counter()
        self.h.run()
        secs = time.perf_counter() - t0
        status = self.h.getModelStatus()
        info = self.h.getInfo()
        has_x = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        obj = info.objective_function_value / OBJECTIVE_SCALE if has_x else None
        mip = self.integer.any() and not self._relaxed()
        bound = info.mip_dual_bound / OBJECTIVE_SCALE if mip else obj
        gap = info.mip_gap if mip and has_x else (0.0 if has_x else None)
        if gap is not None and not math.isfinite(gap):
            gap = None
        if status == MS.kOptimal:
            return Outcome(sol.OPTIMAL, "optimal plan found", obj, bound, gap, secs)
        if status in (MS.kTimeLimit, MS.kIterationLimit, MS.kSolutionLimit, MS.kInterrupt, MS.kHighsInterrupt):
            if has_x:
                return Outcome(sol.TIME_LIMIT_FEASIBLE, "stopped at the time limit with a plan that may not be the best;"
                               f" it is within {100 * (gap or 0):.3g}% of the best possible", obj, bound, gap, secs)
            return Outcome(sol.TIME_LIMIT_NO_PLAN, "stopped at the time limit before any plan was found:"
                           " raise time_limit_s on the Settings sheet", None, bound, None, secs)
        if status in (MS.kInfeasible, MS.kUnboundedOrInfeasible):
            return Outcome(sol.INFEASIBLE, "no plan satisfies every rule of the case together (budgets, committed"
                           " projects, dependencies, policies): relax one of them", seconds=secs)
        if status == MS.kUnbounded:
            return Outcome(sol.UNBOUNDED, "the cost can fall without limit: some gain (e.g. stockpile value) has no"
                           " cap; give the stockpile a capacity_t", seconds=secs)
        return Outcome(sol.FAILED, f"the solver stopped without a plan ({self.h.modelStatusToString(status)})",
                       seconds=secs)

    def _span_problem(self) -> str:
        """Words for coefficients that span more orders of magnitude than the solver handles reliably, or ''."""
        for what, values, limit in (("constraint coefficients", self.a.data, MAX_MATRIX_SPAN),
                                    ("costs", self.cost, MAX_COST_SPAN)):
            mags = np.abs(np.asarray(values, dtype=float))
            nz = np.flatnonzero(mags)
            if not len(nz):
                continue
            lo, hi = nz[np.argmin(mags[nz])], nz[np.argmax(mags[nz])]
            if mags[hi] / mags[lo] <= limit:
                continue
            if what == "costs":
                at = f"the cost of {self.columns[lo].name} and of {self.columns[hi].name}"
            else:
                rows = self.a.indices
                at = f"{self.rows[rows[lo]].name} and {self.rows[rows[hi]].name}"
            return (f"the case's numbers span too many orders of magnitude for the solver: {what} from "
                    f"{mags[lo]:.3g} to {mags[hi]:.3g} ({at}), over the {limit:.0e} it handles reliably; bring the "
                    "largest quantities, capacities or costs down to what is meant")
        return ""

    def trusted(self, out: Outcome) -> Outcome:
        """`out`, or an UNRELIABLE outcome when the plan fails the check or the numbers are beyond the solver.

        A model changed in place (add_rows, set_objective) is no longer the arrays the check holds: not checked.
        """
        if getattr(self, "edited", False) or self.maximise:  # a maximised objective is a search, not the case's cost
            return out
        if out.status in sol.HAS_PLAN:
            chk = self.check()
            if chk.violation > MAX_VIOLATION:
                why = (f"the solver's plan breaks the constraint {chk.where} by {chk.amount:.3g} (with its yes/no "
                       "decisions rounded)")
            elif chk.objective_gap > MAX_OBJECTIVE_GAP:
                why = (f"the solver reports a cost of {chk.reported:,.6g} USD m for a plan that costs "
                       f"{chk.objective:,.6g} USD m")
            elif self.span_problem:
                why = f"the solver reports a plan as {out.status}, but it may not be"
            else:
                return out
            tail = self.span_problem or "the case's numbers may span too many orders of magnitude for the solver"
            return Outcome(sol.UNRELIABLE, f"{why}; {tail}", bound=out.bound, seconds=out.seconds)
        if out.status in (sol.INFEASIBLE, sol.UNBOUNDED, sol.FAILED) and self.span_problem:
            return Outcome(sol.UNRELIABLE, f"the solver reports the case {out.status}, but that cannot be trusted: "
                           f"{self.span_problem}", seconds=out.seconds)
        return out

    def check(self) -> Check:
        """How far the solver's plan, with its yes/no decisions rounded, breaks a row or a bound, and how far its
        reported objective is from the one recomputed from that plan; each relative to the size of the numbers."""
        x = self.values().copy()
        x[self.integer] = np.round(x[self.integer])
        act = self.a @ x
        scale = 1.0 + abs(self.a) @ np.abs(x)  # the size of each row's terms: a tolerance relative to what it adds
        rows = np.maximum(self.row_lower - act, act - self.row_upper).clip(min=0) / np.maximum(
            scale, 1.0 + np.minimum(np.abs(self.row_lower), np.abs(self.row_upper)))
        cols = np.maximum(self.col_lower - x, x - self.col_upper).clip(min=0) / (1.0 + np.abs(x))
        worst_row = int(np.argmax(rows)) if len(rows) else -1
        worst_col = int(np.argmax(cols)) if len(cols) else -1
        row_v = float(rows[worst_row]) if worst_row >= 0 else 0.0
        col_v = float(cols[worst_col]) if worst_col >= 0 else 0.0
        if row_v >= col_v and worst_row >= 0:
            where, size = self.rows[worst_row].name, row_v
            amount = float(max(self.row_lower[worst_row] - act[worst_row], act[worst_row] - self.row_upper[worst_row]))
        elif worst_col >= 0:
            where, size = f"the bounds of {self.columns[worst_col].name}", col_v
            amount = float(max(self.col_lower[worst_col] - x[worst_col], x[worst_col] - self.col_upper[worst_col]))
        else:
            where, size, amount = "", 0.0, 0.0
        objective = (float(self.cost @ x) + self.offset)
        reported = self.h.getInfo().objective_function_value / OBJECTIVE_SCALE
        obj_gap = abs(objective - reported) / max(1.0, abs(reported))
        values = np.abs(np.concatenate([self.a.data, self.cost[self.cost != 0], *(
            b[np.isfinite(b) & (b != 0)] for b in (self.row_lower, self.row_upper, self.col_lower, self.col_upper))]))
        values = values[values > 0]
        span = (float(values.min()), float(values.max())) if len(values) else (0.0, 0.0)
        return Check(size, amount, where, obj_gap, objective, reported, span)

    def set_time_limit(self, seconds: float | None) -> None:
        """Limit the next run to `seconds` from its own start (none: no limit)."""
        self.time_limit = seconds
        if seconds is None:
            self.h.setOptionValue("time_limit", float("inf"))

    # ------------------------------------------------------------ changing the model in place

    def add_rows(self, constraints) -> None:
        """Hand new linear constraints of the Pyomo model to HiGHS as rows, without compiling the model again.

        Variables HiGHS has not seen (added to the model after it was compiled, or absent from every row) become
        new columns with their bounds and domain; fixed variables are constants, as the compiler treats them.
        """
        lower, upper, starts, index, value = [], [], [], [], []
        for con in constraints:
            repn = generate_standard_repn(con.body, compute_values=True, quadratic=False)
            if repn.nonlinear_expr is not None:
                raise ValueError(f"{con.name} is not linear")
            const = float(repn.constant)
            starts.append(len(index))
            for v, c in zip(repn.linear_vars, repn.linear_coefs):
                index.append(self._column(v))
                value.append(float(c))
            lower.append(-INF if con.lower is None else float(pyo.value(con.lower)) - const)
            upper.append(INF if con.upper is None else float(pyo.value(con.upper)) - const)
            self.rows.append(con)
        if not lower:
            return
        self.edited = True
        self.h.addRows(len(lower), np.array(lower), np.array(upper), len(index), np.array(starts, dtype=np.int32),
                       np.array(index, dtype=np.int32), np.array(value, dtype=float))

    def set_objective(self, objective) -> None:
        """Replace HiGHS's objective by a linear Pyomo objective of the model (its sense included)."""
        repn = generate_standard_repn(objective.expr, compute_values=True, quadratic=False)
        if repn.nonlinear_expr is not None:
            raise ValueError(f"{objective.name} is not linear")
        cost = np.zeros(len(self.columns))
        for v, c in zip(repn.linear_vars, repn.linear_coefs):
            i = self._column(v)
            if i >= len(cost):
                cost = np.append(cost, np.zeros(i + 1 - len(cost)))
            cost[i] += float(c)
        idx = np.arange(len(cost), dtype=np.int32)
        self.edited = True
        self.maximise = objective.sense == pyo.maximize
        self.h.changeObjectiveSense(highspy.ObjSense.kMaximize if self.maximise else highspy.ObjSense.kMinimize)
        self.h.changeColsCost(len(idx), idx, cost * OBJECTIVE_SCALE)
        self.offset = float(repn.constant)
        self.h.changeObjectiveOffset(self.offset * OBJECTIVE_SCALE)

    def _column(self, v) -> int:
        """HiGHS's column of Pyomo variable `v`, added (with its bounds and domain) when HiGHS does not have it."""
        i = self.col_index.get(id(v))
        if i is not None:
            return i
        lb = -INF if v.lb is None else float(v.lb)
        ub = INF if v.ub is None else float(v.ub)
        self.h.addVar(lb, ub)
        i = len(self.columns)
        self.columns.append(v)
        self.col_index[id(v)] = i
        self.integer = np.append(self.integer, v.is_integer())
        self.col_lower, self.col_upper = np.append(self.col_lower, lb), np.append(self.col_upper, ub)
        if v.is_integer():
            self.h.changeColIntegrality(i, highspy.HighsVarType.kInteger)
        return i

    def _relaxed(self) -> bool:
        return bool(getattr(self, "_is_relaxed", False))

    def load(self) -> None:
        """Copy the primal values into the Pyomo variables."""
        x = self.h.getSolution().col_value
        for v, val in zip(self.columns, x):
            v.set_value(float(val), skip_validation=True)

    def values(self) -> np.ndarray:
        return np.asarray(self.h.getSolution().col_value, dtype=float)

    def fix_columns(self, values: dict[int, float]) -> None:
        """Fix columns (by index) at the given values."""
        if values:
            idx = np.fromiter(values, dtype=np.int32)
            vals = np.fromiter(values.values(), dtype=float)
            self.h.changeColsBounds(len(idx), idx, vals, vals)

    def relax_with_integers_fixed(self) -> None:
        """Fix every integer column at its (rounded) value and drop integrality: the LP of the chosen portfolio."""
        x = self.values()
        idx = np.flatnonzero(self.integer).astype(np.int32)
        if len(idx):
            vals = np.round(x[idx])
            self.h.changeColsBounds(len(idx), idx, vals, vals)
            self.h.changeColsIntegrality(len(idx), idx, np.full(len(idx), highspy.HighsVarType.kContinuous))
        self._is_relaxed = True

    def row_duals(self) -> dict[int, float]:
        """Dual of each constraint (by id of its ConstraintData), summing the rows it became."""
        duals = self.h.getSolution().row_dual
        out: dict[int, float] = {}
        for con, y in zip(self.rows, duals):
            out[id(con)] = out.get(id(con), 0.0) + float(y) / OBJECTIVE_SCALE
        return out


_scheduler_threads: list[int] = []  # the thread count HiGHS's process-wide scheduler was started with


def _match_scheduler(threads: int) -> None:
    """Restart HiGHS's process-wide thread scheduler when a solve asks for another thread count.

    The scheduler is fixed at the first solve in a process; a later solve with
    a different `threads` otherwise ends with no plan ("Not Set").
    """
    if _scheduler_threads and _scheduler_threads[0] != threads:
        highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads.clear()
    if not _scheduler_threads:
        _scheduler_threads.append(threads)


@contextmanager
def _quiet_stdout():
    """Silence the process's stdout (file descriptor 1) for a moment.

    HiGHS prints its banner from the Highs() constructor in C++, before any
    option can turn logging off; the CLI's stdout is for the planner's summary.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
