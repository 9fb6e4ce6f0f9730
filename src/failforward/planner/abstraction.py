"""The abstraction ``φ(s) → n`` for insertion tasks: measured positions in, a scene graph out.

It reads positions only, so the same code serves the simulator's ground truth and a camera's estimates (the
perception role's poses): plugs' and sockets' positions (a socket's position is its mouth: the centre of its opening,
at the rim), each gripper's tool position and opening (0 closed … 1 open), all in the robot's world frame [m].
Relations:
- ``inserted(p, s)``: ``p`` within ``inserted_xy_m`` of ``s`` horizontally and no higher than ``inserted_z_m`` above its
  mouth (the nearest such socket);
- ``held(p, gripper)``: ``p`` not inserted, within ``held_m`` of a gripper closed below ``closed_below``.

Example:
    >>> phi = InsertionAbstraction(graph)
    >>> node = phi.node(grippers={"right": tool_xyz}, openings={"right": 0.1}, objects=poses)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from failforward.planner.errors import NodeUnavailableError
from failforward.planner.graph import Relation, SceneNode
from failforward.planner.task_graph import GRIPPER, HELD, INSERTED, InsertionGraph


@dataclass(frozen=True)
class InsertionAbstraction:
    """Thresholds [m] and the closed-gripper opening (see the module docstring)."""

    graph: InsertionGraph
    inserted_xy_m: float = 0.012
    inserted_z_m: float = 0.015
    held_m: float = 0.05
    closed_below: float = 0.5

    def node(
        self,
        grippers: Mapping[str, np.ndarray],
        openings: Mapping[str, float],
        objects: Mapping[str, np.ndarray],
    ) -> SceneNode:
        """The scene graph of one moment; :class:`NodeUnavailableError` if a plug or socket has no finite position."""
        self._check(objects)
        positions = {name: np.asarray(objects[name], dtype=np.float64)[:3] for name in self._names()}
        relations: set[Relation] = set()
        for plug in self.graph.plugs:
            socket = self._socket_of(positions[plug], positions)
            if socket is not None:
                relations.add(Relation(INSERTED, plug, socket))
            elif self._held(positions[plug], grippers, openings):
                relations.add(Relation(HELD, plug, GRIPPER))
        grips = {arm: np.asarray(p, dtype=np.float64)[:3] for arm, p in grippers.items()}
        return SceneNode(grips, positions, frozenset(relations))

    def _names(self) -> tuple[str, ...]:
        return (*self.graph.plugs, *self.graph.sockets)

    def _check(self, objects: Mapping[str, np.ndarray]) -> None:
        missing = [n for n in self._names() if n not in objects or not np.all(np.isfinite(np.asarray(objects[n])[:3]))]
        if missing:
            raise NodeUnavailableError(
                f"No position for {', '.join(missing)}: the scene graph cannot be built, so the robot holds. "
                "Check that perception sees these objects (or that the robot reports them)."
            )

    def _socket_of(self, plug: np.ndarray, positions: Mapping[str, np.ndarray]) -> str | None:
        best, best_d = None, self.inserted_xy_m
        for socket in self.graph.sockets:
            mouth = positions[socket]
            d = float(np.linalg.norm(plug[:2] - mouth[:2]))
            if d <= best_d and plug[2] <= mouth[2] + self.inserted_z_m:
                best, best_d = socket, d
        return best

    def _held(self, plug: np.ndarray, grippers: Mapping[str, np.ndarray], openings: Mapping[str, float]) -> bool:
        near = {arm: float(np.linalg.norm(plug - np.asarray(p)[:3])) <= self.held_m for arm, p in grippers.items()}
        return any(close and openings.get(arm, 1.0) < self.closed_below for arm, close in near.items())
