"""The policy node's view of the robot: lockstep observations, stale and missing images (no DDS needed)."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.errors import DriverError
from failforward.types import CameraFeature, JointFeature, Observation, RobotFeatures

policy_core = pytest.importorskip("failforward_ros.policy_core", reason="the ROS package is not installed")

FEATURES = RobotFeatures((JointFeature("j0", "rad", -1.0, 1.0, 1.0),), (CameraFeature("top", 4, 4),), 50.0)


class Link:
    def __init__(self) -> None:
        self.commands: list[tuple[np.ndarray, float]] = []

    def request_reset(self, timeout_s: float) -> None:
        pass

    def publish_command(self, positions: np.ndarray, stamp: float) -> None:
        self.commands.append((positions, stamp))


def robot() -> policy_core.RemoteRobot:
    remote = policy_core.RemoteRobot(FEATURES, "task", Link(), episodic=False, timeout_s=0.2, frame_wait_s=0.05)
    remote.connect()
    return remote


def test_observation_carries_the_frame_of_the_same_stamp() -> None:
    remote = robot()
    remote.deliver_image("top", 1.0, np.full((4, 4, 3), 7, np.uint8))
    remote.deliver_observation(Observation(1.0, np.zeros(1), np.zeros(1)))
    obs = remote.get_observation()
    assert obs.images["top"][0, 0, 0] == 7 and remote.dropped_frames == 0


def test_a_stale_image_is_an_error_not_an_old_view() -> None:
    remote = robot()
    remote.deliver_image("top", 1.0, np.zeros((4, 4, 3), np.uint8))
    remote.deliver_observation(Observation(3.0, np.zeros(1), np.zeros(1)))
    with pytest.raises(DriverError, match="Stale camera images"):
        remote.get_observation()
    assert remote.dropped_frames == 1


def test_no_joint_state_is_a_timeout_error() -> None:
    with pytest.raises(DriverError, match="No joint_states"):
        robot().get_observation()


def test_object_poses_of_the_same_stamp_join_the_observation() -> None:
    features = RobotFeatures(FEATURES.joints, (), 50.0, object_names=("box",))
    remote = policy_core.RemoteRobot(features, "task", Link(), episodic=False, timeout_s=0.2, frame_wait_s=0.05)
    remote.connect()
    pose = np.array([0.1, 0.5, 0.05, 1.0, 0.0, 0.0, 0.0])
    remote.deliver_object_state(0.98, pose)
    remote.deliver_observation(Observation(1.0, np.zeros(1), np.zeros(1)))
    with pytest.raises(DriverError, match=r"No objects/poses for the joint state at 1\.000 s"):
        remote.get_observation()
    remote.deliver_object_state(1.0, pose)
    np.testing.assert_array_equal(remote.get_observation().object_state, pose)


def test_object_poses_survive_their_message() -> None:
    convert = pytest.importorskip("failforward_ros.convert")
    from failforward.errors import ShapeError

    state = np.array([0.1, 0.5, 0.05, 0.7, 0.1, -0.1, 0.7, -0.2, 0.4, 0.06, 1.0, 0.0, 0.0, 0.0])
    msg = convert.object_poses_msg(2.5, state)
    np.testing.assert_allclose(convert.object_state_from_poses(msg, 2), state)
    assert convert.from_stamp(msg.header.stamp) == pytest.approx(2.5) and msg.header.frame_id == "world"
    with pytest.raises(ShapeError, match="holds 2 poses, the robot has 1"):
        convert.object_state_from_poses(msg, 1)
    msg.poses[0].position.x = float("nan")
    with pytest.raises(ShapeError, match="NaN"):
        convert.object_state_from_poses(msg, 2)
