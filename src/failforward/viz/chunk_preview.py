"""Chunk preview: the tool-point path each arm will follow over a chunk (for RViz and Foxglove).

For the ALOHA (simulated or real: the same ViperX 300 S geometry) the forward kinematics come from
the expert's IK model (mink on the gym-aloha scene). Other robots get no preview. The simulator packages
(the ``sim`` extra) are imported only when a preview is built.
"""

from __future__ import annotations

import numpy as np

from failforward.types import ActionChunk, RobotFeatures

ARM_COLUMNS = np.r_[0:6, 7:13]
"""Columns of the 14 ALOHA joints that are arm joints (both arms' six, without the grippers)."""

PREVIEW_FRAME = "world"
"""Frame of the paths: the simulator's world (table) frame, the robot's world frame on the real ALOHA."""


class ChunkPreview:
    """``paths(chunk)`` → arm name → tool positions ``[H, 3]`` [m] in :data:`PREVIEW_FRAME`."""

    def __init__(self, features: RobotFeatures) -> None:
        self._ik = None
        if not _looks_like_aloha(features.joint_names):
            return  # without importing the simulator (the sim extra)
        from failforward.sim.aloha_scene import JOINT_NAMES

        if features.joint_names == JOINT_NAMES:
            from failforward.kinematics.aloha_ik import AlohaIK
            from failforward.sim.tasks import get_task

            self._ik = AlohaIK(get_task("transfer_cube").xml_path)

    @property
    def available(self) -> bool:
        return self._ik is not None

    def paths(self, chunk: ActionChunk) -> dict[str, np.ndarray]:
        """Tool positions ``[H, 3]`` [m] per arm (``"left"``, ``"right"``), one row per chunk action; ``{}``
        when the robot has no preview."""
        if self._ik is None:
            return {}
        rows = [self._ik.tool_poses(row[ARM_COLUMNS]) for row in chunk.actions]
        return {side: np.array([r[side].translation() for r in rows]) for side in ("left", "right")}


def _looks_like_aloha(names: tuple[str, ...]) -> bool:
    """14 joints, the left arm's first: the ALOHA pair's naming (checked exactly against the scene afterwards)."""
    return len(names) == 14 and names[0].startswith("left_arm_") and names[7].startswith("right_arm_")
