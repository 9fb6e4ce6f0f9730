"""The oracle's straight arrow for a move, shared by its rules and by the symbol-following data generator
(so a symbol-following policy is trained on exactly the arrows the supervisor draws at runtime).

Each commanded component of the tool displacement is drawn along its robot axis' image direction at the
start point (vertical: image up or down), scaled by the image scale [px/m] there; the arrow's length is
then clamped to 8–25 % of the larger image side (a 2 cm move is a few pixels, too short to see). Its
colours name the axes moved (red x forward/backward, green y left/right, blue z up/down). Pixels are
``(u, v)`` (column, row) of the head image, clipped to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from failforward.supervisor.commands import AXIS_COLOR, Move
from failforward.supervisor.oracle.camera import CameraView
from failforward.symbols.types import StraightArrow

MIN_ARROW, MAX_ARROW = 0.08, 0.25  # arrow length as a fraction of the larger image side


def clip_pixel(view: CameraView, uv: np.ndarray) -> tuple[float, float]:
    """``uv [2]`` [px] clipped to the image."""
    return float(np.clip(uv[0], 0.0, view.width)), float(np.clip(uv[1], 0.0, view.height))


def straight_arrow(
    view: CameraView, start_world: np.ndarray, displacement: np.ndarray, moves: Sequence[Move]
) -> StraightArrow:
    """Arrow for ``moves`` of the tool point ``start_world [3]`` [m] by ``displacement [3]`` [m] (world)."""
    start = view.project(start_world)[0]
    axes, scale = view.robot_axes(), view.pixels_per_metre(start_world)
    vector = np.zeros(2)
    for axis in dict.fromkeys("xyz".index(m.axis) for m in moves):
        component = float(axes[axis] @ displacement)
        if axis == 2:
            direction = np.array([0.0, -1.0])
        else:
            direction = view.project(start_world + 0.01 * axes[axis])[0] - start
            direction /= max(float(np.linalg.norm(direction)), 1e-9)
        vector += component * scale * direction
    size, length = max(view.width, view.height), float(np.linalg.norm(vector))
    if length > 1e-6:
        vector *= float(np.clip(length, MIN_ARROW * size, MAX_ARROW * size)) / length
    colors = tuple(dict.fromkeys(AXIS_COLOR[m.axis] for m in moves))
    return StraightArrow(start=clip_pixel(view, start), end=clip_pixel(view, start + vector), colors=colors)
