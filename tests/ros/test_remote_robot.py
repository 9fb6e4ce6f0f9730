"""The policy node's view of the robot: lockstep observations, stale and missing images (no DDS needed)."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.errors import DriverError
from failforward.types import CameraFeature, EpisodeOutcome, JointCommand, JointFeature, Observation, RobotFeatures

policy_core = pytest.importorskip("failforward_ros.policy_core", reason="the ROS package is not installed")

FEATURES = RobotFeatures((JointFeature("j0", "rad", -1.0, 1.0, 1.0),), (CameraFeature("top", 4, 4),), 50.0)


class Link:
    def __init__(self) -> None:
        self.commands: list[tuple[np.ndarray, float]] = []

    def request_reset(self, timeout_s: float):
        from failforward_ros.episode import EpisodeStart

        return EpisodeStart("episode-1", 0, 5.0)

    def publish_command(self, positions: np.ndarray, stamp: float) -> None:
        self.commands.append((positions, stamp))


class LossyBridge(Link):
    """A lockstep bridge whose first ``lose`` command samples never arrive; it acts on each stamp once."""

    def __init__(self, lose: int) -> None:
        super().__init__()
        self.lose, self.acted, self.robot = lose, [], None

    def publish_command(self, positions: np.ndarray, stamp: float) -> None:
        super().publish_command(positions, stamp)
        if len(self.commands) <= self.lose:
            return
        if stamp not in self.acted:
            self.acted.append(stamp)
        self.robot.deliver_echo(stamp, positions)
        self._observe(5.0 + len(self.acted) * 0.02, positions)

    def request_reset(self, timeout_s: float):
        self._observe(5.0, np.zeros(1))  # the graph clock continues across resets
        return super().request_reset(timeout_s)

    def _observe(self, t: float, positions: np.ndarray) -> None:
        self.robot.deliver_observation(Observation(t, positions, np.zeros(1)))
        self.robot.deliver_sim_state(None, EpisodeOutcome(False, 0, "running"))


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


def test_a_lost_command_is_sent_again_with_its_stamp_and_acted_on_once() -> None:
    bridge = LossyBridge(lose=2)
    remote = policy_core.RemoteRobot(
        RobotFeatures(FEATURES.joints, (), 50.0), "task", bridge, episodic=True, timeout_s=1.0, resend_s=0.05
    )
    bridge.robot = remote
    remote.connect()
    first = remote.reset(0)
    assert remote.episode_id == "episode-1" and first.timestamp == 5.0
    sent = remote.send_action(JointCommand(first.timestamp, np.array([0.3])))
    assert sent.timestamp == 5.0  # the stamp of the observation it answered
    assert remote.resent == 2 and bridge.acted == [5.0] and {s for _, s in bridge.commands} == {5.0}
    after = remote.get_observation()
    assert after.timestamp == pytest.approx(5.02) and after.joint_positions[0] == pytest.approx(0.3)
    remote.send_action(JointCommand(after.timestamp, np.array([0.4])))
    assert bridge.acted == [5.0, 5.02]


def test_a_repeated_observation_is_not_taken_for_the_next_one() -> None:
    bridge = LossyBridge(lose=0)
    remote = policy_core.RemoteRobot(
        RobotFeatures(FEATURES.joints, (), 50.0), "task", bridge, episodic=True, timeout_s=0.3, resend_s=0.05
    )
    bridge.robot = remote
    remote.connect()
    remote.reset(0)
    remote.send_action(JointCommand(5.0, np.array([0.3])))
    remote.get_observation()
    remote.send_action(JointCommand(5.02, np.array([0.4])))
    remote.deliver_observation(Observation(5.02, np.array([0.3]), np.zeros(1)))  # the previous one, again
    remote.deliver_sim_state(None, EpisodeOutcome(False, 0, "running"))
    assert remote.get_observation().timestamp == pytest.approx(5.04)


def test_a_bridge_that_never_answers_is_an_error_after_the_timeout() -> None:
    bridge = LossyBridge(lose=10**6)
    remote = policy_core.RemoteRobot(
        RobotFeatures(FEATURES.joints, (), 50.0), "task", bridge, episodic=True, timeout_s=0.3, resend_s=0.05
    )
    bridge.robot = remote
    remote.connect()
    with pytest.raises(DriverError, match=r"did not acknowledge a command within 0\.3 s"):
        remote.send_action(JointCommand(0.0, np.array([0.3])))
    assert 3 <= remote.resent <= 6


class RestartedBridge(LossyBridge):
    """A lockstep bridge that is replaced by a new process after its first episode: the new one's clock starts at 0."""

    def __init__(self) -> None:
        super().__init__(lose=0)
        self.start = 5.0

    def request_reset(self, timeout_s: float):
        from failforward_ros.episode import EpisodeStart

        self._observe(self.start, np.zeros(1))
        return EpisodeStart(f"episode-at-{self.start}", 0, self.start)

    def _observe(self, t: float, positions: np.ndarray) -> None:
        super()._observe(t - 5.0 + self.start if t >= 5.0 else t, positions)


def test_a_bridge_started_anew_is_followed_from_its_first_stamp() -> None:
    bridge = RestartedBridge()
    remote = policy_core.RemoteRobot(
        RobotFeatures(FEATURES.joints, (), 50.0), "task", bridge, episodic=True, timeout_s=0.3, resend_s=0.05
    )
    bridge.robot = remote
    remote.connect()
    assert remote.reset(0).timestamp == pytest.approx(5.0)
    remote.send_action(JointCommand(5.0, np.array([0.3])))
    assert remote.get_observation().timestamp == pytest.approx(5.02)
    bridge.start, bridge.acted = 0.0, []  # robot_bridge restarted: its graph clock begins at 0 again
    assert remote.reset(1).timestamp == pytest.approx(0.0)
    sent = remote.send_action(JointCommand(0.0, np.array([0.1])))
    assert sent.timestamp == pytest.approx(0.0)  # stamped on the new clock, not after the old one's last command
