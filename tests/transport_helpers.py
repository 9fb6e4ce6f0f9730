"""Shared pieces of the ``test_transport_*`` modules: a robot shaped like the shipped model's, observations,
and policy servers in child processes (imported explicitly, not a conftest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from failforward.transport.client import PolicyClient
from failforward.transport.remote_policy import RemotePolicy
from failforward.types import CameraFeature, JointFeature, Observation, RobotFeatures

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = ROOT / "models" / "afil_aloha_transfer_cube"


def features(
    joints: int = 14, objects: int = 1, cameras: tuple[tuple[str, int, int], ...] = (), control_hz: float = 50.0
) -> RobotFeatures:
    """A robot with ``joints`` joints, ``objects`` task objects and ``cameras`` (name, height, width)."""
    return RobotFeatures(
        joints=tuple(JointFeature(f"joint{i}", "rad", -3.0, 3.0, 2.0) for i in range(joints)),
        cameras=tuple(CameraFeature(name, height, width) for name, height, width in cameras),
        control_hz=control_hz,
        object_names=tuple(f"object{i}" for i in range(objects)),
    )


def observation(
    rng: np.random.Generator, joints: int = 14, objects: int = 1, cameras: tuple[tuple[str, int, int], ...] = ()
) -> Observation:
    """Random joints [rad] near the shipped model's training range, random object poses, random images."""
    images = {name: rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for name, height, width in cameras}
    return Observation(
        timestamp=float(rng.uniform(0, 10)),
        joint_positions=rng.normal(0.0, 0.3, joints),
        joint_velocities=rng.normal(0.0, 0.1, joints),
        object_state=rng.normal(0.0, 0.2, 7 * objects),
        images=images,
    )


def remote(endpoint: str, robot: RobotFeatures, timeout_s: float = 2.0) -> RemotePolicy:
    return RemotePolicy(PolicyClient(endpoint), robot, timeout_s=timeout_s, connect_timeout_s=30.0)
