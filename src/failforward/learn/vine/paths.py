"""Thought paths: an episode as the planner sees it, ``z = (n_0, e_0, n_1, …)`` with how it ended.

A path that succeeded ends with the ``done`` edge; a failed one ends with the edge whose execution failed
(the failure happened at ``k + 1``). The value model is trained on the *reasoning states the search evaluates*:
``x'_k = (successor(n_k, e_k), z_{0:k})``, the predicted node an edge leads to with the path through that edge
(positions as measured at ``n_k``), so training and search read the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from failforward.planner.features import PathFeatures
from failforward.planner.graph import Step
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


def value_examples(paths: list[ThoughtPath], features: PathFeatures) -> ValueExamples:
    """Every step of every path as a value example (see the module docstring)."""
    rows, targets, nexts = [], [], []
    for path in paths:
        graph = path.graph or features.graph
        for k, step in enumerate(path.steps):
            last = k == len(path.steps) - 1
            node = graph.successor(step.node, step.edge)
            rows.append(features.encode(node, path.steps[: k + 1]))
            if last:
                targets.append(1.0 if path.success and step.edge.kind == "done" else 0.0)
                nexts.append(-1)
            else:
                targets.append(np.nan)
                nexts.append(len(rows))
    return ValueExamples(
        np.asarray(rows, dtype=np.float32), np.asarray(targets, dtype=np.float32), np.asarray(nexts, dtype=np.int64)
    )


def decision_examples(paths: list[ThoughtPath], features: PathFeatures) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x [N, D], edge index [N], possible-edge mask bool [N, |V|])`` for ``(n_k, z_{0:k-1}) → e_k``."""
    vocabulary = features.graph.vocabulary()
    index = {e: i for i, e in enumerate(vocabulary)}
    xs, ys, masks = [], [], []
    for path in paths:
        graph = path.graph or features.graph
        for k, step in enumerate(path.steps):
            xs.append(features.encode(step.node, path.steps[:k]))
            ys.append(index[features.graph.check(step.edge)])
            possible = set(graph.edges(step.node))
            masks.append([e in possible for e in vocabulary])
    return np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.int64), np.asarray(masks, dtype=bool)
