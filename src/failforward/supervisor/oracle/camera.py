"""Pinhole projection of world points into a MuJoCo camera's image, and the head-camera robot axes.

MuJoCo's camera frame has x to the right, y up and looks along -z; ``cam_xmat`` holds those axes as
columns in the world frame. A world point ``p`` [m] maps to camera coordinates ``c = Rᵀ (p - t)`` and to
the continuous pixel ``(u, v) = (cx + 0.5 + f c_x / -c_z, cy + 0.5 - f c_y / -c_z)`` with ``f, cx, cy``
from :meth:`AlohaScene.camera_intrinsics` (which centres pixel *indices*; the ``+ 0.5`` moves to the
continuous convention where the image spans ``[0, W] x [0, H]``).

Robot axes as ViFailback defines them from the head camera: +x forward = the direction towards the top
of the image, projected on the horizontal plane; +z up (world z); +y left = z × x.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from failforward.errors import ShapeError


@dataclass(frozen=True)
class CameraView:
    """One camera's pose and intrinsics at one instant, for an ``height x width`` image.

    Attributes:
        position: ``[3]`` camera centre in the world frame [m].
        rotation: ``[3, 3]`` camera axes (x right, y up, z backwards) as columns, world frame.
        intrinsics: ``[3, 3]`` K matrix in pixels (principal point at pixel-index centre).
    """

    position: np.ndarray
    rotation: np.ndarray
    intrinsics: np.ndarray
    height: int
    width: int

    @classmethod
    def from_mujoco(
        cls, model: mujoco.MjModel, data: mujoco.MjData, camera: str, intrinsics: np.ndarray, height: int, width: int
    ) -> CameraView:
        """Read the pose of ``camera`` from ``data`` (after ``mj_forward``)."""
        cam_id = model.camera(camera).id
        return cls(data.cam_xpos[cam_id].copy(), data.cam_xmat[cam_id].reshape(3, 3).copy(), intrinsics, height, width)

    def project(self, points: np.ndarray) -> np.ndarray:
        """World points ``[N, 3]`` [m] → pixels ``[N, 2]`` as ``(u, v)``; points behind the camera give NaN."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if points.shape[1] != 3:
            raise ShapeError(f"project expects world points [N, 3], got {points.shape}.")
        cam = (points - self.position) @ self.rotation
        depth = -cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.intrinsics[0, 2] + 0.5 + self.intrinsics[0, 0] * cam[:, 0] / depth
            v = self.intrinsics[1, 2] + 0.5 - self.intrinsics[1, 1] * cam[:, 1] / depth
        uv = np.stack([u, v], axis=1)
        uv[depth <= 0] = np.nan
        return uv

    def pixels_per_metre(self, point: np.ndarray) -> float:
        """Image scale [px/m] at the depth of world ``point [3]``."""
        depth = -float(((np.asarray(point) - self.position) @ self.rotation)[2])
        return float(self.intrinsics[0, 0] / max(depth, 1e-6))

    def robot_axes(self) -> np.ndarray:
        """``[3, 3]`` rows: forward (+x), left (+y), up (+z) of the head-camera robot frame, in world coordinates."""
        up = np.array([0.0, 0.0, 1.0])
        image_up = self.rotation[:, 1]
        forward = image_up - up * (image_up @ up)
        if np.linalg.norm(forward) < 1e-6:  # camera looks horizontally along its own y: use its -z instead
            forward = -self.rotation[:, 2] - up * (-self.rotation[:, 2] @ up)
        forward /= np.linalg.norm(forward)
        return np.stack([forward, np.cross(up, forward), up])
