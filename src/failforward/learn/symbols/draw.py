"""The visual symbols of one corrective motion, drawn as the oracle supervisor draws them.

Conventions (those of ``failforward.supervisor.oracle.rules``, so a symbol-following policy trained on this
data sees at runtime the symbols it was trained on):

- moves: the oracle's straight arrow (``failforward.supervisor.oracle.arrows``), starting at the gripper's
  tool point projected in the head image.
- rotations: a rotating arrow centred on the gripper, in the commanded direction (as seen in the image).
- open / close: ``ON`` / ``OFF`` at the gripper.

Pixels are ``(u, v)`` (column, row) of the head image, clipped to it (``failforward.symbols.types``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from failforward.supervisor.commands import Grasp, Move, Rotate
from failforward.supervisor.oracle.arrows import clip_pixel, straight_arrow
from failforward.supervisor.oracle.camera import CameraView
from failforward.symbols.types import GripperState, RotatingArrow, Symbol


def correction_symbols(
    view: CameraView, commands: Sequence[Move | Rotate | Grasp], start_world: np.ndarray, goal_world: np.ndarray
) -> tuple[Symbol, ...]:
    """Symbols of one correction whose tool point goes from ``start_world`` to ``goal_world`` ([3] world, [m]).

    Order as the oracle writes them: ON/OFF first, then the arrow, then a rotating arrow.
    """
    at = clip_pixel(view, view.project(start_world)[0])
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
