"""Chunk preview: the tool-point path each arm will follow over a chunk, for RViz (no ROS here).

For the ALOHA (simulated or real: the same ViperX 300 S geometry) the forward kinematics come from
the expert's IK model (mink on the gym-aloha scene). Other robots get no preview.
"""

from __future__ import annotations

import numpy as np

from failforward.sim.aloha_scene import JOINT_NAMES
from failforward.types import ActionChunk, RobotFeatures

ARM_COLUMNS = np.r_[0:6, 7:13]


class ChunkPreview:
    """``paths(chunk)`` → arm name → tool positions ``[H, 3]`` [m] in the world (table) frame."""

    def __init__(self, features: RobotFeatures) -> None:
        self._ik = None
        if features.joint_names == JOINT_NAMES:
            from failforward.kinematics.aloha_ik import AlohaIK
            from failforward.sim.tasks import get_task

            self._ik = AlohaIK(get_task("transfer_cube").xml_path)

    @property
    def available(self) -> bool:
        return self._ik is not None

    def paths(self, chunk: ActionChunk) -> dict[str, np.ndarray]:
        if self._ik is None:
            return {}
        rows = [self._ik.tool_poses(row[ARM_COLUMNS]) for row in chunk.actions]
        return {side: np.array([r[side].translation() for r in rows]) for side in ("left", "right")}
