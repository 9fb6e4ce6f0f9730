"""ManiSkill's motion-planning expert, planned on a clone, succeeds through failforward's control loop."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mani_skill")

from failforward.config import PolicyConfig, get_preset
from failforward.control.runtime import run
from failforward.errors import PolicyError
from failforward.policy.maniskill_expert import ManiSkillExpert
from failforward.policy.registry import PolicyContext, make_policy
from failforward.robots.registry import make_driver
from failforward.types import JointCommand


@pytest.mark.parametrize("preset", ["maniskill_pull_cube", "maniskill_stack_cube"])
def test_expert_succeeds_through_the_runtime(preset: str, tmp_path) -> None:
    config = get_preset(preset).with_overrides({"episodes": 2, "seed": 10, "record.enabled": False})
    result = run(config, run_name="test")
    for episode in result.episodes:
        assert episode.error is None
        assert episode.outcome.success, episode.outcome
        assert episode.steps < config.loop.max_steps


def test_chunks_are_joint_targets_inside_the_features() -> None:
    with make_driver(get_preset("maniskill_pull_cube").robot) as robot:
        expert = ManiSkillExpert(robot.privileged_state, horizon=50)
        chunk = expert.infer(robot.reset(seed=4))
        features = robot.features
    assert chunk.actions.shape == (50, 8) and chunk.source == "maniskill_expert"
    assert np.all(chunk.actions >= features.lower - 1e-6) and np.all(chunk.actions <= features.upper + 1e-6)
    assert set(np.unique(chunk.actions[:, 7])) <= {0.0, 1.0}  # the planner opens or closes, nothing between
    assert expert.plan is not None and expert.plan.clone_success


def test_expert_follows_its_plan_and_replans_after_a_disturbance() -> None:
    with make_driver(get_preset("maniskill_stack_cube").robot) as robot:
        expert = ManiSkillExpert(robot.privileged_state)
        obs = robot.reset(seed=6)
        for action in expert.infer(obs).actions[:25]:
            robot.send_action(JointCommand(0.0, action))
        expert.infer(robot.get_observation())
        assert expert.plans_made == 1  # the driver followed the clone's episode exactly enough
        shoved = robot.get_observation().joint_positions.copy()
        shoved[0] += 0.3  # [rad] push the base joint away from the plan
        for _ in range(5):
            robot.send_action(JointCommand(0.0, shoved))
        expert.infer(robot.get_observation())
        assert expert.plans_made == 2


def test_builder_refuses_a_robot_without_maniskill_state() -> None:
    robot_features = make_driver(get_preset("maniskill_pull_cube").robot).features
    context = PolicyContext(features=robot_features, task="transfer_cube", prompt="", privileged_state=None)
    with pytest.raises(PolicyError, match=r"robot\.kind='maniskill'"):
        make_policy(PolicyConfig(kind="maniskill_expert"), context)


def test_expert_replans_when_an_object_is_displaced_and_still_succeeds() -> None:
    """Cube B is moved 8 cm mid-approach (the plan's goal is gone): the expert notices and stacks on it anyway."""
    import torch

    with make_driver(get_preset("maniskill_stack_cube").robot) as robot:
        expert = ManiSkillExpert(robot.privileged_state)
        obs = robot.reset(seed=8)
        for _ in range(8):  # chunks of 25 ticks, 200 ticks at most
            for action in expert.infer(obs).actions[:25]:
                robot.send_action(JointCommand(0.0, action))
            if robot.privileged_state().tick == 25:
                cube_b = robot.env.unwrapped.cubeB
                moved = cube_b.pose.raw_pose.clone()
                moved[:, 1] += 0.08 if float(moved[0, 1]) < 0 else -0.08  # [m] along y, towards the middle
                cube_b.set_pose(cube_b.pose.create_from_pq(moved[:, :3], moved[:, 3:]))
                cube_b.set_linear_velocity(torch.zeros(1, 3))
            obs = robot.get_observation()
            if robot.episode_outcome().success:
                break
        assert robot.episode_outcome().success, robot.episode_outcome()
    assert expert.plans_made == 2
