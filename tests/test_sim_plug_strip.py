"""The plug-strip task (issue 16, item 1): seeded layouts and splits, geometric success, the scripted expert."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pytest

from failforward.config import SimAlohaConfig
from failforward.config.base import SimSplit
from failforward.errors import ConfigError
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.sim.plug_strip_layout import (
    HEAD_HALF,
    PLUG_SHAPES,
    PLUGS,
    PRONG_TIP_Z,
    SPLIT_FACTORS,
    STRIP_COLORS,
    STRIP_RANGES,
    PlugStripLayout,
    PlugStripSplit,
    sample_layout,
    yaw_quat,
)
from failforward.sim.plug_strip_status import inserted_socket, socket_mouth
from failforward.sim.plug_strip_subgoals import all_orders, subgoals_of


def test_split_names_agree_with_the_config() -> None:
    assert set(get_args(SimSplit)) == set(get_args(PlugStripSplit)) == set(SPLIT_FACTORS)


def test_reset_is_deterministic_per_seed() -> None:
    a, b = sample_layout(7, "unseen"), sample_layout(7, "unseen")
    assert np.array_equal(a.object_qpos(), b.object_qpos()) and (a.color, a.shape, a.n_sockets) == (
        b.color,
        b.shape,
        b.n_sockets,
    )
    assert not np.array_equal(a.object_qpos(), sample_layout(8, "unseen").object_qpos())


def test_seen_and_unseen_draw_from_disjoint_placements_colours_and_shapes() -> None:
    assert not set(STRIP_COLORS["seen"]) & set(STRIP_COLORS["unseen"])
    assert not set(PLUG_SHAPES["seen"]) & set(PLUG_SHAPES["unseen"])
    seen = [sample_layout(s, "seen") for s in range(40)]
    unseen = [sample_layout(s, "unseen") for s in range(40)]
    y_seen, y_unseen = STRIP_RANGES["seen"]["y"], STRIP_RANGES["unseen"]["y"]
    assert y_seen[1] < y_unseen[0]  # the placement ranges do not overlap
    assert all(y_seen[0] <= lay.strip_pose[1] <= y_seen[1] for lay in seen)
    assert all(y_unseen[0] <= lay.strip_pose[1] <= y_unseen[1] for lay in unseen)
    assert {lay.color for lay in seen} <= set(STRIP_COLORS["seen"])
    assert {lay.color for lay in unseen} <= set(STRIP_COLORS["unseen"])
    assert {lay.shape for lay in seen} == {"box"} and {lay.shape for lay in unseen} == {"cylinder"}
    assert {lay.n_sockets for lay in seen} == {2, 3} and {len(lay.plugs) for lay in seen} == {1, 2}


def test_orders_cover_plug_order_and_socket_choice() -> None:
    layouts = (sample_layout(s) for s in range(50))
    layout = next(lay for lay in layouts if lay.n_sockets == 3 and len(lay.plugs) == 2)
    assert len(all_orders(layout)) == 12
    assert [str(s) for s in subgoals_of([("plug_b", "socket_2")], layout)] == [
        "grasp plug_b",
        "insert plug_b socket_2",
        "done",
    ]
    with pytest.raises(ConfigError, match="all_orders"):
        subgoals_of([("plug_a", "socket_1"), ("plug_b", "socket_1")], layout)


def _plug_at(position: np.ndarray, yaw: float = 0.0) -> np.ndarray:
    return np.concatenate([position, yaw_quat(yaw)])


def test_inserted_is_geometric() -> None:
    layout = next(sample_layout(s) for s in range(50) if sample_layout(s).n_sockets == 2)
    strip = layout.strip_pose
    mouth = socket_mouth(strip, 1)
    seated = mouth + np.array([0.0, 0.0, HEAD_HALF[2]])  # head resting on the rim
    assert inserted_socket(layout, _plug_at(seated), strip) == "socket_1"
    assert inserted_socket(layout, _plug_at(seated + [0.0, 0.0, 0.01]), strip) is None  # only 8 mm above: at the rim
    assert inserted_socket(layout, _plug_at(seated + [0.0, 0.025, 0.0]), strip) is None  # next to the socket
    capped = socket_mouth(strip, 2) + np.array([0.0, 0.0, HEAD_HALF[2]])
    assert inserted_socket(layout, _plug_at(capped), strip) is None  # socket_2 is capped on a 2-socket strip


@pytest.fixture(scope="module")
def robot():
    with SimAlohaDriver(SimAlohaConfig(task="plug_strip", cameras=())) as driver:
        yield driver


def test_a_plug_set_by_hand_in_a_socket_succeeds_and_next_to_it_does_not(robot: SimAlohaDriver) -> None:
    seed = next(s for s in range(50) if sample_layout(s).plugs == ("plug_a",))
    robot.reset(seed)
    scene = robot.scene
    strip = scene.object_poses()["strip"]
    seated = socket_mouth(strip, 0) + np.array([0.0, 0.0, HEAD_HALF[2] + 0.001])
    qpos = scene.data.qpos.copy()
    adr = scene._object_qposadr["plug_a"]
    qpos[adr : adr + 7] = _plug_at(seated, yaw=float(2 * np.arctan2(strip[6], strip[3])))
    scene.set_qpos(qpos)
    for _ in range(10):
        robot.send_action(_hold(robot))
    assert robot.privileged_state().success and robot.episode_outcome().success
    robot.reset(seed)
    beside = socket_mouth(strip, 0) + np.array([0.0, 0.0, 0.0]) + np.array([0.0, -0.06, -0.03 - PRONG_TIP_Z])
    qpos[adr : adr + 7] = _plug_at(beside)
    robot.scene.set_qpos(qpos)
    for _ in range(10):
        robot.send_action(_hold(robot))
    assert not robot.privileged_state().success


def _hold(robot: SimAlohaDriver):
    from failforward.types import JointCommand

    obs = robot.get_observation()
    return JointCommand(obs.timestamp, obs.joint_positions)


def test_the_driver_reports_the_layout_and_object_poses(robot: SimAlohaDriver) -> None:
    robot.reset(3)
    state = robot.privileged_state()
    assert set(state.object_poses) == {"strip", "plug_a", "plug_b"}
    assert state.variant.split == "seen" and state.stage == 0
    with pytest.raises(ValueError, match="only plug_strip"):
        SimAlohaConfig(task="insertion", split="unseen")


def test_unknown_split_is_refused() -> None:
    with pytest.raises(ConfigError, match="unseen_shape"):
        sample_layout(0, "nope")


def _layout(strip_x: float, plug_x: float) -> PlugStripLayout:
    """A 3-socket strip centred at ``strip_x`` [m] (y 0.58, square to the table), one box plug_a at ``plug_x``."""
    strip = np.concatenate([[strip_x, 0.58, 0.0], yaw_quat(0.0)])
    plug = np.concatenate([[plug_x, 0.36, -PRONG_TIP_Z], yaw_quat(0.3)])
    rgb = STRIP_COLORS["seen"]["white"]
    return PlugStripLayout("seen", strip, 3, ("plug_a",), {"plug_a": plug}, "white", rgb, "box")


@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_which_socket_is_out_of_reach_depends_on_the_placement(side: float) -> None:
    """The strip shifted 0.12 m towards one arm, the plug on the other arm's side: that arm inserts into the strip's
    near end (0.08 m past the centre line) and misses its far end (0.16 m past it, beyond its reach). Mirrored, the
    same socket names swap roles, so no fixed socket choice is safe: the planner must read the placement."""
    from failforward.policy.expert.plug_strip_episode import run_episode

    layout = _layout(strip_x=0.12 * side, plug_x=-0.22 * side)
    near, far = ("socket_0", "socket_2") if side > 0 else ("socket_2", "socket_0")
    easy = run_episode(0, [("plug_a", near)], layout=layout)
    assert easy.success and easy.subgoals == [("grasp plug_a", True), (f"insert plug_a {near}", True)]
    hard = run_episode(0, [("plug_a", far)], layout=layout)
    assert not hard.success and hard.subgoals == [("grasp plug_a", True), (f"insert plug_a {far}", False)]
    assert hard.reason.startswith(("missed", "jammed")), hard.reason


def test_plugs_lie_on_either_side_and_two_never_overlap() -> None:
    layouts = [sample_layout(s, split) for s in range(60) for split in ("seen", "unseen")]
    sides = {(p, bool(lay.plug_poses[p][0] > 0)) for lay in layouts for p in lay.plugs}
    assert sides == {(p, right) for p in PLUGS for right in (False, True)}
    pairs = [lay.plug_poses for lay in layouts if len(lay.plugs) == 2]
    assert min(float(np.linalg.norm(q["plug_a"][:2] - q["plug_b"][:2])) for q in pairs) > 2 * HEAD_HALF[0]
    assert any(q["plug_a"][0] * q["plug_b"][0] > 0 for q in pairs)  # both on one arm's side happens
