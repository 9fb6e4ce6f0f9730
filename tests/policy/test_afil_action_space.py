"""Tool-space actions (``action_space: aloha_tool``): forward kinematics in training, IK at run time, and a model
trained on tool rows that drives the robot's 14 joints."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.kinematics.aloha_ik import START_ARMS
from failforward.learn.config import TrainConfig
from failforward.learn.dataset import ChunkDataset
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil import BackendConfig, get_model_preset, make_backend
from failforward.policy.afil.action_space import (
    JOINT_MARGIN,
    TOOL_ACTION_DIM,
    TOOL_POSITION_COLUMNS,
    AlohaToolIK,
    aloha_tool_actions,
    rotation_from_6d,
)
from failforward.policy.afil.builder import check_compatible
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.state_features import ALOHA_ARM_COLUMNS, aloha_tool_points
from failforward.types import JointFeature, Observation, RobotFeatures

TOOL_MODEL = get_model_preset("tiny_state").model_copy(
    update={"action_dim": TOOL_ACTION_DIM, "state_dim": 14, "action_space": "aloha_tool"}
)


def trajectory(rng: np.random.Generator, rows: int, step: float = 0.01) -> np.ndarray:
    """``[rows, 14]`` smooth joint targets from near the start pose (arm joints drift ≤ ``step`` rad per row)."""
    joints = np.zeros((rows, 14))
    direction = rng.uniform(-1.0, 1.0, 12)
    start = START_ARMS + rng.normal(0.0, 0.1, 12)
    joints[:, list(ALOHA_ARM_COLUMNS)] = start + np.arange(rows)[:, None] * step * direction
    joints[:, [6, 13]] = np.linspace(1.0, 0.2, rows)[:, None]
    return joints


def test_tool_rows_are_the_tool_poses_and_the_grippers() -> None:
    joints = trajectory(np.random.default_rng(0), 5)
    rows = aloha_tool_actions(joints)
    assert rows.shape == (5, TOOL_ACTION_DIM)
    tools = aloha_tool_points(joints[:, list(ALOHA_ARM_COLUMNS)])
    np.testing.assert_allclose(rows[:, 0:3], tools[:, :3], atol=1e-9)
    np.testing.assert_allclose(rows[:, 10:13], tools[:, 3:], atol=1e-9)
    np.testing.assert_array_equal(rows[:, [9, 19]], joints[:, [6, 13]])
    for six in rows[:, 3:9]:
        rotation = rotation_from_6d(six)
        np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-9)  # the two columns are orthonormal
        np.testing.assert_allclose(rotation[:, :2].T.ravel(), six, atol=1e-9)
    assert aloha_tool_actions(np.stack([joints, joints])).shape == (2, 5, TOOL_ACTION_DIM)  # leading axes kept


def test_ik_follows_the_tool_rows_from_the_measured_joints() -> None:
    joints = trajectory(np.random.default_rng(1), 25)
    out = AlohaToolIK().to_joints(aloha_tool_actions(joints), joints[0])
    assert out.shape == (25, 14)
    reached = aloha_tool_points(out[:, list(ALOHA_ARM_COLUMNS)])
    wanted = aloha_tool_points(joints[:, list(ALOHA_ARM_COLUMNS)])
    assert np.abs(reached - wanted).max() < 0.002  # [m] every row within 2 mm of its tool target
    np.testing.assert_array_equal(out[:, [6, 13]], joints[:, [6, 13]])


def test_ik_starts_from_a_measured_joint_beyond_its_range() -> None:
    joints = trajectory(np.random.default_rng(3), 5, step=0.0)
    ik = AlohaToolIK()
    measured = joints[0].copy()
    measured[3] = ik.upper[3] + 0.3  # the left forearm roll past the IK model's range
    out = ik.to_joints(aloha_tool_actions(joints), measured)
    assert np.all(np.isfinite(out))
    assert np.all(out[:, list(ALOHA_ARM_COLUMNS)] <= ik.upper + JOINT_MARGIN + 1e-9)  # within the model's range


def test_tool_space_needs_twenty_numbers_and_relative_columns_of_its_rows() -> None:
    assert TOOL_MODEL.robot_action_dim == 14
    with pytest.raises(ValueError, match="aloha_tool"):
        AfilModelConfig.model_validate({**TOOL_MODEL.model_dump(), "action_dim": 14})
    with pytest.raises(ValueError, match="tool-row column"):
        AfilModelConfig.model_validate({**TOOL_MODEL.model_dump(), "relative_actions": (0, 20)})
    relative = AfilModelConfig.model_validate({**TOOL_MODEL.model_dump(), "relative_actions": TOOL_POSITION_COLUMNS})
    assert relative.relative_actions == TOOL_POSITION_COLUMNS  # beyond the 14-joint state: tool columns


def test_relative_tool_positions_are_displacements_from_the_measured_tool(tmp_path) -> None:
    model = TOOL_MODEL.model_copy(update={"relative_actions": TOOL_POSITION_COLUMNS})
    rng = np.random.default_rng(3)
    episodes = [EpisodeArrays(j, j, "reach", k < 2) for k, j in enumerate(trajectory(rng, 20) for _ in range(3))]
    norm = ChunkDataset.fit_norm(episodes, model)
    batch = ChunkDataset(episodes, model, norm).collate(np.array([[1, 3]]))
    rows = aloha_tool_actions(episodes[1].actions[3 : 3 + model.horizon])
    here = aloha_tool_actions(episodes[1].joint_positions[3])  # the measured tool row at the chunk's first tick
    expected = rows.copy()
    expected[:, list(TOOL_POSITION_COLUMNS)] -= here[list(TOOL_POSITION_COLUMNS)]
    np.testing.assert_allclose(batch.actions[0], norm.normalize_actions(expected), atol=1e-5)
    assert np.abs(norm.action_mean[list(TOOL_POSITION_COLUMNS)]).max() < 0.1  # displacements [m], not positions

    config = TrainConfig(model=model, out_dir=tmp_path / "run", steps=2, batch_size=4, rtc_max_delay=0)
    export_checkpoint(train(config, episodes, progress=False).checkpoint, tmp_path / "model")
    policy = make_backend(BackendConfig(backend="onnxruntime", model_dir=tmp_path / "model", seed=0))
    obs = Observation(0.0, episodes[1].joint_positions[3], np.zeros(14))
    np.testing.assert_allclose(policy.encoder.reference(obs)[list(TOOL_POSITION_COLUMNS)],
                               here[list(TOOL_POSITION_COLUMNS)])  # fmt: skip
    chunk = policy.infer(obs, prompt="reach")
    assert chunk.actions.shape == (model.horizon, 14) and np.all(np.isfinite(chunk.actions))


def test_a_tool_space_model_trains_on_joint_recordings_and_commands_joints(tmp_path) -> None:
    rng = np.random.default_rng(2)
    episodes = [EpisodeArrays(j, j, "reach", k < 3) for k, j in enumerate(trajectory(rng, 20) for k in range(4))]
    norm = ChunkDataset.fit_norm(episodes, TOOL_MODEL)
    assert norm.action_mean.shape == (TOOL_ACTION_DIM,)
    batch = ChunkDataset(episodes, TOOL_MODEL, norm).collate(np.array([[1, 3]]))
    expected = aloha_tool_actions(episodes[1].actions[3 : 3 + TOOL_MODEL.horizon])
    np.testing.assert_allclose(batch.actions[0], norm.normalize_actions(expected), atol=1e-5)

    config = TrainConfig(model=TOOL_MODEL, out_dir=tmp_path / "run", steps=2, batch_size=4, rtc_max_delay=0)
    export_checkpoint(train(config, episodes, progress=False).checkpoint, tmp_path / "model")
    policy = make_backend(BackendConfig(backend="onnxruntime", model_dir=tmp_path / "model", seed=0))
    joints = tuple(JointFeature(f"j{i}", "rad", -3.0, 3.0, 3.0) for i in range(14))
    check_compatible(policy.manifest.model, RobotFeatures(joints, (), 50.0))  # the robot's 14 joints fit
    obs = Observation(0.0, episodes[1].joint_positions[3], np.zeros(14))
    chunk = policy.infer(obs, prompt="reach")
    assert chunk.actions.shape == (TOOL_MODEL.horizon, 14) and np.all(np.isfinite(chunk.actions))
    rows = policy.encoder.model_actions(chunk.actions[:5])  # an RTC prefix of joints, in the model's rows
    np.testing.assert_allclose(rows, aloha_tool_actions(chunk.actions[:5]))
