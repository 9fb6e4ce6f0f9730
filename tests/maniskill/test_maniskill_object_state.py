"""``ManiSkillConfig.object_state``: task-object poses in each observation, in the task's documented order."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mani_skill")

from failforward.config import ManiSkillConfig
from failforward.robots.maniskill import TASKS, ManiSkillDriver
from failforward.types import JointCommand

OBJECTS = {"StackCube-v1": ("cubeA", "cubeB"), "LiftPegUpright-v1": ("peg",), "PullCube-v1": ("cube", "goal_region")}


@pytest.mark.parametrize(("task", "names"), OBJECTS.items())
def test_object_state_holds_the_task_objects_poses_in_order(task: str, names: tuple[str, ...]) -> None:
    assert TASKS[task].objects == names  # the order docs/maniskill.md states
    with ManiSkillDriver(ManiSkillConfig(task=task, object_state=True, max_episode_steps=50)) as robot:
        assert robot.features.object_names == names
        assert robot.features.state_dim == 8 + 7 * len(names)
        obs = robot.reset(seed=4)
        poses = robot.privileged_state().object_poses
    assert obs.object_state.shape == (7 * len(names),) and obs.state.shape == (robot.features.state_dim,)
    np.testing.assert_array_equal(obs.object_state, np.concatenate([poses[n] for n in names]))
    quaternions = obs.object_state.reshape(-1, 7)[:, 3:]
    np.testing.assert_allclose(np.linalg.norm(quaternions, axis=1), 1.0, atol=1e-5)  # unit (w, x, y, z)


def test_object_state_is_off_by_default_and_follows_the_cube() -> None:
    with ManiSkillDriver(ManiSkillConfig(task="PullCube-v1", max_episode_steps=50)) as plain:
        assert plain.features.object_names == () and plain.reset(seed=1).object_state.shape == (0,)
    with ManiSkillDriver(ManiSkillConfig(task="PullCube-v1", object_state=True, max_episode_steps=50)) as robot:
        obs = robot.reset(seed=1)
        base = robot.env.unwrapped
        moved = base.obj.pose.raw_pose.clone()
        moved[:, 0] -= 0.05  # [m] towards the target
        base.obj.set_pose(base.obj.pose.create_from_pq(moved[:, :3], moved[:, 3:]))
        after = robot.send_action(JointCommand(obs.timestamp, obs.joint_positions))
        assert after.positions.shape == (8,)
        cube = robot.get_observation().object_state[:3]
    assert cube[0] == pytest.approx(obs.object_state[0] - 0.05, abs=2e-3)  # [m], world frame x
    assert cube[1] == pytest.approx(obs.object_state[1], abs=2e-3)


def test_stage_drops_when_progress_is_lost_but_the_outcome_keeps_it() -> None:
    """StackCube: cube A placed on cube B is stage 2 now; moved back to the table it is stage 0 now, while
    the episode outcome still names the furthest stage reached (failure correction cuts on ``stage``)."""
    import torch

    with ManiSkillDriver(ManiSkillConfig(task="StackCube-v1", max_episode_steps=50)) as robot:
        obs = robot.reset(seed=3)
        base = robot.env.unwrapped
        start = base.cubeA.pose.raw_pose.clone()
        on_top = base.cubeB.pose.raw_pose.clone()
        on_top[:, 2] += 0.04  # two half sizes [m]
        for pose in (on_top, start):
            base.cubeA.set_pose(base.cubeA.pose.create_from_pq(pose[:, :3], pose[:, 3:]))
            base.cubeA.set_linear_velocity(torch.zeros(1, 3))
            robot.send_action(JointCommand(obs.timestamp, obs.joint_positions))
            if pose is on_top:
                assert robot.stage >= 2
        assert robot.stage == 0
        assert robot.episode_outcome().stage >= 2
