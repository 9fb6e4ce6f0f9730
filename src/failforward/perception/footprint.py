"""An object's pose from its footprint: its visible points in the table plane, a minimum-area rectangle.

Given the world points ``[N, 3]`` [m] of one object's visible pixels (top and side faces, seen from above), their
(x, y) fill the object's footprint; the minimum-area rectangle around them gives the centre (x, y) and the yaw (the
direction of the body's x axis: the rectangle's longer side, for an elongated object). The height z is the top
face's mean height (the points within ``top_band_m`` of the highest) less the object's half-extent along z. Roll and
pitch are not estimated (the pose is level: quaternion (cos ψ/2, 0, 0, sin ψ/2)), so a tilted object (a cube
turned in the gripper) reads level, its height biased by up to (√2 − 1) half-extents.

Yaw is ambiguous by the footprint's symmetry (``ObjectModel.yaw_period``: π/2 for a cube, π for the peg): of the
equivalent angles the one closest to a reference is returned (the object's last estimate; at an episode's start 0,
the scenes' initial orientation).

A partly hidden object (a gripper over one side) shows a rectangle smaller than its footprint, whose centre and
orientation mean little: :func:`partial_pose` keeps the last yaw and moves the last centre only as far as needed for
the footprint to cover every visible point.

Example:
    >>> pose = footprint_pose(points, object_models("transfer_cube")[0], reference_yaw=0.0)
    >>> pose.state()   # [7]: x, y, z [m], qw, qx, qy, qz
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from failforward.perception.objects import ObjectModel

TOP_BAND_M = 0.006
"""[m] points this close to the highest point of an object belong to its top face."""
COMPLETE_SLACK_FRACTION = 0.1
"""A footprint rectangle is the whole object when each side is short of the object's by at most this fraction of it
or ``COMPLETE_SLACK_PX`` pixels, whichever is more (a gripper over one end of the 14 cm strip leaves 12 cm in view:
partial; a 7-pixel plug's rectangle is a pixel or two short whatever shows of it)."""
COMPLETE_SLACK_PX = 2.0
MM_PER_M = 1000.0  # the rectangle is fitted in millimetres (OpenCV's float32 points)


@dataclass(frozen=True)
class FootprintPose:
    """A level pose: ``position`` ``[3]`` [m] of the body origin in the world, ``yaw`` [rad] about world z, and the
    ``sides`` (longer, shorter) [m] of the rectangle it was read from."""

    position: np.ndarray
    yaw: float
    sides: tuple[float, float]

    def state(self) -> np.ndarray:
        """``[7]``: position [m], then the quaternion (w, x, y, z) of the yaw, ``w ≥ 0``."""
        half = 0.5 * float(np.angle(np.exp(1j * self.yaw)))  # yaw wrapped to (−π, π]
        return np.concatenate([self.position, [np.cos(half), 0.0, 0.0, np.sin(half)]])

    def complete(self, model: ObjectModel, pixel_m: float = 0.0) -> bool:
        """Whether the rectangle covers ``model``'s footprint along both sides, within ``COMPLETE_SLACK_FRACTION`` of
        each side or ``COMPLETE_SLACK_PX`` pixels of ``pixel_m`` [m] (one pixel's width on the object)."""
        hx, hy = model.half_extents[:2]
        want = (2 * max(hx, hy), 2 * min(hx, hy))
        return all(
            side >= length - max(COMPLETE_SLACK_FRACTION * length, COMPLETE_SLACK_PX * pixel_m)
            for side, length in zip(self.sides, want, strict=True)
        )


def footprint_pose(
    points: np.ndarray, model: ObjectModel, reference_yaw: float, pixel_m: float = 0.0, top_band_m: float = TOP_BAND_M
) -> FootprintPose:
    """The level pose of ``model`` from its visible world points ``[N, 3]`` [m], ``N ≥ 3`` (module docstring).

    ``pixel_m`` [m] is one pixel's width on the object: the points are pixel centres, so the pixels' own footprint
    is that much longer along each side than the points' rectangle (``FootprintPose.sides``)."""
    rect = cv2.minAreaRect((points[:, :2] * MM_PER_M).astype(np.float32))
    corners = cv2.boxPoints(rect).astype(np.float64) / MM_PER_M
    edges = np.diff(corners[:3], axis=0)  # two adjacent sides [2, 2] [m]
    lengths = np.linalg.norm(edges, axis=1)
    longer = edges[int(np.argmax(lengths))]
    yaw = resolve_yaw(float(np.arctan2(longer[1], longer[0])), model.yaw_period, reference_yaw)
    centre = np.asarray(rect[0], dtype=np.float64) / MM_PER_M
    z = top_height(points, top_band_m) - model.half_extents[2]
    sides = (float(lengths.max()) + pixel_m, float(lengths.min()) + pixel_m)
    return FootprintPose(np.array([centre[0], centre[1], z]), yaw, sides)


def oversized(points: np.ndarray, model: ObjectModel, pixel_m: float = 0.0) -> bool:
    """Whether the rectangle around ``points`` ``[N, 3]`` [m] is longer than ``model``'s footprint on either side by
    more than both slacks of :meth:`FootprintPose.complete` together (``COMPLETE_SLACK_FRACTION`` of the side and
    ``COMPLETE_SLACK_PX`` pixels): the points hold something besides the object."""
    (_, _), (a, b), _ = cv2.minAreaRect((points[:, :2] * MM_PER_M).astype(np.float32))
    sides = (max(a, b) / MM_PER_M + pixel_m, min(a, b) / MM_PER_M + pixel_m)
    hx, hy = model.half_extents[:2]
    want = (2 * max(hx, hy), 2 * min(hx, hy))
    return any(
        side > length + COMPLETE_SLACK_FRACTION * length + COMPLETE_SLACK_PX * pixel_m
        for side, length in zip(sides, want, strict=True)
    )


def partial_pose(
    points: np.ndarray, model: ObjectModel, previous: FootprintPose, top_band_m: float = TOP_BAND_M
) -> FootprintPose:
    """The pose of a partly hidden object: ``previous``'s yaw, its centre moved the least so that the footprint
    (in ``previous``'s axes) covers ``points`` ``[N, 3]`` [m]; where the points are wider than the footprint, their
    middle. The height is read from the top face as in :func:`footprint_pose`."""
    axes = np.array([[np.cos(previous.yaw), np.sin(previous.yaw)], [-np.sin(previous.yaw), np.cos(previous.yaw)]])
    local = points[:, :2] @ axes.T  # [N, 2] along the body's x and y
    low, high = local.min(axis=0), local.max(axis=0)
    half = np.asarray(model.half_extents[:2])
    wanted = previous.position[:2] @ axes.T
    feasible_low, feasible_high = high - half, low + half  # centres whose footprint covers [low, high]
    centre = np.where(feasible_low <= feasible_high, np.clip(wanted, feasible_low, feasible_high), 0.5 * (low + high))
    xy = centre @ axes
    z = top_height(points, top_band_m) - model.half_extents[2]
    return FootprintPose(np.array([xy[0], xy[1], z]), previous.yaw, previous.sides)


def top_height(points: np.ndarray, top_band_m: float = TOP_BAND_M) -> float:
    """Mean height [m] of the points ``[N, 3]`` within ``top_band_m`` of the highest."""
    heights = points[:, 2]
    return float(heights[heights >= heights.max() - top_band_m].mean())


def resolve_yaw(yaw: float, period: float, reference: float) -> float:
    """Of ``yaw + k · period`` (integer ``k``) the angle [rad] closest to ``reference`` [rad]."""
    return reference + (yaw - reference + 0.5 * period) % period - 0.5 * period
