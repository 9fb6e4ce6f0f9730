"""VINE's System-2 tree search (VINE §4.2, "Search Algorithm"), bounded in iterations and wall-clock time.

Per iteration: pick the top-``M`` leaves by ``Q``; from each, the decision model scores the possible edges, the top
``K`` are kept and their priors min-max normalized to ``P̃``; the top-``B`` by ``s(n, e) = α·Q(n_e) + (1 − α)·P̃(e)``
are expanded (``n_e`` the child reached by ``e``: its ``Q`` once it exists, else the leaf's own ``Q``), their
successors created by the task graph and evaluated by the value model only there, at the new leaves, and
``N ← N + 1``, ``W ← W + v``, ``Q ← W/N`` backpropagated to the root. The search ends when the iterations or the budget
run out or no leaf can be expanded; the plan is the path to the evaluated leaf of highest score.
Scores: ``leaf_value = "leaf"`` uses the leaf's ``V`` (the paper's rule); ``"path_min"`` the smallest ``V`` along
its path, because a hypothetical successor never fails: a plan through a risky step keeps that step's low value.

Example:
    >>> search = VineSearch(graph, decision, value, VinePlannerConfig(...))
    >>> plan = search.plan(start)        # a Plan within config.budget_s
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from failforward.config.planner import VinePlannerConfig
from failforward.planner.graph import SceneNode, Step, Subgoal
from failforward.planner.models import DecisionModel, ValueModel
from failforward.planner.plan import Plan
from failforward.planner.task_graph import InsertionGraph
from failforward.planner.tree import TreeNode


def min_max(priors: list[float]) -> list[float]:
    """Priors scaled to [0, 1] (all 1 when they are equal)."""
    low, high = min(priors), max(priors)
    return [1.0] * len(priors) if high - low < 1e-12 else [(p - low) / (high - low) for p in priors]


class VineSearch:
    """A :class:`~failforward.planner.base.Planner` (kind ``vine``)."""

    kind = "vine"

    def __init__(
        self,
        graph: InsertionGraph,
        decision: DecisionModel,
        value: ValueModel,
        config: VinePlannerConfig,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.graph, self.decision, self.value, self.config, self.clock = graph, decision, value, config, clock
        self._base_depth = 0

    def plan(self, start: SceneNode, history: tuple[Step, ...] = ()) -> Plan:
        """The best path from ``start`` (reached by ``history``) found within the budget."""
        began = self.clock()
        self._base_depth = len(history)
        root = TreeNode(0, start, history)
        nodes = [root]
        self._evaluate(root)
        iterations, timed_out = 0, False
        while iterations < self.config.max_iterations:
            leaves = [n for n in nodes if self._expandable(n)]
            if not leaves:
                break
            if self.clock() - began >= self.config.budget_s:
                timed_out = True
                break
            for leaf in sorted(leaves, key=lambda n: (-n.q, n.id))[: self.config.top_m]:
                nodes += self._expand(leaf, len(nodes))
            iterations += 1
        best = max((n for n in nodes if not n.children and n.score is not None), key=lambda n: (n.score, -n.id))
        return self._plan(best, nodes, iterations, self.clock() - began, timed_out)

    def _expandable(self, node: TreeNode) -> bool:
        return not node.expanded and not node.node.terminal and node.depth - self._base_depth < self.config.max_depth

    def _expand(self, leaf: TreeNode, next_id: int) -> list[TreeNode]:
        leaf.expanded = True
        edges = self.graph.edges(leaf.node)
        if not edges:
            return []
        priors = self.decision.propose(leaf.node, leaf.history, edges)
        order = np.argsort(-np.asarray(priors), kind="stable")[: self.config.top_k]
        candidates = [edges[i] for i in order]
        normalized = min_max([priors[i] for i in order])
        existing = {child.edge: child for child in leaf.children}
        alpha = self.config.alpha
        ranked = sorted(
            range(len(candidates)),
            key=lambda i: -(alpha * (existing[candidates[i]].q if candidates[i] in existing else leaf.q)
                            + (1 - alpha) * normalized[i]),
        )  # fmt: skip
        created: list[TreeNode] = []
        for i in ranked[: self.config.top_b]:
            if candidates[i] in existing:
                continue
            child = self._child(leaf, candidates[i], normalized[i], next_id + len(created))
            self._evaluate(child)
            created.append(child)
        return created

    def _child(self, leaf: TreeNode, edge: Subgoal, prior: float, node_id: int) -> TreeNode:
        node = self.graph.successor(leaf.node, edge)
        child = TreeNode(node_id, node, (*leaf.history, Step(leaf.node, edge)), leaf, edge, prior)
        leaf.children.append(child)
        return child

    def _evaluate(self, node: TreeNode) -> None:
        node.value = float(np.clip(self.value(node.node, node.history), 0.0, 1.0))
        parent_score = node.parent.score if node.parent is not None and node.parent.parent is not None else None
        node.score = node.value
        if self.config.leaf_value == "path_min" and parent_score is not None:
            node.score = min(node.value, parent_score)
        node.backpropagate(node.score)

    def _plan(self, best: TreeNode, nodes: list[TreeNode], iterations: int, seconds: float, timed_out: bool) -> Plan:
        path = best.path()
        subgoals = tuple(n.edge for n in path[1:] if n.edge is not None)
        return Plan(
            subgoals,
            float(best.score if best.score is not None else np.nan),
            self.kind,
            path=tuple(n.id for n in path),
            tree=tuple(n.entry() for n in nodes),
            iterations=iterations,
            seconds=seconds,
            timed_out=timed_out,
        )
