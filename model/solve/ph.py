"""Progressive hedging with mpi-sppy: the case's scenario tree mapped onto mpi-sppy's, run on every MPI rank.

mpi-sppy wants a tree whose root is `ROOT`, whose k-th child of node P is
`P_k`, whose leaves (one per scenario) all sit at the same depth, and whose
scenarios are listed in depth-first leaf order. Our tree has a node per
year; mpi-sppy's stages are the segments between the years in which any node
branches, and a segment's mpi-sppy node is our node at its first year. Its
non-anticipative variables ("nonants") are the decisions `nodal_vars` puts
at the segment's (year, node) pairs (FIDs, aid, purchases, releases): shared
within a node, free across nodes, exactly as in the extensive form. Under
`decisions = now` the decision node `all` of every year spans every
scenario, so its variables go on ROOT while releases stay at their
information nodes.

Each scenario's model is elastic (`formulation.elastic`): the plan search
fixes a node's decisions at one scenario's values and the next node's at
another's, and before PH has converged such a mix breaks the stock balance,
the budget or "FID at most once"; the elastic rows give it a heavy but finite
cost instead, so a plan is found from the first iterations. Inventories and
carry-over are then each scenario's own (they follow from the shared
decisions), and the elastic model is a relaxation of the case, so the
Lagrangian bound stays a lower bound of the extensive form.

The hub runs PH with linearised proximal terms (HiGHS has no MIQP) and rho
per variable from its cost coefficient; with three cylinders a Lagrangian
spoke gives the lower bound and an xhatshuffle spoke the feasible plan; on one
rank the hub alone runs and evaluates its rounded average (XhatXbar). The
plan comes back to global rank 0 as {our variable name: value}; `fix_plan`
fixes its FIDs in the extensive form so that every sheet is recomputed there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from model.formulation import build_model, nodal_vars
from model.formulation.data import build_data
from model.formulation.elastic import add_elastic
from model.formulation.tree import NOW, NOW_NODE

if TYPE_CHECKING:
    import pyomo.environ as pyo

    from model.case.load import Case
    from model.formulation.tree import Tree

CYLINDERS = 3  # PH hub, Lagrangian bound, xhatshuffle plan
RHO_MULTIPLIER = 0.1  # rho = RHO_MULTIPLIER · max(|cost coefficient|, RHO_FLOOR): a full coefficient stalls MIPs early
RHO_FLOOR = 1e-2  # USD m per unit: variables without a cost of their own (releases, inventories) still get a pull
MAX_ITERATIONS = 100
REL_GAP = 1e-3  # the hub stops once (upper − lower) / |upper| reaches this
PAD = "ph_pad"  # a variable fixed at 0 that fills a stage whose nodes carry no variable (mpi-sppy refuses empty ones)


@dataclass(frozen=True)
class StageNode:
    """One non-leaf mpi-sppy node on a scenario's path and the (year, node) pairs whose variables it shares."""

    name: str
    stage: int
    cond_prob: float
    parent: str | None
    keys: tuple[tuple[int, str], ...]


@dataclass
class PhTree:
    """Our tree as mpi-sppy sees it: scenarios in depth-first leaf order, every node name, each path."""

    scenarios: list[str]
    all_nodenames: list[str]
    paths: dict[str, list[StageNode]]
    probability: dict[str, float]
    stages: int = field(default=0)


def segments(tree: Tree) -> list[list[int]]:
    """Runs of years between branchings: a new segment starts in each year some node of the year before splits."""
    starts = [tree.years[0]]
    for t in tree.years[1:]:
        children: dict[str, set[str]] = {}
        for s in tree.scenarios:
            children.setdefault(tree.node[s, t - 1], set()).add(tree.node[s, t])
        if any(len(c) > 1 for c in children.values()):
            starts.append(t)
    ends = [*starts[1:], tree.years[-1] + 1]
    return [list(range(a, b)) for a, b in zip(starts, ends)]


