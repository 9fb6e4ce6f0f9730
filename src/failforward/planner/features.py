"""Reasoning states ``x_k = (n_k, z_{0:k-1})`` as fixed-size vectors for the decision and value models.

Layout (``float32 [D]``, :meth:`PathFeatures.size`), for a task's plugs ``P``, sockets ``S``, arms ``R`` and the
vocabulary ``V`` of :class:`~failforward.planner.task_graph.InsertionGraph`:
``held`` ``[P]`` · ``inserted`` ``[P·S]`` · terminal ``[1]`` · object positions ``[(P+S)·3]`` [m] · gripper positions
``[R·3]`` [m] · the path so far, one one-hot row over ``V`` per step up to ``max_depth`` ``[max_depth·|V|]``;
with ``relations``, then the scene graph's pairwise spatial relations (VINE §3: a node holds the entities and their
pairwise relations) as displacement vectors: every socket from every plug ``[P·S·3]`` and every plug from every
arm's gripper ``[R·P·3]`` [m]. Objects or arms a scene lacks read as zeros (so do relations that involve them).
Positions are in the robot's world frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from failforward.planner.graph import SceneNode, Step
from failforward.planner.task_graph import GRIPPER, HELD, INSERTED, InsertionGraph


@dataclass(frozen=True)
class PathFeatures:
    """Encodes reasoning states of one task graph (see the module docstring)."""

    graph: InsertionGraph
    arms: tuple[str, ...] = ("left", "right")
    max_depth: int = 8
    relations: bool = False

    @property
    def size(self) -> int:
        p, s, v, r = len(self.graph.plugs), len(self.graph.sockets), len(self.graph.vocabulary()), len(self.arms)
        pairs = (p * s + r * p) * 3 if self.relations else 0
        return p + p * s + 1 + (p + s) * 3 + r * 3 + self.max_depth * v + pairs

    def encode(self, node: SceneNode, history: Sequence[Step]) -> np.ndarray:
        """``float32 [size]`` for node ``n_k`` reached by ``history`` (``z_{0:k-1}``, oldest first)."""
        g = self.graph
        held = [node.holds(HELD, p, GRIPPER) for p in g.plugs]
        inserted = [node.holds(INSERTED, p, s) for p in g.plugs for s in g.sockets]
        objects = [_xyz(node.objects.get(name)) for name in (*g.plugs, *g.sockets)]
        grippers = [_xyz(node.grippers.get(arm)) for arm in self.arms]
        path = np.zeros((self.max_depth, len(g.vocabulary())), dtype=np.float32)
        index = {e: i for i, e in enumerate(g.vocabulary())}
        for k, step in enumerate(history[: self.max_depth]):
            path[k, index[g.check(step.edge)]] = 1.0
        parts = [np.asarray(held + inserted + [node.terminal], dtype=np.float32), *objects, *grippers, path.ravel()]
        if self.relations:
            parts += self._relations(node)
        return np.concatenate(parts).astype(np.float32)

    def _relations(self, node: SceneNode) -> list[np.ndarray]:
        """Socket − plug for every (plug, socket), then plug − gripper for every (arm, plug), ``[3]`` each [m]."""
        plugs = [node.objects.get(p) for p in self.graph.plugs]
        sockets = [node.objects.get(s) for s in self.graph.sockets]
        grippers = [node.grippers.get(arm) for arm in self.arms]
        return [_between(p, s) for p in plugs for s in sockets] + [_between(g, p) for g in grippers for p in plugs]


def _between(origin: np.ndarray | None, to: np.ndarray | None) -> np.ndarray:
    """``to − origin`` ``[3]``, zeros when either is unknown."""
    if origin is None or to is None:
        return np.zeros(3, dtype=np.float32)
    return _xyz(to) - _xyz(origin)


def _xyz(position: np.ndarray | None) -> np.ndarray:
    return np.zeros(3, dtype=np.float32) if position is None else np.asarray(position, dtype=np.float32)[:3]
