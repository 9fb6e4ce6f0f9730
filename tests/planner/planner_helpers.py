"""A two-plug, three-socket thought graph with a known risky step, for the planner tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from failforward.planner.graph import SceneNode, Step, Subgoal
from failforward.planner.task_graph import INSERTED, InsertionGraph

GRAPH = InsertionGraph(plugs=("plug_a", "plug_b"), sockets=("socket_0", "socket_1", "socket_2"))
START = SceneNode(
    grippers={"left": np.array([-0.3, 0.0, 0.2]), "right": np.array([0.3, 0.0, 0.2])},
    objects={"plug_a": np.array([0.1, 0.1, 0.02]), "socket_1": np.array([0.0, 0.2, 0.03])},
)
RISKY = Subgoal("insert", ("plug_a", "socket_1"))  # first into the middle socket: plug_b then collides with it


def risky_value(node: SceneNode, history: Sequence[Step]) -> float:
    """As a value trained on outcomes reads: 0.1 right after plug_a went into socket_1 while plug_b was still loose
    (that step usually ends in failure); once past it, the path has survived: 0.9, and 1.0 when the task is done."""
    if history and history[-1].edge == RISKY and not history[-1].node.related(INSERTED):
        return 0.1
    return 1.0 if node.terminal else 0.9


class PreferRisky:
    """A decision model that likes socket_1 (as a success-only imitation prior might) and plug_a first."""

    def propose(self, node: SceneNode, history: Sequence[Step], edges: Sequence[Subgoal]) -> list[float]:
        return [3.0 if "socket_1" in e.args else 2.0 if "plug_a" in e.args else 1.0 for e in edges]


def takes_risk(subgoals: Sequence[Subgoal]) -> bool:
    """Whether executing ``subgoals`` from ``START`` takes the risky step while plug_b is still loose."""
    node = START
    for edge in subgoals:
        if edge == RISKY and not node.related(INSERTED):
            return True
        node = GRAPH.successor(node, edge)
    return False
