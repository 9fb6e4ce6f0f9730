"""Grasp estimation for PMC, behind one interface a learned model (GraspNet-class) can implement.

Contract of :meth:`GraspEstimator.estimate` (every implementation, geometric or learned):

Inputs
    depth: ``float32 [H, W]`` metric depth along the optical axis [m]; non-finite or ``<= 0`` = no reading.
    K: ``[3, 3]`` pinhole intrinsics of that image (index convention, see :mod:`.camera`).
    camera_pose: ``[4, 4]`` world_from_camera, OpenCV optical axes (x right, y down, z forward), world frame
        = table frame, z up, metres.
    point_px: ``(u, v)`` continuous pixel (column, row; top-left origin) on the object to grasp.
Output
    :class:`Grasp` in the world frame: ``position`` is where the tool point (fingertip centre) should be when
    the gripper closes, ``approach`` the unit direction the fingers travel in, ``finger_axis`` the unit
    closing direction (perpendicular to ``approach``), ``width`` the object's extent between the fingers [m].
    Either finger order is valid (the caller picks the flip nearest its current tool).
Failure
    raise :class:`~failforward.recovery.errors.GraspNotFoundError` with the reason; never return a guess.
Cost
    called once per planned grasp, outside the control tick's budget (PMC planning); a GPU model may take
    ~100 ms.

:class:`TopDownGraspEstimator` is the geometric implementation: it segments the object around the point
(pixels above the support plane, connected without a depth discontinuity), then grasps it from above,
fingers closing across the short side of the footprint's minimum-area rectangle (its principal axes).
"""

from __future__ import annotations

import abc
import logging
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from failforward.config.recovery import GraspConfig
from failforward.errors import ShapeError
from failforward.recovery.camera import backproject
from failforward.recovery.errors import GraspNotFoundError

logger = logging.getLogger(__name__)

DOWN = np.array([0.0, 0.0, -1.0])


@dataclass(frozen=True)
class Grasp:
    """A grasp in the world frame (see the module docstring for the meaning of each field).

    Attributes:
        position: ``[3]`` tool point at closing [m].
        approach: ``[3]`` unit approach direction.
        finger_axis: ``[3]`` unit closing direction.
        width: [m] object extent between the fingers.
        score: quality in [0, 1] (1 for the geometric estimator).
    """

    position: np.ndarray
    approach: np.ndarray
    finger_axis: np.ndarray
    width: float
    score: float = 1.0


class GraspEstimator(abc.ABC):
    """Estimates a grasp on the object under a pixel of a depth image (contract in the module docstring)."""

    @abc.abstractmethod
    def estimate(
        self,
        depth: np.ndarray,
        K: np.ndarray,  # noqa: N803 - the pinhole K
        camera_pose: np.ndarray,
        point_px: tuple[float, float],
    ) -> Grasp:
        """The grasp of the object at ``point_px``; raises ``GraspNotFoundError`` when there is none."""


def check_grasp_inputs(
    depth: np.ndarray, intrinsics: np.ndarray, camera_pose: np.ndarray, point_px: tuple[float, float]
) -> None:
    """Shape and range checks every estimator shares (``ShapeError`` for bugs, ``GraspNotFoundError`` for data)."""
    if np.ndim(depth) != 2:
        raise ShapeError(f"depth must be [H, W] in metres, got shape {np.shape(depth)}.")
    if np.shape(intrinsics) != (3, 3) or np.shape(camera_pose) != (4, 4):
        raise ShapeError(
            f"K must be [3, 3] and camera_pose [4, 4], got {np.shape(intrinsics)} and {np.shape(camera_pose)}."
        )
    height, width = depth.shape
    u, v = point_px
    if not (np.isfinite(u) and np.isfinite(v) and 0 <= u < width and 0 <= v < height):
        raise GraspNotFoundError(f"grasp point {point_px} lies outside the {width}x{height} depth image.")


