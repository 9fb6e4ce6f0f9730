"""The seven ViFailback visual symbols as typed values, in pixel coordinates of one image.

Pixel convention (used by every symbol): a point is ``(u, v)`` = (column, row) in pixels, origin at the
top-left corner of the image, ``u`` to the right and ``v`` down. Coordinates are continuous: an image of
``W x H`` pixels spans ``0 <= u <= W`` and ``0 <= v <= H``.

The model writes coordinates normalized to 0–1000 (see :mod:`failforward.supervisor.symbol_code`); these
types only ever hold pixels of the frame the symbols refer to.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Pixel = Annotated[float, Field(allow_inf_nan=False)]
Point = tuple[Pixel, Pixel]
"""``(u, v)`` pixel coordinates: column, row; origin top-left; finite."""

ArrowColor = Literal["red", "green", "blue"]
"""Axis colours of a straight arrow: red = x (forward/backward), green = y (left/right), blue = z (up/down)."""

RotationDirection = Literal["clockwise", "counter-clockwise"]


class _Symbol(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def points(self) -> tuple[Point, ...]:
        """Anchor points of the symbol ``(u, v)`` in pixels (arrows: start and end; icons: position)."""
        raise NotImplementedError

    def inside(self, width: int, height: int) -> bool:
        """True if every anchor point lies within a ``width x height`` image (edges included)."""
        return all(0.0 <= u <= width and 0.0 <= v <= height for u, v in self.points())


class StraightArrow(_Symbol):
    """Move the end-effector from ``start`` towards ``end``; ``colors`` name the axes moved, in order."""

    kind: Literal["straight_arrow"] = "straight_arrow"
    start: Point
    end: Point
    colors: tuple[ArrowColor, ...] = Field(min_length=1)

    def points(self) -> tuple[Point, ...]:
        return (self.start, self.end)


class RotatingArrow(_Symbol):
    """Rotate the end-effector at ``center`` in ``direction`` (as seen in the image)."""

    kind: Literal["rotating_arrow"] = "rotating_arrow"
    center: Point
    direction: RotationDirection

    def points(self) -> tuple[Point, ...]:
        return (self.center,)


class DualCrosshair(_Symbol):
    """Align the object under ``start`` with the place under ``end`` (drawn with a dashed connector)."""

    kind: Literal["dual_crosshair"] = "dual_crosshair"
    start: Point
    end: Point

    def points(self) -> tuple[Point, ...]:
        return (self.start, self.end)


class Crosshair(_Symbol):
    """The correct target object or area."""

    kind: Literal["crosshair"] = "crosshair"
    position: Point

    def points(self) -> tuple[Point, ...]:
        return (self.position,)


class GripperState(_Symbol):
    """``ON`` = the gripper at ``position`` should be open, ``OFF`` = closed."""

    kind: Literal["gripper_state"] = "gripper_state"
    position: Point
    state: Literal["ON", "OFF"]

    def points(self) -> tuple[Point, ...]:
        return (self.position,)


class Lock(_Symbol):
    """Hold still: the end-effector or object at ``position`` must stay where it is ("prohibited" sign)."""

    kind: Literal["lock"] = "lock"
    position: Point

    def points(self) -> tuple[Point, ...]:
        return (self.position,)


class Rewind(_Symbol):
    """Return the end-effector or object at ``position`` to its previous position or state."""

    kind: Literal["rewind"] = "rewind"
    position: Point

    def points(self) -> tuple[Point, ...]:
        return (self.position,)


Symbol = Annotated[
    StraightArrow | RotatingArrow | DualCrosshair | Crosshair | GripperState | Lock | Rewind,
    Field(discriminator="kind"),
]
"""Any of the seven symbols (a pydantic discriminated union on ``kind``)."""

SYMBOL_KINDS: tuple[type[_Symbol], ...] = (
    StraightArrow,
    RotatingArrow,
    DualCrosshair,
    Crosshair,
    GripperState,
    Lock,
    Rewind,
)
