"""The AFIL policy through the project's policy registry, checked against the robot's features."""

from __future__ import annotations

from pathlib import Path

import afil_helpers
import numpy as np
import pytest

import failforward.policy.afil.builder  # noqa: F401 - registers kind "afil"
from failforward.config import FrozenModel, GripperLatchConfig
from failforward.errors import ConfigError
from failforward.policy.afil import BackendConfig
from failforward.policy.gripper_latch import GripperLatch
from failforward.policy.registry import PolicyContext, make_policy
from failforward.types import CameraFeature, JointFeature, Observation, RobotFeatures

tiny_vision_dir = afil_helpers.tiny_vision_dir


class AfilPolicyConfig(FrozenModel):
    """What ``failforward.config`` would declare (a subset of BackendConfig's fields is enough)."""

    kind: str = "afil"
    backend: str = "onnxruntime"
    model_dir: Path
    layout: str = "fused"


def features(size: int = 32, cameras=("top", "left_wrist"), joints: int = 4, objects=()) -> RobotFeatures:
    return RobotFeatures(
        joints=tuple(JointFeature(f"j{i}", "rad", -1, 1, 1) for i in range(joints)),
        cameras=tuple(CameraFeature(c, size, size) for c in cameras),
        control_hz=50.0,
        object_names=objects,
    )


def test_builds_from_a_config_with_kind(tiny_vision_dir):
    policy = make_policy(AfilPolicyConfig(model_dir=tiny_vision_dir), PolicyContext(features(), "toy", "pick"))
    images = {c: np.full((32, 32, 3), 128, np.uint8) for c in ("top", "left_wrist")}
    chunk = policy.infer(Observation(0.0, np.zeros(4), np.zeros(4), images=images), prompt="pick")
    assert chunk.actions.shape == (8, 4) and chunk.source == "afil-onnxruntime"


@pytest.mark.parametrize(
    "robot,match",
    [
        (features(joints=14), "14 joints"),
        (features(cameras=("top",)), "needs camera 'left_wrist'"),
        (features(size=64), "renders 64x64"),
        (features(objects=("box",)), r"7 object-state numbers \(\['box'\]\)"),
    ],
)
def test_mismatched_robot_is_refused(tiny_vision_dir, robot, match):
    with pytest.raises(ConfigError, match=match):
        make_policy(BackendConfig(model_dir=tiny_vision_dir), PolicyContext(robot, "toy", "pick"))


def test_a_gripper_latch_wraps_the_backend_and_needs_a_gripper(tiny_vision_dir):
    config = BackendConfig(model_dir=tiny_vision_dir, gripper_latch=GripperLatchConfig(release_chunks=2))
    robot = features()
    joints = robot.joints[:3] + (JointFeature("gripper", "normalized", 0, 1, 1),)
    with_gripper = RobotFeatures(joints=joints, cameras=robot.cameras, control_hz=50.0)
    policy = make_policy(config, PolicyContext(with_gripper, "toy", "pick"))
    assert isinstance(policy, GripperLatch) and policy.columns == (3,)
    images = {c: np.full((32, 32, 3), 128, np.uint8) for c in ("top", "left_wrist")}
    chunk = policy.infer(Observation(0.0, np.zeros(4), np.zeros(4), images=images), prompt="pick")
    assert chunk.actions.shape == (8, 4)
    with pytest.raises(ConfigError, match="no gripper joint"):
        make_policy(config, PolicyContext(robot, "toy", "pick"))
