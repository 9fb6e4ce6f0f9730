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