def ph_tree(tree: Tree, weight: dict[str, float]) -> PhTree:
    """Map the case's tree (all scenarios) onto mpi-sppy's ScenarioNode tree."""
    segs = segments(tree)
    first = tree.years[0]
    one_root = len({tree.node[s, first] for s in tree.scenarios}) == 1
    now = tree.mode == NOW
    # levels: the (year, node) pairs of each stage, per scenario; an artificial ROOT when the first year branches
    levels: list[dict[str, tuple[str, tuple]]] = []
    if not one_root:
        levels.append({s: ("root", ()) for s in tree.scenarios})
    for seg in segs:
        levels.append({s: (tree.node[s, seg[0]], tuple((t, tree.node[s, t]) for t in seg)) for s in tree.scenarios})
    last = levels[-1]
    members: dict[str, int] = {}
    for s in tree.scenarios:
        members[last[s][0]] = members.get(last[s][0], 0) + 1
    leaf_level = all(n == 1 for n in members.values())  # else a stage of one leaf per scenario is added below
    nonleaf = levels[:-1] if leaf_level else levels
    if now:  # the decisions of every year sit at `all`, which every scenario shares: ROOT
        root = {s: (nonleaf[0][s][0], (*nonleaf[0][s][1], *((t, NOW_NODE) for t in tree.years))) for s in tree.scenarios}
        nonleaf = [root, *nonleaf[1:]]
    name: dict[tuple[int, str], str] = {}
    kids: dict[str, int] = {}
    paths: dict[str, list[StageNode]] = {}
    leaf: dict[str, str] = {}
    for s in tree.scenarios:
        parent, parent_p, path = None, 1.0, []
        for i, level in enumerate(nonleaf):
            ours, keys = level[s]
            if (i, ours) not in name:
                if parent is None:
                    name[i, ours] = "ROOT"
                else:
                    name[i, ours] = f"{parent}_{kids.get(parent, 0)}"
                    kids[parent] = kids.get(parent, 0) + 1
            p = 1.0 if i == 0 or not keys else _prob(tree, weight, keys[0])
            path.append(StageNode(name[i, ours], i + 1, p / parent_p if parent_p > 0 else 0.0, parent, keys))
            parent, parent_p = name[i, ours], p
        leaf[s] = f"{parent}_{kids.get(parent, 0)}"
        kids[parent] = kids.get(parent, 0) + 1
        paths[s] = path

    def dfs(n: str) -> list[int]:
        return [int(x) for x in n.split("_")[1:]]

    order = sorted(tree.scenarios, key=lambda s: dfs(leaf[s]))
    names = sorted({*name.values(), *leaf.values()}, key=lambda n: (n.count("_"), dfs(n)))
    return PhTree(order, names, paths, {s: weight[s] for s in tree.scenarios}, len(nonleaf) + 1)


def _prob(tree: Tree, weight: dict[str, float], key: tuple[int, str]) -> float:
    return sum(weight[s] for s in tree.nodes[key].scenarios)


def case_tree(case: Case) -> PhTree:
    """The mpi-sppy tree of the whole case."""
    d = build_data(case)
    return ph_tree(d.tree, d.weight)


def check_ranks(n_scenarios: int, ranks: int) -> str | None:
    """Why `ranks` cannot run PH on `n_scenarios` scenarios (None when it can)."""
    if n_scenarios < 2:
        return "--engine ph needs a case with at least 2 scenarios (this one has 1): use --engine ef"
    if ranks < 1:
        return f"--ranks must be at least 1, not {ranks}"
    if ranks > 1 and ranks % CYLINDERS:
        return (f"--ranks must be 1 (PH alone) or a multiple of {CYLINDERS} (PH, its lower bound and its plan "
                f"search each get ranks/{CYLINDERS}), not {ranks}")
    per = ranks if ranks == 1 else ranks // CYLINDERS
    if per > n_scenarios:
        return (f"--ranks {ranks} gives each of the {1 if ranks == 1 else CYLINDERS} cylinders {per} ranks but the case "
                f"has only {n_scenarios} scenarios: use at most {n_scenarios if ranks == 1 else CYLINDERS * n_scenarios}")
    return None