class TopDownGraspEstimator(GraspEstimator):
    """Geometric top-down grasp on depth (see the module docstring); parameters in :class:`GraspConfig`."""

    def __init__(self, config: GraspConfig | None = None) -> None:
        self.config = config or GraspConfig()

    def estimate(
        self,
        depth: np.ndarray,
        K: np.ndarray,  # noqa: N803 - the pinhole K
        camera_pose: np.ndarray,
        point_px: tuple[float, float],
    ) -> Grasp:
        check_grasp_inputs(depth, K, camera_pose, point_px)
        cfg = self.config
        rows, cols, points = self._window_points(depth, K, camera_pose, point_px)
        valid = np.isfinite(points[..., 2])
        if valid.sum() < cfg.min_pixels:
            raise GraspNotFoundError(f"no depth readings around pixel {point_px}.")
        support = float(np.percentile(points[..., 2][valid], 5))
        above = valid & (points[..., 2] > support + cfg.min_height_m)
        seed = self._seed(above, rows, cols, point_px)
        mask = self._grow(seed, above, depth[rows[0] : rows[1], cols[0] : cols[1]])
        if mask.sum() < cfg.min_pixels:
            raise GraspNotFoundError(f"the object at pixel {point_px} covers only {int(mask.sum())} pixels.")
        return self._grasp(points[mask], support)

    def _window_points(
        self, depth: np.ndarray, intrinsics: np.ndarray, pose: np.ndarray, point_px: tuple[float, float]
    ) -> tuple[tuple[int, int], tuple[int, int], np.ndarray]:
        """World points ``[h, w, 3]`` of the window around the point (NaN where depth is missing)."""
        w = self.config.window_px
        col, row = int(point_px[0]), int(point_px[1])
        rows = (max(0, row - w), min(depth.shape[0], row + w + 1))
        cols = (max(0, col - w), min(depth.shape[1], col + w + 1))
        patch = depth[rows[0] : rows[1], cols[0] : cols[1]].astype(np.float64)
        patch = np.where(np.isfinite(patch) & (patch > 0), patch, np.nan)
        vv, uu = np.mgrid[rows[0] : rows[1], cols[0] : cols[1]]
        uv = np.stack([uu.ravel() + 0.5, vv.ravel() + 0.5], axis=1)
        points = backproject(uv, patch.ravel(), intrinsics, pose).reshape(*patch.shape, 3)
        return rows, cols, points

    @staticmethod
    def _seed(
        above: np.ndarray, rows: tuple[int, int], cols: tuple[int, int], point_px: tuple[float, float]
    ) -> tuple[int, int]:
        """The object pixel (window indices) nearest the queried point."""
        candidates = np.argwhere(above)
        if candidates.size == 0:
            raise GraspNotFoundError(f"nothing stands above the support near pixel {point_px}.")
        here = np.array([int(point_px[1]) - rows[0], int(point_px[0]) - cols[0]])
        nearest = candidates[np.argmin(np.sum((candidates - here) ** 2, axis=1))]
        return int(nearest[0]), int(nearest[1])

    def _grow(self, seed: tuple[int, int], above: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """4-connected region from ``seed`` over object pixels without a depth jump above ``depth_jump_m``."""
        mask = np.zeros_like(above)
        mask[seed] = True
        queue = deque([seed])
        height, width = above.shape
        while queue:
            r, c = queue.popleft()
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if (
                    0 <= rr < height
                    and 0 <= cc < width
                    and above[rr, cc]
                    and not mask[rr, cc]
                    and abs(depth[rr, cc] - depth[r, c]) < self.config.depth_jump_m
                ):
                    mask[rr, cc] = True
                    queue.append((rr, cc))
        return mask

    def _grasp(self, points: np.ndarray, support: float) -> Grasp:
        """Top-down grasp of the object points ``[N, 3]`` across the short side of their footprint.

        The footprint's axes come from its minimum-area rectangle, not from the covariance: for a square
        top face the covariance is isotropic and its eigenvectors arbitrary (the fingers could close on two
        corners); for elongated objects both give the principal (long) axis.
        """
        cfg = self.config
        corners = cv2.boxPoints(cv2.minAreaRect(points[:, :2].astype(np.float32))).astype(np.float64)
        edges = (corners[1] - corners[0], corners[2] - corners[1])
        lengths = [float(np.linalg.norm(e)) for e in edges]
        short = int(np.argmin(lengths))
        width = lengths[short]
        if width > cfg.max_width_m:
            raise GraspNotFoundError(
                f"the object is {width:.3f} m wide across its narrow axis; the gripper "
                f"closes on at most {cfg.max_width_m} m (GraspConfig.max_width_m)."
            )
        centre = corners.mean(axis=0)
        top = float(np.percentile(points[:, 2], 95))
        z = max(top - cfg.grasp_depth_m, support + cfg.min_clearance_m)
        finger = np.array([*(edges[short] / max(width, 1e-9)), 0.0])
        logger.debug("grasp at %s, width %.3f m, top %.3f m, support %.3f m", centre, width, top, support)
        return Grasp(np.array([centre[0], centre[1], z]), DOWN.copy(), finger / np.linalg.norm(finger), width)
