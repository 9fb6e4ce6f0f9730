"""The baselines of VINE's Table 1 without search: VINE-Chain (the top prior at every node) and a random order."""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable

import numpy as np

from failforward.planner.graph import SceneNode, Step, Subgoal
from failforward.planner.models import DecisionModel
from failforward.planner.plan import Plan
from failforward.planner.task_graph import InsertionGraph


class GreedyPlanner:
    """Walks the task graph from the start, taking ``choose(node, history, edges)`` at each node, to a terminal node or
    ``max_depth`` steps."""

    def __init__(
        self,
        kind: str,
        graph: InsertionGraph,
        choose: Callable[[SceneNode, tuple[Step, ...], list[Subgoal]], Subgoal],
        max_depth: int,
    ) -> None:
        self.kind, self.graph, self.choose, self.max_depth = kind, graph, choose, max_depth

    def plan(self, start: SceneNode, history: tuple[Step, ...] = ()) -> Plan:
        began = time.perf_counter()
        node, path = start, history
        subgoals: list[Subgoal] = []
        while len(subgoals) < self.max_depth and (edges := self.graph.edges(node)):
            edge = self.choose(node, path, edges)
            subgoals.append(edge)
            path = (*path, Step(node, edge))
            node = self.graph.successor(node, edge)
        return Plan(tuple(subgoals), float("nan"), self.kind, seconds=time.perf_counter() - began)


def chain_planner(graph: InsertionGraph, decision: DecisionModel, max_depth: int) -> GreedyPlanner:
    """VINE-Chain: the decision model's top prior at every node."""

    def top(node: SceneNode, history: tuple[Step, ...], edges: list[Subgoal]) -> Subgoal:
        return edges[int(np.argmax(decision.propose(node, history, edges)))]

    return GreedyPlanner("chain", graph, top, max_depth)


def random_planner(graph: InsertionGraph, seed: int, max_depth: int) -> GreedyPlanner:
    """A uniformly random possible edge at every node; the draw depends on ``seed``, the path so far and the episode
    (the first node's object positions, to the millimetre), so each layout gets its own order and a replan from the
    same path repeats it."""

    def draw(node: SceneNode, history: tuple[Step, ...], edges: list[Subgoal]) -> Subgoal:
        first = history[0].node if history else node
        where = ",".join(
            f"{k}:{np.round(np.asarray(v) * 1000).astype(int).tolist()}" for k, v in sorted(first.objects.items())
        )
        path = "/".join(str(s.edge) for s in history)
        state = zlib.crc32(f"{seed}|{where}|{node.describe()}|{path}".encode())
        return edges[int(np.random.default_rng(state).integers(len(edges)))]

    return GreedyPlanner("random", graph, draw, max_depth)