def stage_widths(case: Case, tree: PhTree, rank: int, size: int, gather) -> dict[int, int]:
    """The most nonants any node of each stage carries (collective: each rank counts a share of the scenarios).

    Nodes of one year may carry different variables (a release allowed only in a disruption); mpi-sppy wants
    every scenario to carry as many nonants as every other, so each node is padded up to its stage's width."""
    counts: dict[int, int] = {}
    for s in tree.scenarios[rank::size]:
        by_key = nodal_vars(build_model(case, scenarios=[s], risk=False), states=False)
        for nd in tree.paths[s]:
            counts[nd.stage] = max(counts.get(nd.stage, 0), sum(len(by_key.get(k, [])) for k in nd.keys))
    widths: dict[int, int] = {}
    for part in gather(counts):
        for stage, n in part.items():
            widths[stage] = max(widths.get(stage, 0), n)
    return {stage: max(1, n) for stage, n in widths.items()}  # an empty node list is refused too


def scenario_creator(scenario_name: str, case: Case = None, tree: PhTree = None,
                     widths: dict[int, int] | None = None) -> pyo.ConcreteModel:
    """One scenario's elastic model (its own cost, weight 1) with its mpi-sppy node list attached."""
    import pyomo.environ as pyo
    from mpisppy import scenario_tree

    m = build_model(case, scenarios=[scenario_name], risk=False)
    add_elastic(m, m.data)
    by_key = nodal_vars(m, states=False)
    cost = next(m.component_data_objects(pyo.Objective, active=True)).expr
    m._mpisppy_probability = tree.probability[scenario_name]
    nodes = []
    for nd in tree.paths[scenario_name]:
        nonants = [v for key in nd.keys for v in by_key.get(key, [])]
        missing = (widths or {}).get(nd.stage, 1) - len(nonants)
        if missing > 0:  # zeros, named alike in every scenario of the node
            pad = pyo.Var(range(missing), bounds=(0, 0), initialize=0)
            m.add_component(f"{PAD}_{nd.stage}", pad)
            pad.fix(0)
            nonants += list(pad.values())
        nodes.append(scenario_tree.ScenarioNode(name=nd.name, cond_prob=nd.cond_prob, stage=nd.stage,
                                                cost_expression=cost if nd.stage == 1 else 0.0,
                                                nonant_list=nonants, scen_model=m, parent_name=nd.parent))
    m._mpisppy_node_list = nodes
    return m


def rho_setter(scenario, multiplier: float = RHO_MULTIPLIER, floor: float = RHO_FLOOR) -> list[tuple[int, float]]:
    """rho of each nonant = multiplier · max(|its objective coefficient|, floor)."""
    from mpisppy.utils import sputils

    coeffs = sputils.nonant_cost_coeffs(scenario)
    index = scenario._mpisppy_data.nonant_indices
    return [(id(index[k]), multiplier * max(abs(c), floor)) for k, c in coeffs.items()]


def _solver_options(opts: dict) -> str:
    words = [f"mip_rel_gap={opts.get('mip_rel_gap') or 1e-4}", f"threads={opts.get('threads') or 1}"]
    if opts.get("random_seed") is not None:
        words.append(f"random_seed={int(opts['random_seed'])}")
    return " ".join(words)


