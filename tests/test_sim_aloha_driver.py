"""The simulated ALOHA passes the driver contract and matches gym-aloha's task definitions."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.config import SimAlohaConfig
from failforward.robots.registry import make_driver
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.testing.driver_contract import RobotDriverContract
from failforward.types import JointCommand


class TestSimAlohaTransferCube(RobotDriverContract):
    def make_driver(self) -> SimAlohaDriver:
        return SimAlohaDriver(
            SimAlohaConfig(
                task="transfer_cube",
                cameras=("top", "left_wrist"),
                depth_cameras=("top",),
                image_height=48,
                image_width=64,
            )
        )


class TestSimAlohaInsertion(RobotDriverContract):
    def make_driver(self) -> SimAlohaDriver:
        return SimAlohaDriver(SimAlohaConfig(task="insertion", cameras=(), image_height=48, image_width=64))


def test_registry_builds_the_sim_driver() -> None:
    assert isinstance(make_driver(SimAlohaConfig()), SimAlohaDriver)


def test_only_requested_cameras_are_rendered() -> None:
    with SimAlohaDriver(SimAlohaConfig(cameras=("right_wrist",), image_height=32, image_width=40)) as robot:
        obs = robot.reset(seed=0)
    assert set(obs.images) == {"right_wrist"} and not obs.depth


def test_head_depth_is_metric() -> None:
    """Depth at the cube's pixel equals the camera-to-cube distance along the optical axis (±2 cm)."""
    cfg = SimAlohaConfig(cameras=("top",), depth_cameras=("top",), image_height=240, image_width=320)
    with SimAlohaDriver(cfg) as robot:
        obs = robot.reset(seed=0)
        scene = robot.scene
        cam = scene.data.camera("top")
        box = robot.privileged_state().object_poses["box"][:3]
        in_cam = cam.xmat.reshape(3, 3).T @ (box - cam.xpos)  # MuJoCo camera looks along -z
        k = scene.camera_intrinsics("top", 240, 320)
        u = k[0, 0] * in_cam[0] / -in_cam[2] + k[0, 2]
        v = -k[1, 1] * in_cam[1] / -in_cam[2] + k[1, 2]
        depth_at_box = obs.depth["top"][int(round(v)), int(round(u))]
    # the depth surface is the cube's top face, 2 cm (half size) above its centre
    assert depth_at_box == pytest.approx(-in_cam[2], abs=0.03)


def test_privileged_state_is_not_in_the_observation() -> None:
    with SimAlohaDriver(SimAlohaConfig(cameras=())) as robot:
        obs = robot.reset(seed=1)
        state = robot.privileged_state()
    assert obs.joint_positions.shape == (14,)
    assert set(state.object_poses) == {"box"} and state.stage == 0 and not state.success


@pytest.mark.parametrize("task", ["transfer_cube", "insertion"])
def test_initial_object_poses_match_gym_aloha(task: str) -> None:
    from gym_aloha.utils import sample_box_pose, sample_insertion_pose

    with SimAlohaDriver(SimAlohaConfig(task=task, cameras=())) as robot:
        robot.reset(seed=7)
        poses = robot.privileged_state().object_poses
    expected = sample_box_pose(7) if task == "transfer_cube" else np.concatenate(sample_insertion_pose(7))
    np.testing.assert_allclose(np.concatenate(list(poses.values())), expected, atol=1e-6)


@pytest.mark.parametrize("task", ["transfer_cube", "insertion"])
def test_stages_agree_with_gym_aloha_reward(task: str) -> None:
    """Through a whole expert episode, our stage equals gym-aloha's own ``get_reward`` on the same physics."""
    from dm_control import mujoco as dm_mujoco
    from gym_aloha.tasks.sim import InsertionTask, TransferCubeTask

    from failforward.policy.expert.expert import ScriptedExpert

    reference = TransferCubeTask() if task == "transfer_cube" else InsertionTask()
    with SimAlohaDriver(SimAlohaConfig(task=task, cameras=())) as robot:
        obs = robot.reset(seed=4)
        physics = dm_mujoco.Physics.from_xml_path(robot.task.xml_path)
        expert = ScriptedExpert(robot.task, robot.privileged_state)
        stages = []
        while len(stages) < 400 and (not stages or stages[-1] < 4):
            for action in expert.infer(obs).actions[:25]:
                robot.send_action(JointCommand(0.0, action))
                physics.data.qpos[:] = robot.scene.data.qpos
                physics.forward()
                stages.append(robot.privileged_state().stage)
                assert stages[-1] == reference.get_reward(physics)
            obs = robot.get_observation()
    assert stages[-1] == 4 and len(set(stages)) >= 3  # the episode went through several stages to success


@pytest.mark.parametrize("task,objects", [("transfer_cube", ("box",)), ("insertion", ("peg", "socket"))])
def test_object_state_is_the_objects_ground_truth_poses(task: str, objects: tuple[str, ...]) -> None:
    with SimAlohaDriver(SimAlohaConfig(task=task, cameras=(), object_state=True)) as robot:
        obs = robot.reset(seed=3)
        poses = robot.privileged_state().object_poses
    assert robot.features.object_names == objects and robot.features.state_dim == 14 + 7 * len(objects)
    np.testing.assert_array_equal(obs.object_state, np.concatenate([poses[name] for name in objects]))
    assert obs.state.shape == (robot.features.state_dim,)


def test_object_state_is_off_by_default() -> None:
    with SimAlohaDriver(SimAlohaConfig(cameras=())) as robot:
        obs = robot.reset(seed=3)
    assert obs.object_state.shape == (0,) and robot.features.state_dim == 14
