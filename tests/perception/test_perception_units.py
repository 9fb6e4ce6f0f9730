"""Ground-truth pass-through (its contract), the registry, symmetry-aware errors and the in-hand grasp geometry."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.config import GroundTruthPerceptionConfig
from failforward.errors import ConfigError, UnknownNameError
from failforward.perception import PerceptionContext, PerceptionError, make_perception
from failforward.perception.ground_truth import GroundTruthPerception
from failforward.perception.in_hand import Tool, carried, find_grasp
from failforward.perception.symmetry import box_symmetries, rotation_angle_deg, symmetric_angle_deg
from failforward.testing.perception_contract import ObjectPerceptionContract
from failforward.types import Observation, RobotFeatures

POSE = np.array([0.1, 0.5, 0.02, 1.0, 0.0, 0.0, 0.0])


def _observation(object_state: np.ndarray) -> Observation:
    return Observation(0.0, np.zeros(14), np.zeros(14), object_state=object_state)


class TestGroundTruthContract(ObjectPerceptionContract):
    def make_perception(self):
        return GroundTruthPerception(("box",))

    def make_observation(self):
        return _observation(POSE)

    def make_unusable_observation(self):
        return _observation(np.zeros(0))  # the robot reports no poses


def test_ground_truth_refuses_non_finite_or_missized_poses_and_says_how_to_fix_it():
    perception = GroundTruthPerception(("peg", "socket"))
    with pytest.raises(PerceptionError, match=r"\[14\] finite numbers\), the observation has 7.*object_state=true"):
        perception.estimate(_observation(POSE))
    with pytest.raises(PerceptionError):
        perception.estimate(_observation(np.concatenate([POSE, [np.nan, 0, 0, 1, 0, 0, 0]])))


def test_the_registry_builds_by_name_and_refuses_ground_truth_without_poses():
    with_objects = RobotFeatures((), (), 50.0, object_names=("box",))
    built = make_perception(GroundTruthPerceptionConfig(), PerceptionContext(with_objects, "transfer_cube"))
    assert isinstance(built, GroundTruthPerception) and built.object_names == ("box",)
    with pytest.raises(ConfigError, match=r"set robot\.object_state=true"):
        make_perception(GroundTruthPerceptionConfig(), PerceptionContext(RobotFeatures((), (), 50.0), "transfer_cube"))

    class Typo:
        kind = "rgb_d"

    with pytest.raises(UnknownNameError, match="Did you mean 'rgbd'"):
        make_perception(Typo(), PerceptionContext(with_objects, "transfer_cube"))


def _about(axis: int, degrees: float) -> np.ndarray:
    q = np.zeros(4)
    q[0], q[1 + axis] = np.cos(np.deg2rad(degrees) / 2), np.sin(np.deg2rad(degrees) / 2)
    return q


def test_symmetry_groups_and_the_smallest_angle_over_them():
    assert [len(box_symmetries(h)) for h in ((0.02,) * 3, (0.06, 0.01, 0.01), (0.06, 0.022, 0.021))] == [24, 8, 4]
    identity = np.array([1.0, 0.0, 0.0, 0.0])
    assert rotation_angle_deg(identity, _about(1, 85.0)) == pytest.approx(85.0)
    assert symmetric_angle_deg(identity, _about(1, 85.0), (0.02,) * 3) == pytest.approx(5.0)  # a cube
    assert symmetric_angle_deg(identity, _about(1, 85.0), (0.06, 0.01, 0.01)) == pytest.approx(85.0)  # the peg
    assert symmetric_angle_deg(identity, _about(0, 90.0), (0.06, 0.01, 0.01)) == pytest.approx(0.0)  # about its axis
    assert symmetric_angle_deg(identity, -_about(2, 10.0), (0.06, 0.022, 0.021)) == pytest.approx(10.0)


def _tool(xyz, opening, yaw_deg=0.0) -> Tool:
    c, s = np.cos(np.deg2rad(yaw_deg)), np.sin(np.deg2rad(yaw_deg))
    pose = np.eye(4)
    pose[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
    pose[:3, 3] = xyz
    return Tool(pose, opening)


def test_a_closed_gripper_over_the_object_carries_it_and_an_open_or_far_one_does_not():
    cube = np.array([0.1, 0.5, 0.02])
    tools = {"left": _tool((0.1, 0.5, 0.03), 0.9), "right": _tool((0.11, 0.5, 0.04), 0.6)}
    grasp = find_grasp(cube, tools, radius_m=0.04, max_opening=0.8)
    assert grasp is not None and grasp.gripper == "right"  # the left one is nearer but open
    moved = {"right": _tool((0.0, 0.45, 0.2), 0.6, yaw_deg=90.0), "left": tools["left"]}
    # the offset (−0.01, 0, −0.02) in the tool frame, turned 90° about z
    np.testing.assert_allclose(carried(grasp, moved), [0.0, 0.44, 0.18], atol=1e-12)
    assert find_grasp(cube, {"right": _tool((0.2, 0.5, 0.04), 0.6)}, radius_m=0.04, max_opening=0.8) is None
