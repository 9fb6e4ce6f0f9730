"""The perception camera's geometry, and masked depth pixels back-projected into the world.

Conventions (those of :mod:`failforward.recovery.camera`, whose camera models satisfy :class:`CameraGeometry`):
``K`` uses the pixel-index convention (pixel ``(row i, column j)`` has its centre at ``x = j``, ``y = i``; principal
point in index units, as OpenCV); the camera frame is the optical frame (x right, y down, z forward);
``world_from_camera`` ``[4, 4]`` is its pose in the world frame (z up, metres); depth [m] is along the optical axis.

Example:
    >>> points = backproject_mask(mask, frame.depth, camera.intrinsics(240, 320), camera.world_from_camera())
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from failforward.errors import ShapeError


@runtime_checkable
class CameraGeometry(Protocol):
    """A calibrated camera: ``MujocoCamera`` (a simulated scene's) or ``CalibratedCamera`` (a calibration record's)."""

    def intrinsics(self, height: int, width: int) -> np.ndarray:
        """``K [3, 3]`` [px] for an ``height x width`` image (index convention)."""
        ...

    def world_from_camera(self) -> np.ndarray:
        """``[4, 4]`` pose of the optical frame in the world frame [m]."""
        ...


def backproject_mask(
    mask: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, world_from_camera: np.ndarray
) -> np.ndarray:
    """World points ``[N, 3]`` [m] of the pixels of ``mask`` (bool ``[H, W]``) that have a finite, positive depth.

    Args:
        mask: which pixels to back-project.
        depth: float ``[H, W]`` [m] along the optical axis, registered to ``mask``.
        intrinsics: ``K [3, 3]`` at ``[H, W]``.
        world_from_camera: ``[4, 4]`` optical-frame pose.
    """
    if mask.shape != depth.shape:
        raise ShapeError(f"backproject_mask needs mask and depth of one size, got {mask.shape} and {depth.shape}.")
    rows, cols = np.nonzero(mask & np.isfinite(depth) & (depth > 0))
    z = depth[rows, cols].astype(np.float64)
    x = (cols - intrinsics[0, 2]) / intrinsics[0, 0] * z
    y = (rows - intrinsics[1, 2]) / intrinsics[1, 1] * z
    points = np.stack([x, y, z], axis=1)
    return points @ world_from_camera[:3, :3].T + world_from_camera[:3, 3]


def project_point(point: np.ndarray, intrinsics: np.ndarray, world_from_camera: np.ndarray) -> np.ndarray | None:
    """Pixel ``(column x, row y)`` [px] where world point ``point`` ``[3]`` [m] appears, or ``None`` behind the
    camera."""
    camera = world_from_camera[:3, :3].T @ (np.asarray(point, dtype=np.float64)[:3] - world_from_camera[:3, 3])
    if camera[2] <= 1e-6:
        return None
    return np.array(
        [
            intrinsics[0, 0] * camera[0] / camera[2] + intrinsics[0, 2],
            intrinsics[1, 1] * camera[1] / camera[2] + intrinsics[1, 2],
        ]
    )


def height_map(depth: np.ndarray, intrinsics: np.ndarray, world_from_camera: np.ndarray) -> np.ndarray:
    """float ``[H, W]`` [m]: the world height (z) of each pixel of ``depth`` ``[H, W]`` [m] (``inf`` where the depth
    is not finite and positive)."""
    rows, cols = np.indices(depth.shape, dtype=np.float64)
    z = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan).astype(np.float64)
    rays = np.stack([(cols - intrinsics[0, 2]) / intrinsics[0, 0], (rows - intrinsics[1, 2]) / intrinsics[1, 1]], -1)
    r = world_from_camera[2, :3]  # the world z row of the rotation
    heights = z * (rays[..., 0] * r[0] + rays[..., 1] * r[1] + r[2]) + world_from_camera[2, 3]
    return np.where(np.isnan(heights), np.inf, heights)