def run_ph(case: Case, opts: dict) -> dict[str, Any] | None:
    """Run PH on every rank of MPI.COMM_WORLD (collective); on global rank 0 return the bounds, iterations and the
    plan {variable name: value} (None elsewhere). The plan is None when no cylinder found one."""
    import mpisppy.utils.cfg_vanilla as vanilla
    from mpisppy import MPI
    from mpisppy.spin_the_wheel import WheelSpinner
    from mpisppy.utils import config

    world = MPI.COMM_WORLD
    tree = case_tree(case)
    cfg = config.Config()
    cfg.popular_args()
    cfg.ph_args()
    cfg.two_sided_args()
    cfg.lagrangian_args()
    cfg.xhatshuffle_args()
    cfg.solver_name = "appsi_highs"
    cfg.default_rho = 1.0
    cfg.max_iterations = int(opts.get("ph_iterations") or MAX_ITERATIONS)
    cfg.rel_gap = float(opts.get("ph_rel_gap") or REL_GAP)
    cfg.abs_gap = 1e-6
    if opts.get("time_limit_s"):
        cfg.time_limit = float(opts["time_limit_s"])
    cfg.linearize_proximal_terms = True  # HiGHS cannot solve the quadratic proximal term of a MIP
    cfg.linearize_binary_proximal_terms = True
    cfg.display_progress = False
    cfg.solver_options = _solver_options(opts)
    widths = stage_widths(case, tree, world.Get_rank(), world.Get_size(), world.allgather)
    kw = {"case": case, "tree": tree, "widths": widths}
    beans = (cfg, scenario_creator, None, tree.scenarios)
    hub = vanilla.ph_hub(*beans, scenario_creator_kwargs=kw, rho_setter=rho_setter, all_nodenames=tree.all_nodenames)
    hub["opt_kwargs"]["options"]["rho_setter_kwargs"] = {"multiplier": float(opts.get("ph_rho") or RHO_MULTIPLIER)}
    alone = world.Get_size() == 1
    spokes = []
    if alone:
        from mpisppy.extensions.xhatxbar import XhatXbar

        hub["opt_kwargs"]["extensions"] = XhatXbar
        hub["opt_kwargs"]["options"]["xhat_xbar_options"] = {"xhat_solver_options": {}, "keep_solution": True}
    else:
        spokes = [vanilla.lagrangian_spoke(*beans, scenario_creator_kwargs=kw, rho_setter=rho_setter,
                                           all_nodenames=tree.all_nodenames),
                  vanilla.xhatshuffle_spoke(*beans, scenario_creator_kwargs=kw, all_nodenames=tree.all_nodenames)]
    wheel = WheelSpinner(hub, spokes)
    wheel.spin()
    if alone:
        upper = wheel.spcomm.opt.extobject._xhat_xbar_obj_final
        plan = wheel.spcomm.opt.gather_nonant_tree_to_rank0() if upper is not None else None
        lower = wheel.BestOuterBound
    else:
        plan = _plan_on_rank0(wheel)
        upper, lower = wheel.BestInnerBound, wheel.BestOuterBound
    iterations = int(getattr(wheel.spcomm.opt, "_PHIter", 0))  # the hub's count; spokes have none
    # Every rank lets its scenario models go before rank 0 builds the extensive form to recompute the plan: the other
    # ranks wait in MPI's finalisation until rank 0 is done, and Pyomo models are cycles only the collector frees.
    del wheel, hub, spokes, beans, kw
    release_memory()
    if world.Get_rank() != 0:
        return None
    values = None
    if plan is not None:
        values = {v: x for rows in plan.values() for v, x in rows if not v.startswith(PAD) and x is not None}
    return {"lower": _finite(lower), "upper": _finite(upper), "iterations": iterations,
            "ranks": world.Get_size(), "plan": values, "stages": tree.stages, "nodes": len(tree.all_nodenames)}


def release_memory() -> None:
    """Collect cyclic garbage and hand freed heap back to the system (glibc's malloc_trim, where there is one)."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is not None:
        trim(0)


def _years_text(years: list[int]) -> str:
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def _finite(x) -> float | None:
    return None if x is None or abs(x) == float("inf") else float(x)


def _plan_on_rank0(wheel) -> dict | None:
    """The incumbent's nonants per mpi-sppy node, from the cylinder that found it (collective on every rank).

    With equal rank shares, cylinder c's first rank is global rank c."""
    sp = wheel.spcomm
    world = sp.fullcomm
    winner = world.bcast(sp.last_ib_idx if world.Get_rank() == 0 else None, root=0)
    if winner is None:
        return None
    tree = None
    if wheel.strata_rank == winner:
        sp.opt.load_best_solution()
        tree = sp.opt.gather_nonant_tree_to_rank0()
    return world.bcast(tree, root=winner)


