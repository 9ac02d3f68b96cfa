"""The scenario tree: what a planner can know in each year (DESIGN.md "Information and the scenario tree").

Scenarios s and s′ are in the same node of year t when their derived data
agree in every year y ≤ t. The node is named by its first scenario in the
solved Scenarios order, so ν(s, t) is a scenario name and a variable such as
fid[p, 2027, ree_2027] reads "the FID of p in 2027 at the node of scenario
ree_2027". Decisions live at decision nodes: the information node under
`decisions = adaptive`, the single node `all` of each year under `now`.
The tree is computed once from the Case, for every scenario of the case,
and then restricted to the modelled scenarios (one, for a scenario model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NOW_NODE = "all"
ADAPTIVE, NOW = "adaptive", "now"


@dataclass(frozen=True)
class Node:
    """One information node: a year and the scenarios that cannot be told apart by then."""

    year: int
    name: str  # its first scenario
    scenarios: tuple[str, ...]
    probability: float
    parent: str | None  # the node of year − 1 (None in the first year)
    seen: str  # what was seen there that its siblings did not see, in words ("" when it has no sibling)


@dataclass
class Tree:
    """Information nodes per year and the decision node of every (scenario, year)."""

    years: list[int]
    scenarios: list[str]
    mode: str
    node: dict[tuple[str, int], str]  # (s, t) -> information node ν(s, t)
    nodes: dict[tuple[int, str], Node]  # (t, ν) -> Node
    first_branch: int | None  # first year with more than one node; None when the tree is one path
    extra_decision_nodes: dict[int, Node] = field(default_factory=dict)  # under `now`: the node `all` of each year

    def decision(self, s: str, t: int) -> str:
        """ν^D(s, t): where fid, aid, buy and carry of year t live on scenario s's path."""
        return NOW_NODE if self.mode == NOW else self.node[s, t]

    def decision_nodes(self, t: int) -> list[str]:
        """V^D_t, in scenario order."""
        if self.mode == NOW:
            return [NOW_NODE]
        return self.info_nodes(t)

    def info_nodes(self, t: int) -> list[str]:
        """V_t, in scenario order."""
        seen, out = set(), []
        for s in self.scenarios:
            v = self.node[s, t]
            if v not in seen:
                seen.add(v)
                out.append(v)
        return out

    def members(self, t: int, v: str) -> tuple[str, ...]:
        """The modelled scenarios of decision or information node v of year t."""
        if v == NOW_NODE and self.mode == NOW:
            return tuple(self.scenarios)
        return self.nodes[t, v].scenarios

    def path(self, s: str) -> list[str]:
        return [self.node[s, t] for t in self.years]

    def root_years(self) -> list[int]:
        """Years before the first branching: their decisions are taken once, "decide now"."""
        if self.first_branch is None:
            return list(self.years)
        return [t for t in self.years if t < self.first_branch]

    def count(self) -> int:
        return len(self.nodes)


def build_tree(years: list[int], order: list[str], prob: dict[str, float], year_data: dict[str, dict[int, tuple]],
               mode: str, words: dict[str, dict[int, list[str]]] | None = None) -> Tree:
    """The tree of all `order`ed scenarios from their derived data per year.

    `year_data[s][t]` is a comparable value of scenario s's data in year t;
    `words[s][t]` says in words what starts or ends in s in year t (for `seen`).
    """
    node: dict[tuple[str, int], str] = {}
    nodes: dict[tuple[int, str], Node] = {}
    groups: dict[tuple, str] = {}
    first_branch = None
    for t in years:
        groups.clear()
        for s in order:
            parent = node[s, t - 1] if t > years[0] else None
            key = (parent, year_data.get(s, {}).get(t, ()))
            node[s, t] = groups.setdefault(key, s)
        members: dict[str, list[str]] = {}
        for s in order:
            members.setdefault(node[s, t], []).append(s)
        if first_branch is None and len(members) > 1:
            first_branch = t
        siblings: dict[str | None, int] = {}
        for v in members:
            p = node[v, t - 1] if t > years[0] else None
            siblings[p] = siblings.get(p, 0) + 1
        for v, ss in members.items():
            p = node[v, t - 1] if t > years[0] else None
            seen = ""
            if siblings[p] > 1:
                said = (words or {}).get(v, {}).get(t, [])
                seen = " and ".join(said) if said else f"no new disruption in {t}"
            nodes[t, v] = Node(t, v, tuple(ss), sum(prob[s] for s in ss), p, seen)
    return Tree(list(years), list(order), mode, node, nodes, first_branch)


def restrict(tree: Tree, scenarios: list[str]) -> Tree:
    """The same tree seen from a subset of scenarios (node names and probabilities kept from the whole tree)."""
    keep = set(scenarios)
    node = {(s, t): v for (s, t), v in tree.node.items() if s in keep}
    used = {(t, v) for (_, t), v in node.items()}
    nodes = {}
    for key in used:
        n = tree.nodes[key]
        nodes[key] = Node(n.year, n.name, tuple(s for s in n.scenarios if s in keep), n.probability, n.parent, n.seen)
    return Tree(tree.years, [s for s in tree.scenarios if s in keep], tree.mode, node, nodes, tree.first_branch)
