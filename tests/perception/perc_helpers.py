"""Synthetic RGB-D frames for perception tests: level boxes on a grey table under a camera looking straight down.

The camera is the simulated ALOHA's head camera (0.8 m above the table at y = 0.6 m, image up along world +y,
vertical field of view 78.0 deg); only the boxes' top faces are drawn (what the camera sees of a level box, besides
slivers of its sides), with exact depth. World frame: z up, metres.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import cv2
import numpy as np

from failforward.perception.objects import ObjectModel
from failforward.types import Observation

HEIGHT, WIDTH = 240, 320
CAMERA_HEIGHT_M = 0.8
WORLD_FROM_CAMERA = np.array([[1.0, 0, 0, 0], [0, -1.0, 0, 0.6], [0, 0, -1.0, CAMERA_HEIGHT_M], [0, 0, 0, 1]])
FOCAL_AT_240 = 0.5 * 240 / np.tan(np.deg2rad(78.0) / 2)
CUBE = ObjectModel("box", 0.0, (0.02, 0.02, 0.02), np.pi / 2)
PEG = ObjectModel("peg", 0.0, (0.06, 0.01, 0.01), np.pi)
SOCKET = ObjectModel("socket", 240.0, (0.06, 0.022, 0.022), np.pi)
STRIP = ObjectModel("strip", 60.0, (0.07, 0.03, 0.03), np.pi, achromatic=True)  # a white power strip
RGB_OF_HUE = {0.0: (230, 20, 20), 240.0: (20, 20, 230)}
WHITE = (255, 255, 255)
TABLE_RGB = (90, 90, 90)


def colour_of(model: ObjectModel) -> tuple[int, int, int]:
    """The box's colour: white for an achromatic model, else its hue at high saturation and value."""
    if model.achromatic:
        return WHITE
    if model.hue in RGB_OF_HUE:
        return RGB_OF_HUE[model.hue]
    r, g, b = colorsys.hsv_to_rgb(model.hue / 360.0, 0.9, 0.9)
    return round(255 * r), round(255 * g), round(255 * b)


class DownCamera:
    """The synthetic head camera (``CameraGeometry``)."""

    def intrinsics(self, height: int, width: int) -> np.ndarray:
        f = FOCAL_AT_240 * height / 240
        return np.array([[f, 0.0, (width - 1) / 2], [0.0, f, (height - 1) / 2], [0.0, 0.0, 1.0]])

    def world_from_camera(self) -> np.ndarray:
        return WORLD_FROM_CAMERA.copy()


@dataclass(frozen=True)
class Box:
    """A level box of ``model`` with its body origin at ``xyz`` [m] and yaw ``yaw`` [rad] about world z."""

    model: ObjectModel
    xyz: tuple[float, float, float]
    yaw: float = 0.0

    def top_corners(self) -> np.ndarray:
        """``[4, 3]`` world corners [m] of the top face, in order around it."""
        hx, hy, hz = self.model.half_extents
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        local = np.array([[hx, hy], [-hx, hy], [-hx, -hy], [hx, -hy]])
        xy = local @ np.array([[c, s], [-s, c]]) + np.asarray(self.xyz[:2])
        return np.column_stack([xy, np.full(4, self.xyz[2] + hz)])


def render(boxes: list[Box], size: tuple[int, int] = (HEIGHT, WIDTH)) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` uint8 ``[H, W, 3]`` and ``depth`` float32 ``[H, W]`` [m] of ``boxes`` on the table (z = 0)."""
    height, width = size
    rgb = np.empty((height, width, 3), np.uint8)
    rgb[:] = TABLE_RGB
    depth = np.full((height, width), CAMERA_HEIGHT_M, np.float32)
    camera = DownCamera()
    intrinsics, camera_from_world = camera.intrinsics(height, width), np.linalg.inv(camera.world_from_camera())
    for box in sorted(boxes, key=lambda b: b.xyz[2] + b.model.half_extents[2]):  # nearer faces drawn last
        corners = box.top_corners() @ camera_from_world[:3, :3].T + camera_from_world[:3, 3]
        uv = (corners[:, :2] / corners[:, 2:]) @ intrinsics[:2, :2].T + intrinsics[:2, 2]
        polygon = np.round(uv * 16).astype(np.int32)[None]  # 4 fractional bits
        cv2.fillPoly(rgb, polygon, colour_of(box.model), shift=4)
        cv2.fillPoly(depth, polygon, float(corners[0, 2]), shift=4)
    return rgb, depth


def observation(
    boxes: list[Box], t: float = 0.0, camera: str = "top", size: tuple[int, int] = (HEIGHT, WIDTH), **changes: object
) -> Observation:
    """An observation at time ``t`` [s] with ``camera``'s synthetic RGB-D frame of ``size`` (``changes``: fields to
    replace)."""
    rgb, depth = render(boxes, size)
    fields: dict[str, object] = {
        "timestamp": t,
        "joint_positions": np.zeros(14),
        "joint_velocities": np.zeros(14),
        "images": {camera: rgb},
        "depth": {camera: depth},
    }
    return Observation(**{**fields, **changes})  # type: ignore[arg-type]


def yaw_of(state: np.ndarray) -> float:
    """Yaw [rad] of a level pose ``[7]`` (quaternion (cos ψ/2, 0, 0, sin ψ/2))."""
    return float(2.0 * np.arctan2(state[6], state[3]))
