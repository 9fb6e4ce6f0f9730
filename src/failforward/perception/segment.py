"""Colour segmentation of the task objects with OpenCV: saturated pixels of an object's hue, largest blob.

The table, the arms and the background are grey, white or black (low saturation); the task objects are saturated
primaries (the red cube and peg, the blue socket). A pixel belongs to an object of hue ``h`` when its HSV hue is
within ``hue_tolerance_deg`` of ``h`` and its saturation and value are above the thresholds. A white or grey object
(the plug strip's seen colours) has no hue: its pixels are the unsaturated ones brighter than everything else in the
cell (:func:`bright_mask`; in our scenes the white and the grey strip both render at 255 of 255, the arms' lit faces
at up to 239).
An object is its largest blob of that colour and the blobs near it (a gripper holding the peg in its middle shows
its two ends).

Example:
    >>> mask = largest_blob(interior(colour_mask(hsv_of(frame.rgb), hue_deg=0.0)), min_pixels=6)
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_SATURATION = 100
"""Of 255: greys and whites (table, arms) stay below."""
MIN_VALUE = 40
"""Of 255: near-black pixels have no reliable hue."""
MAX_ACHROMATIC_SATURATION = 60
"""Of 255: a white or grey object's pixels are at most this saturated."""


def hsv_of(rgb: np.ndarray) -> np.ndarray:
    """uint8 ``[H, W, 3]``: OpenCV's HSV of ``rgb`` (uint8 ``[H, W, 3]``; hue 0–179 for 0–358 deg), once per frame for
    every object's mask."""
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)


def colour_mask(hsv: np.ndarray, hue_deg: float, hue_tolerance_deg: float = 20.0) -> np.ndarray:
    """bool ``[H, W]``: pixels of ``hsv`` (:func:`hsv_of`) with hue within ``hue_tolerance_deg`` [deg] of
    ``hue_deg`` [deg, 0–360], saturation ≥ ``MIN_SATURATION`` and value ≥ ``MIN_VALUE``."""
    hue = hsv[..., 0].astype(np.float64) * 2.0
    distance = np.abs((hue - hue_deg + 180.0) % 360.0 - 180.0)
    return (distance <= hue_tolerance_deg) & (hsv[..., 1] >= MIN_SATURATION) & (hsv[..., 2] >= MIN_VALUE)


def bright_mask(hsv: np.ndarray, min_value: int) -> np.ndarray:
    """bool ``[H, W]``: pixels of ``hsv`` (:func:`hsv_of`) with value ≥ ``min_value`` (of 255) and saturation
    ≤ ``MAX_ACHROMATIC_SATURATION``: a white or grey object under the cell's light."""
    return (hsv[..., 2] >= min_value) & (hsv[..., 1] <= MAX_ACHROMATIC_SATURATION)


def interior(mask: np.ndarray) -> np.ndarray:
    """bool ``[H, W]``: ``mask`` eroded by one pixel (3 x 3). An object's border pixels mix its colour with what lies
    beside or behind it, while their depth belongs to one of the two: they are left out of back-projection."""
    return cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def with_border(blob: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """bool ``[H, W]``: ``blob`` grown by the one-pixel border of ``mask`` around it (undoes :func:`interior`)."""
    return mask & cv2.dilate(blob.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)


def blobs_near(mask: np.ndarray, blob: np.ndarray, radius_px: float) -> np.ndarray:
    """bool ``[H, W]``: ``blob`` and every other 8-connected blob of ``mask`` whose centroid lies within
    ``radius_px`` [px] of ``blob``'s: the pieces of one object that a gripper's fingers cut apart."""
    count, labels, _, centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    rows, cols = np.nonzero(blob)
    centre = np.array([cols.mean(), rows.mean()])
    near = [k for k in range(1, count) if np.linalg.norm(centroids[k] - centre) <= radius_px]
    return blob | np.isin(labels, near)


def largest_blob_near(mask: np.ndarray, pixel: np.ndarray, radius_px: float, min_pixels: int) -> np.ndarray | None:
    """bool ``[H, W]``: the largest 8-connected blob of ``mask`` with at least ``min_pixels`` whose centroid lies
    within ``radius_px`` [px] of ``pixel`` ``(x, y)`` (where a tracked object was), or ``None``."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    near = [
        k
        for k in range(1, count)
        if stats[k, cv2.CC_STAT_AREA] >= min_pixels and np.linalg.norm(centroids[k] - pixel) <= radius_px
    ]
    if not near:
        return None
    return labels == max(near, key=lambda k: stats[k, cv2.CC_STAT_AREA])


def largest_blob(mask: np.ndarray, min_pixels: int) -> np.ndarray | None:
    """bool ``[H, W]``: the largest 8-connected blob of ``mask``, or ``None`` when it has fewer than ``min_pixels``."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[best, cv2.CC_STAT_AREA] < min_pixels:
        return None
    return labels == best
