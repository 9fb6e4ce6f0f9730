"""What the oracle reads from one privileged simulator snapshot (its own MjData; the loop's is untouched)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np
from gym_aloha.constants import normalize_puppet_gripper_position

from failforward.sim.aloha_scene import AlohaScene, SimState
from failforward.sim.tasks import LEFT_FINGER, RIGHT_FINGER
from failforward.supervisor.oracle.camera import CameraView

ARMS = ("left", "right")
TOOL_OFFSET_M = 0.150  # [m] gripper_link → fingertip centre, as ``failforward.kinematics.aloha_ik.TOOL_OFFSET``
FINGER_QPOS = {"left": 6, "right": 14}  # qpos index of each arm's first finger slide
FINGER_GEOMS = {
    "left": (LEFT_FINGER, LEFT_FINGER.replace("left_gripper", "right_gripper")),
    "right": (RIGHT_FINGER.replace("right_gripper", "left_gripper"), RIGHT_FINGER),
}


@dataclass(frozen=True)
class OracleFacts:
    """One snapshot.

    Attributes:
        time: simulation time [s]; stage: task stage 0–4 now; max_stage: highest stage reached so far.
        grippers: arm → ``[3]`` world position [m] of the fingertip centre (the tool point).
        opening: arm → normalized opening (0 closed, 1 open).
        objects: body name → ``[3]`` world position [m].
        contacts: geom-name pairs in contact.
        camera: the head camera at this instant.
        poses: body name → ``[7]`` world pose, xyz [m] + quaternion (w, x, y, z).
        variant: the episode's scene variant (``plug_strip``: its ``PlugStripLayout``), else ``None``.
    """

    time: float
    stage: int
    max_stage: int
    grippers: dict[str, np.ndarray]
    opening: dict[str, float]
    objects: dict[str, np.ndarray]
    contacts: frozenset[tuple[str, str]]
    camera: CameraView
    poses: dict[str, np.ndarray] = field(default_factory=dict)
    variant: Any = None

    def touching(self, geom: str, others: tuple[str, ...]) -> bool:
        return any((geom, o) in self.contacts or (o, geom) in self.contacts for o in others)

    def arm_touches(self, arm: str, geoms: tuple[str, ...]) -> bool:
        """Either finger of ``arm`` touches one of ``geoms``."""
        return any(self.touching(finger, geoms) for finger in FINGER_GEOMS[arm])


def tool_point(data: mujoco.MjData, arm: str) -> np.ndarray:
    """``[3]`` world point on the fingertip centre line: ``TOOL_OFFSET_M`` ahead of ``gripper_link`` along its x."""
    body = data.body(f"vx300s_{arm}/gripper_link")
    return body.xpos + TOOL_OFFSET_M * body.xmat.reshape(3, 3)[:, 0]


def read_facts(
    scene: AlohaScene, state: SimState, camera: str, height: int, width: int, max_stage: int | None = None
) -> OracleFacts:
    """Forward kinematics of ``state.qpos`` on ``scene`` (the oracle's private copy) and the camera pose.

    ``max_stage``: the highest stage reached at any tick so far (default: the current stage).
    """
    scene.data.qpos[:] = state.qpos
    mujoco.mj_forward(scene.model, scene.data)
    grippers = {arm: tool_point(scene.data, arm) for arm in ARMS}
    opening = {arm: float(normalize_puppet_gripper_position(state.qpos[FINGER_QPOS[arm]])) for arm in ARMS}
    objects = {name: np.asarray(pose[:3], dtype=np.float64).copy() for name, pose in state.object_poses.items()}
    intrinsics = scene.camera_intrinsics(camera, height, width)
    view = CameraView.from_mujoco(scene.model, scene.data, camera, intrinsics, height, width)
    top = state.stage if max_stage is None else max(max_stage, state.stage)
    poses = {name: np.asarray(pose, dtype=np.float64).copy() for name, pose in state.object_poses.items()}
    return OracleFacts(state.time, state.stage, top, grippers, opening, objects, state.contacts, view, poses,
                       state.variant)  # fmt: skip
