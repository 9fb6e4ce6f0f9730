"""The plug-strip task as System 2 sees it: the episode's thought graph and ``φ(observation) → SceneNode``.

``φ`` reads what a cell can measure: the objects' poses in the observation (``object_state``, ``[7 · 3]`` for
``strip, plug_a, plug_b``: the simulator's or a perception estimator's), the joints (tool positions by the arms'
forward kinematics; openings from the gripper joints) and the strip's layout (how many sockets it has and which plugs
are on the table: the task's configuration, as a user sets up a cell; in simulation drawn from the episode's seed and
split, :func:`failforward.sim.plug_strip_layout.sample_layout`). Relations:

- ``inserted(p, s)``: the simulator's own geometric rule (:func:`failforward.sim.plug_strip_status.inserted_socket`:
  upright, prong tip inside ``s``'s well, below the rim), here applied to the observed poses;
- ``held(p, gripper)``: not inserted, a gripper closed below ``CLOSED`` with its tool within ``HELD_M`` of the head.

Positions in the node (features for the learned models): plug heads and socket mouths, world frame [m].

Example:
    >>> task = PlugStripPlanning(layout_for=lambda seed: sample_layout(seed, "seen"), ik=AlohaIK(xml))
    >>> task.reset(seed)                # a new episode
    >>> graph = task.graph()            # its plugs and sockets
    >>> node = task.node(observation)   # SceneNode, or NodeUnavailableError
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from failforward.kinematics.aloha_ik import AlohaIK
from failforward.planner.errors import NodeUnavailableError, PlannerError
from failforward.planner.graph import Relation, SceneNode
from failforward.planner.task_graph import GRIPPER, HELD, INSERTED, InsertionGraph
from failforward.sim.plug_strip_layout import OBJECTS, PlugStripLayout
from failforward.sim.plug_strip_status import inserted_socket, socket_mouth
from failforward.types import Observation

CLOSED = 0.5  # normalized opening below which a gripper counts as closed
HELD_M = 0.05  # [m] tool-to-head distance under which a closed gripper holds the plug
GRIPPERS = {"left": 6, "right": 13}  # joint columns of the 14-joint ALOHA
ARM_COLUMNS = np.r_[0:6, 7:13]


@dataclass
class PlugStripPlanning:
    """``graph()`` and ``node(observation)`` for the current episode (see the module docstring).

    Args:
        layout_for: an episode's layout from its seed (the task's configuration).
        ik: the arms' kinematics (forward kinematics of the tool sites).
    """

    layout_for: Callable[[int], PlugStripLayout]
    ik: AlohaIK
    layout: PlugStripLayout | None = None

    def reset(self, seed: int) -> None:
        """A new episode: its layout."""
        self.layout = self.layout_for(seed)

    def graph(self) -> InsertionGraph:
        layout = self._layout()
        return InsertionGraph(plugs=tuple(layout.plugs), sockets=tuple(layout.sockets))

    def _layout(self) -> PlugStripLayout:
        if self.layout is None:
            raise PlannerError("PlugStripPlanning.reset(seed) must run at the episode's start (the loop does).")
        return self.layout

    def node(self, observation: Observation) -> SceneNode:
        layout = self._layout()
        poses = self._poses(observation)
        strip = poses["strip"]
        tools = self.ik.tool_poses(observation.joint_positions[ARM_COLUMNS])
        grippers = {side: tools[side].translation() for side in GRIPPERS}
        openings = {side: float(observation.joint_positions[col]) for side, col in GRIPPERS.items()}
        relations: set[Relation] = set()
        for plug in layout.plugs:
            socket = inserted_socket(layout, poses[plug], strip)
            if socket is not None:
                relations.add(Relation(INSERTED, plug, socket))
            elif any(
                openings[s] < CLOSED and np.linalg.norm(grippers[s] - poses[plug][:3]) <= HELD_M for s in GRIPPERS
            ):
                relations.add(Relation(HELD, plug, GRIPPER))
        objects = {p: poses[p][:3].copy() for p in layout.plugs}
        objects.update({s: socket_mouth(strip, i) for i, s in enumerate(layout.sockets)})
        return SceneNode(grippers, objects, frozenset(relations))

    @staticmethod
    def _poses(observation: Observation) -> dict[str, np.ndarray]:
        state = observation.object_state
        if state is None or np.asarray(state).size != 7 * len(OBJECTS) or not np.all(np.isfinite(state)):
            raise NodeUnavailableError(
                f"The observation carries no usable poses of {', '.join(OBJECTS)} (object_state "
                f"{None if state is None else np.asarray(state).shape}): set robot.object_state=true in simulation "
                "or run a perception estimator for these objects."
            )
        rows = np.asarray(state, dtype=np.float64).reshape(len(OBJECTS), 7)
        return dict(zip(OBJECTS, rows, strict=True))
