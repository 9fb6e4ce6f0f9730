"""The fake robot passes the driver contract, is built by the registry and behaves as its docstring says."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from pydantic import ValidationError

from failforward.config import RunConfig
from failforward.robots.registry import make_driver
from failforward.testing import FakeRobot, FakeRobotConfig
from failforward.testing.driver_contract import RobotDriverContract
from failforward.types import JointCommand


class TestFakeRobotWithCameras(RobotDriverContract):
    def make_driver(self) -> FakeRobot:
        return FakeRobot(FakeRobotConfig(cameras=("top", "wrist"), image_height=12, image_width=20))


class TestFakeRobotFourteenJoints(RobotDriverContract):
    def make_driver(self) -> FakeRobot:
        return FakeRobot(FakeRobotConfig(joint_names=tuple(f"j{i}" for i in range(14)), time_constant_s=0.0))


def test_registry_builds_the_fake_from_a_run_config() -> None:
    config = RunConfig(robot={"kind": "fake", "cameras": ["top"]})
    assert isinstance(config.robot, FakeRobotConfig)
    assert isinstance(make_driver(config.robot), FakeRobot)


def test_joints_lag_the_target_as_a_first_order_system() -> None:
    config = FakeRobotConfig(time_constant_s=0.1, control_hz=50.0)
    alpha = 1.0 - math.exp(-0.02 / 0.1)
    with FakeRobot(config) as robot:
        start = robot.reset(seed=0).joint_positions
        target = start + 0.5
        for tick in range(1, 6):
            sent = robot.send_action(JointCommand(0.0, target))
            obs = robot.get_observation()
            np.testing.assert_allclose(obs.joint_positions, target - 0.5 * (1 - alpha) ** tick, atol=1e-12)
        assert obs.timestamp == pytest.approx(5 * 0.02) and sent.timestamp == obs.timestamp
        assert np.all(obs.joint_velocities > 0)


def test_reaching_the_goal_is_judged_a_success_and_reset_clears_it() -> None:
    with FakeRobot(FakeRobotConfig(time_constant_s=0.02)) as robot:
        robot.reset(seed=5)
        assert not robot.episode_outcome().success
        goal = robot.privileged_state().goal
        for _ in range(20):
            robot.send_action(JointCommand(0.0, goal))
        assert robot.episode_outcome().success
        robot.send_action(JointCommand(0.0, -goal))  # leaving the goal keeps the success (as in sim_aloha)
        assert robot.episode_outcome().success
        robot.reset(seed=5)
        assert not robot.episode_outcome().success


def test_seeds_decide_start_and_goal() -> None:
    with FakeRobot(FakeRobotConfig()) as robot:
        first = robot.reset(seed=1).joint_positions, robot.privileged_state().goal
        other = robot.reset(seed=2).joint_positions, robot.privileged_state().goal
        again = robot.reset(seed=1).joint_positions, robot.privileged_state().goal
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], other[0]) and not np.allclose(first[1], other[1])


def test_images_are_per_camera_and_follow_the_first_joint() -> None:
    with FakeRobot(FakeRobotConfig(cameras=("a", "b"), image_height=4, image_width=8, time_constant_s=0.0)) as robot:
        before = robot.reset(seed=0).images
        robot.send_action(JointCommand(0.0, np.full(6, 2.5)))
        after = robot.get_observation().images
    assert set(before) == {"a", "b"} and before["a"].shape == (4, 8, 3)
    assert before["a"][0, 0, 0] == 0 and before["a"][0, -1, 0] == 255
    assert before["a"][0, 0, 1] != before["b"][0, 0, 1]
    assert after["a"][0, 0, 2] > before["a"][0, 0, 2]


@pytest.mark.parametrize(
    "bad",
    [{"joint_names": ()}, {"joint_names": ("a", "a")}, {"cameras": ("top", "top")}, {"kind": "fak"}, {"control_hz": 0}],
)
def test_bad_configs_are_rejected(bad: dict) -> None:
    with pytest.raises(ValidationError):
        FakeRobotConfig(**bad)


def test_the_fake_and_the_loop_import_no_simulator() -> None:
    code = (
        "import sys, failforward.testing, failforward.control.loop, failforward.record.recorder; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'mujoco', 'gym_aloha', 'mink'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
