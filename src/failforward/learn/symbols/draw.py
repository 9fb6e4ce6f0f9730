"""The visual symbols of one corrective motion, drawn as the oracle supervisor draws them.

Conventions (those of ``failforward.supervisor.oracle.rules``, so a symbol-following policy trained on this
data sees at runtime the symbols it was trained on):

- moves: one straight arrow starting at the gripper's tool point projected in the head image; its colours
  name the axes moved (red x forward/backward, green y left/right, blue z up/down). Each commanded component
  of the tool displacement is drawn along its axis' image direction at the start point (vertical: image up
  or down), scaled by the image scale [px/m] there; the arrow's length is then clamped to 8–25 % of the
  larger image side (a 2 cm move is a few pixels, too short to see).
- rotations: a rotating arrow centred on the gripper, in the commanded direction (as seen in the image).
- open / close: ``ON`` / ``OFF`` at the gripper.

Pixels are ``(u, v)`` (column, row) of the head image, clipped to it (``failforward.symbols.types``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from failforward.supervisor.commands import AXIS_COLOR, Grasp, Move, Rotate
from failforward.supervisor.oracle.camera import CameraView
from failforward.symbols.types import GripperState, RotatingArrow, StraightArrow, Symbol

MIN_ARROW, MAX_ARROW = 0.08, 0.25  # arrow length as a fraction of the larger image side


def _clip(view: CameraView, uv: np.ndarray) -> tuple[float, float]:
    return float(np.clip(uv[0], 0.0, view.width)), float(np.clip(uv[1], 0.0, view.height))


def straight_arrow(view: CameraView, start_world: np.ndarray, displacement: np.ndarray,
                   moves: Sequence[Move]) -> StraightArrow:
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
    return StraightArrow(start=_clip(view, start), end=_clip(view, start + vector), colors=colors)  # type: ignore


def correction_symbols(view: CameraView, commands: Sequence[Move | Rotate | Grasp], start_world: np.ndarray,
                       goal_world: np.ndarray) -> tuple[Symbol, ...]:
    """Symbols of one correction whose tool point goes from ``start_world`` to ``goal_world`` ([3] world, [m]).

    Order as the oracle writes them: ON/OFF first, then the arrow, then a rotating arrow.
    """
    at = _clip(view, view.project(start_world)[0])
    symbols: list[Symbol] = []
    for command in commands:
        if isinstance(command, Grasp):
            symbols.append(GripperState(position=at, state="ON" if command.state == "open" else "OFF"))
    moves = [c for c in commands if isinstance(c, Move)]
    if moves:
        symbols.append(straight_arrow(view, start_world, np.asarray(goal_world) - start_world, moves))
    for command in commands:
        if isinstance(command, Rotate):
            symbols.append(RotatingArrow(center=at, direction=command.direction))
    return tuple(symbols)
