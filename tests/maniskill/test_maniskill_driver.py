"""The ManiSkill driver passes the driver contract and reports ManiSkill's own judgement of the task."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mani_skill")

from failforward.config import ManiSkillConfig, get_preset
from failforward.robots.maniskill import TASKS, ManiSkillDriver
from failforward.robots.registry import make_driver
from failforward.testing.driver_contract import RobotDriverContract
from failforward.types import JointCommand


class TestManiSkillPullCube(RobotDriverContract):
    def make_driver(self) -> ManiSkillDriver:
        return ManiSkillDriver(ManiSkillConfig(task="PullCube-v1", max_episode_steps=100))


@pytest.fixture(scope="module")
def stack_cube():
    with make_driver(get_preset("maniskill_stack_cube").robot) as robot:
        yield robot


def test_registry_builds_the_driver_with_the_panda_features(stack_cube: ManiSkillDriver) -> None:
    features = stack_cube.features
    assert isinstance(stack_cube, ManiSkillDriver)
    assert features.joint_names == (*(f"panda_joint{i}" for i in range(1, 8)), "panda_gripper")
    assert [j.unit for j in features.joints] == ["rad"] * 7 + ["normalized"]
    assert features.control_hz == 20.0
    # the Panda's documented limits: joint 4 [-3.0718, -0.0698] rad, joint 1 max speed 2.175 rad/s
    assert features.joints[3].lower == pytest.approx(-3.0718, abs=1e-4)
    assert features.joints[3].upper == pytest.approx(-0.0698, abs=1e-4)
    assert features.joints[0].max_velocity == pytest.approx(2.175)


def test_gripper_maps_to_maniskill_finger_targets(stack_cube: ManiSkillDriver) -> None:
    """Normalized 0 is ManiSkill's closing target (-0.01 m): the empty hand closes fully, reading 0.2."""
    obs = stack_cube.reset(seed=0)
    assert obs.joint_positions[7] == pytest.approx(1.0, abs=0.01)  # starts open at 0.04 m
    closed = obs.joint_positions.copy()
    closed[7] = 0.0
    for _ in range(10):
        stack_cube.send_action(JointCommand(0.0, closed))
    fingers = stack_cube.env.unwrapped.agent.robot.get_qpos().cpu().numpy()[0, 7:]
    np.testing.assert_allclose(fingers, 0.0, atol=2e-3)  # [m], the hand is empty
    assert stack_cube.get_observation().joint_positions[7] == pytest.approx(0.2, abs=0.04)


def test_same_seed_and_actions_reproduce_the_episode(stack_cube: ManiSkillDriver) -> None:
    def rollout() -> np.ndarray:
        q = stack_cube.reset(seed=5).joint_positions
        for k in range(15):
            stack_cube.send_action(JointCommand(0.0, q + 0.02 * np.sin(0.3 * k)))
        return np.concatenate(
            [stack_cube.get_observation().joint_positions, *stack_cube.privileged_state().object_poses.values()]
        )

    np.testing.assert_array_equal(rollout(), rollout())


def test_privileged_state_has_objects_tcp_and_evaluation(stack_cube: ManiSkillDriver) -> None:
    stack_cube.reset(seed=2)
    state = stack_cube.privileged_state()
    assert set(state.object_poses) == {"cubeA", "cubeB"}
    assert state.object_poses["cubeA"][2] == pytest.approx(0.02, abs=1e-3)  # resting on the table [m]
    assert state.tcp_pose.shape == (7,)
    assert set(state.evaluation) >= {"is_cubeA_grasped", "is_cubeA_on_cubeB", "success"}
    assert state.tick == 0 and state.seed == 2 and not state.success


def test_unfinished_episode_names_the_first_stage_not_reached(stack_cube: ManiSkillDriver) -> None:
    stack_cube.reset(seed=1)
    outcome = stack_cube.episode_outcome()
    assert (outcome.success, outcome.stage) == (False, 0)
    assert outcome.reason == TASKS["StackCube-v1"].stages[0].failure


def test_success_is_read_from_maniskill_evaluate(stack_cube: ManiSkillDriver) -> None:
    """Teleport cube A onto cube B, at rest and released: ManiSkill's evaluate() says success, so do we."""
    import torch

    stack_cube.reset(seed=3)
    base = stack_cube.env.unwrapped
    on_top = base.cubeB.pose.raw_pose.clone()
    on_top[:, 2] += 0.04  # two half sizes [m]
    base.cubeA.set_pose(base.cubeA.pose.create_from_pq(on_top[:, :3], on_top[:, 3:]))
    base.cubeA.set_linear_velocity(torch.zeros(1, 3))
    q = stack_cube.get_observation().joint_positions
    stack_cube.send_action(JointCommand(0.0, q))
    outcome = stack_cube.episode_outcome()
    assert outcome.success and outcome.stage == 3, outcome