def fix_plan(model: pyo.ConcreteModel, plan: dict[str, float], years: set[int] | None = None) -> int:
    """Fix the extensive form's FIDs (of `years`, default all) at the plan's rounded values; return how many.

    Aid, purchases, carry-over, releases and inventories are re-optimised given the portfolio, in the extensive form,
    where they are non-anticipative by construction: the recomputed objective is never above the plan's."""
    fixed = 0
    for (_p, tau, _v), var in model.fid.items():
        value = plan.get(var.name)
        if value is not None and (years is None or tau in years):
            var.fix(round(value))
            fixed += 1
    return fixed


def plan_solution(case: Case, result: dict[str, Any], opts: dict, say=lambda _m: None, timings: dict | None = None):
    """The Solution of PH's plan: its FIDs fixed in the extensive form, every scenario's results recomputed there.

    The objective is the recomputed cost of the plan, the bound PH's lower bound, the gap between the two."""
    import time

    from model import solution as sol
    from model.solution import Solution
    from model.solve.solver import solve_model

    engine = {"name": "PH", "ranks": result["ranks"], "iterations": result["iterations"],
              "lower_musd": result["lower"], "upper_musd": result["upper"]}
    if result["plan"] is None:
        return Solution(sol.FAILED, f"progressive hedging found no plan in {result['iterations']} iterations",
                        bound=result["lower"], engine=engine)
    say("recomputing every scenario with the plan's FIDs fixed (extensive form)")
    t0 = time.perf_counter()
    model = build_model(case)
    fix_plan(model, result["plan"])
    timings = {**(timings or {}), "build_s": time.perf_counter() - t0}
    out = solve_model(case, model, {**opts, "evpi_vss": False}, say, timings)
    how = "every scenario recomputed with its FIDs fixed"
    if not out.has_plan and model.data.tree.root_years():
        # A plan put together node by node (or PH's rounded average) may fund a project twice along a path or pass a
        # budget once its aid is re-optimised; its decisions before the first branching are one node's and stand.
        roots = set(model.data.tree.root_years())
        say("the plan's later FIDs break a rule of the case: keeping its decide-now FIDs and choosing the rest "
            "(extensive form)")
        model = build_model(case)
        fix_plan(model, result["plan"], roots)
        out = solve_model(case, model, {**opts, "evpi_vss": False}, say, timings)
        how = (f"its FIDs of {_years_text(sorted(roots))} fixed and every later decision chosen in the extensive form "
               "(its later FIDs broke a rule of the case once recomputed)")
    out.engine = engine
    if not out.has_plan:
        alone = " (PH alone on one rank rounds its average plan; --ranks 3 adds a plan search)" if result["ranks"] == 1 else ""
        kept = " even when only those decided before the first branching are kept" if "fixed and every later" in how else ""
        out.message = f"the FIDs of progressive hedging's plan break a rule of the case{kept}{alone}: {out.message}"
        return out
    lower = result["lower"]
    out.bound = lower
    out.gap = None if lower is None or out.objective == 0 else max(0.0, (out.objective - lower) / abs(out.objective))
    engine["gap"] = out.gap
    tol = opts.get("mip_rel_gap") or 1e-4
    out.status = sol.OPTIMAL if out.gap is not None and out.gap <= tol else sol.STOPPED_AT_GAP
    out.kpis["mip_gap"] = out.gap
    out.message = f"the plan of progressive hedging; {how}; the bound is PH's lower bound"
    if len(model.data.scenarios) > 1:
        out.kpis["kpi_note"] = "EVPI, VSS and the value of adapting are not computed by progressive hedging (--engine ef)"
    return out
