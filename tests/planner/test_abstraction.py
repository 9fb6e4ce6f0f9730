"""The node abstraction from measured positions, and subgoal segmentation of an episode by gripper events."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.learn.vine.segment import EpisodeTrack, gripper_events, segment
from failforward.planner.abstraction import InsertionAbstraction
from failforward.planner.errors import NodeUnavailableError
from failforward.planner.graph import Subgoal
from failforward.planner.task_graph import InsertionGraph

GRAPH = InsertionGraph(plugs=("plug_a",), sockets=("socket_0", "socket_1"))
PHI = InsertionAbstraction(GRAPH)
PLUG, SOCKETS = (
    np.array([0.10, 0.10, 0.02]),
    {"socket_0": np.array([-0.1, 0.2, 0.03]), "socket_1": np.array([0.0, 0.2, 0.03])},
)


def _objects(plug: np.ndarray) -> dict[str, np.ndarray]:
    return {"plug_a": plug, **SOCKETS}


def test_relations_from_positions() -> None:
    tool = {"right": PLUG + [0, 0, 0.01]}
    assert PHI.node(tool, {"right": 1.0}, _objects(PLUG)).relations == frozenset()  # open gripper: not held
    assert PHI.node(tool, {"right": 0.1}, _objects(PLUG)).describe() == "held(plug_a, gripper)"
    seated = SOCKETS["socket_1"] + [0.004, -0.003, -0.01]
    assert PHI.node(tool, {"right": 0.1}, _objects(seated)).describe() == "inserted(plug_a, socket_1)"
    hovering = SOCKETS["socket_1"] + [0.0, 0.0, 0.05]  # above the mouth: not in
    assert "inserted" not in PHI.node({}, {}, _objects(hovering)).describe()


@pytest.mark.parametrize(
    "bad", [{"socket_0": SOCKETS["socket_0"], "socket_1": SOCKETS["socket_1"]}, _objects(PLUG * np.nan)]
)
def test_a_missing_or_unknown_position_is_reported(bad: dict) -> None:
    with pytest.raises(NodeUnavailableError, match="plug_a"):
        PHI.node({}, {}, bad)


def _track(drop_at: int | None = None) -> EpisodeTrack:
    """The right gripper closes on plug_a at tick 20, carries it into socket_1 by tick 60, opens at 65."""
    t = np.arange(100)
    opening = np.where((t >= 20) & (t < 65), 0.1, 1.0)
    path = np.array([PLUG + np.clip((k - 25) / 35, 0, 1) * (SOCKETS["socket_1"] + [0, 0, -0.01] - PLUG) for k in t])
    tools = (path + [0, 0, 0.01])[:, None, :]
    if drop_at is not None:  # the plug slips out and falls on the table; the gripper goes on, closed on nothing
        path[drop_at:] = path[drop_at] * [1, 1, 0] + [0, 0, 0.02]
        opening[drop_at:] = 0.1
    return EpisodeTrack(("right",), opening[:, None], tools, _objects_track(path))


def _objects_track(path: np.ndarray) -> dict[str, np.ndarray]:
    return {"plug_a": path, **{name: np.tile(xyz, (len(path), 1)) for name, xyz in SOCKETS.items()}}


def test_gripper_events_have_hysteresis() -> None:
    openings = np.array([1.0, 0.5, 0.3, 0.45, 0.35, 0.7, 0.9])[:, None]
    assert gripper_events(openings) == [2, 5]


def test_a_successful_episode_segments_into_grasp_insert_done() -> None:
    path = segment(_track(), PHI, success=True)
    assert [str(s.edge) for s in path.steps] == ["grasp plug_a", "insert plug_a socket_1", "done"]
    assert path.steps[1].node.describe() == "held(plug_a, gripper)"


def test_a_failed_episode_ends_with_the_attempted_subgoal() -> None:
    inferred = segment(_track(drop_at=40), PHI, success=False)
    assert [str(s.edge) for s in inferred.steps] == ["grasp plug_a", "insert plug_a socket_1"]  # nearest socket
    named = segment(_track(drop_at=40), PHI, success=False, attempted=Subgoal.parse("insert plug_a socket_0"))
    assert [str(s.edge) for s in named.steps] == ["grasp plug_a", "insert plug_a socket_0"] and not named.success
    assert named.steps[-1].node.describe() == "held(plug_a, gripper)"  # attempted from the last boundary


def test_a_retry_after_a_drop_is_not_the_same_path() -> None:
    """First exit: the plug let go outside a socket ends the thought path as failed, even if a retry then succeeds."""
    from failforward.learn.vine.segment import segment_nodes
    from failforward.planner.graph import Relation, SceneNode

    held = SceneNode(relations=frozenset({Relation("held", "plug_a", "gripper")}))
    seated = SceneNode(relations=frozenset({Relation("inserted", "plug_a", "socket_1")}))
    timeline = [SceneNode()] * 17 + [held] * 25 + [SceneNode()] * 15 + [held] * 30 + [seated] * 13  # 100 ticks
    openings = np.array([1.0] * 15 + [0.1] * 25 + [1.0] * 15 + [0.1] * 30 + [1.0] * 15)[:, None]
    path = segment_nodes(lambda t: timeline[t], openings, GRAPH, success=True, settle=3,
                         attempted_at=lambda t: Subgoal.parse("insert plug_a socket_1"))  # fmt: skip
    assert [str(s.edge) for s in path.steps] == ["grasp plug_a", "insert plug_a socket_1"] and not path.success


def test_a_failed_insertion_is_charged_to_the_insertion_not_to_the_retry_that_followed() -> None:
    """The runtime replans a retry (``grasp``) soon after the plug is let go; the failure belongs to what was executing
    when the gripper opened (the insertion), else the value learns that grasping fails and never that a socket does."""
    from failforward.learn.vine.segment import segment_nodes
    from failforward.planner.graph import Relation, SceneNode

    held = SceneNode(relations=frozenset({Relation("held", "plug_a", "gripper")}))
    timeline = [SceneNode()] * 17 + [held] * 25 + [SceneNode()] * 58  # let go outside a socket at tick 40
    openings = np.array([1.0] * 15 + [0.1] * 25 + [1.0] * 60)[:, None]

    def executing(t: int) -> Subgoal:  # the insertion until the plug is let go, then a retry is planned
        return Subgoal.parse("insert plug_a socket_0" if t <= 41 else "grasp plug_a")

    path = segment_nodes(lambda t: timeline[t], openings, GRAPH, success=False, settle=5, attempted_at=executing)
    assert [str(s.edge) for s in path.steps] == ["grasp plug_a", "insert plug_a socket_0"] and not path.success
