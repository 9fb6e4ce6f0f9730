"""Thought paths: an episode as the planner sees it, ``z = (n_0, e_0, n_1, …)`` with how it ended.

A path that succeeded ends with the ``done`` edge; a failed one ends with the edge whose execution failed
(the failure happened at ``k + 1``). The models are trained on the *reasoning states the search evaluates*. The search
plans from an observed root node ``n_r`` and predicts the nodes after it with the task graph, which changes relations
and keeps the root's measured positions (a hypothetical ``held`` plug stays where it lay). So every step ``k ≥ r`` of a
path is encoded as seen from every root ``r`` it could be planned from (the start, and each subgoal boundary where the
runtime replans): ``x'_k = (successor(m_k, e_k), z_{0:k})`` with ``m_r = n_r`` and ``m_{k+1} = successor(m_k, e_k)``.
Encoding ``n_k`` as measured instead (the gripper over the plug it is about to insert, the plug in the air) taught the
value cues that the search's predicted nodes never carry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from failforward.planner.features import PathFeatures
from failforward.planner.graph import SceneNode, Step
from failforward.planner.task_graph import InsertionGraph


@dataclass(frozen=True)
class ThoughtPath:
    """``steps``: ``(n_k, e_k)`` in order; ``success``: the episode reached the goal (then the last edge is done);
    ``graph``: the episode's own thought graph (its plugs and sockets; ``None``: the features' graph)."""

    steps: tuple[Step, ...]
    success: bool
    graph: InsertionGraph | None = None


@dataclass(frozen=True)
class ValueExamples:
    """Inputs and first-exit targets of the value model.

    Attributes:
        x: ``float32 [N, D]`` features of ``x'_k``.
        exit_target: ``float32 [N]``: 1 (success at done), 0 (failed at ``k + 1``), ``nan`` (bootstrap).
        next_index: ``int64 [N]``: row of ``x'_{k+1}`` for bootstrapped rows, else −1.
    """

    x: np.ndarray
    exit_target: np.ndarray
    next_index: np.ndarray


def predicted_nodes(path: ThoughtPath, graph: InsertionGraph, root: int) -> list[SceneNode]:
    """``m_k`` for ``k = root ..``: the nodes the search predicts from ``n_root`` along the path's edges (see the module
    docstring), as far as the edges are possible from them."""
    node, out = path.steps[root].node, []
    for step in path.steps[root:]:
        if step.edge not in graph.edges(node):
            break
        out.append(node)
        node = graph.successor(node, step.edge)
    return out


def value_examples(paths: list[ThoughtPath], features: PathFeatures) -> ValueExamples:
    """Every step of every path, from every root before it, as a value example (see the module docstring); a root
    whose predicted nodes stop before the path's exit gives none (its bootstrapped targets would lead nowhere)."""
    rows, targets, nexts = [], [], []
    for path in paths:
        graph = path.graph or features.graph
        for root in range(len(path.steps)):
            nodes = predicted_nodes(path, graph, root)
            if root + len(nodes) < len(path.steps):  # the prediction stops short of the exit: nothing to bootstrap to
                continue
            for k, node in enumerate(nodes, start=root):
                step = path.steps[k]
                rows.append(features.encode(graph.successor(node, step.edge), path.steps[: k + 1]))
                if k == len(path.steps) - 1:
                    targets.append(1.0 if path.success and step.edge.kind == "done" else 0.0)
                    nexts.append(-1)
                else:
                    targets.append(np.nan)
                    nexts.append(len(rows))
    return ValueExamples(
        np.asarray(rows, dtype=np.float32), np.asarray(targets, dtype=np.float32), np.asarray(nexts, dtype=np.int64)
    )


def decision_examples(paths: list[ThoughtPath], features: PathFeatures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x [N, D], edge index [N], possible-edge mask bool [N, |V|])`` for ``(m_k, z_{0:k-1}) → e_k``, every step
    from every root before it (see the module docstring)."""
    vocabulary = features.graph.vocabulary()
    index = {e: i for i, e in enumerate(vocabulary)}
    xs, ys, masks = [], [], []
    for path in paths:
        graph = path.graph or features.graph
        for root in range(len(path.steps)):
            for k, node in enumerate(predicted_nodes(path, graph, root), start=root):
                xs.append(features.encode(node, path.steps[:k]))
                ys.append(index[features.graph.check(path.steps[k].edge)])
                possible = set(graph.edges(node))
                masks.append([e in possible for e in vocabulary])
    return np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.int64), np.asarray(masks, dtype=bool)
