"""The supervisor's visual symbols as 3-D shapes for viewers (RViz markers, Foxglove scenes).

Symbols are pixels of one head-camera frame; each is drawn at the depth of its anchor, as PMC reads it
(:mod:`failforward.recovery.pmc_goals`):

- a point symbol (crosshair, ON/OFF, lock, rewind, the centre of a rotating arrow) at the depth under it;
- a straight arrow with start and end at the start's depth (its end points into free space);
- a dual crosshair with each end at its own depth.

Depth is the median over ``(2 window + 1)²`` pixels, robot pixels included (an ON/OFF sits on the gripper).
A symbol with a point that has no depth (no depth image of that frame, or no finite reading there) is drawn
on the *image plane* instead: :data:`IMAGE_PLANE_M` in front of the camera, where a viewer's camera frustum
shows the image, so it still points the right way. Sizes follow the 2-D renderer (``RenderStyle``): a
crosshair's arms and a rotating arrow's radius are their pixel sizes at the symbol's depth; line widths,
spheres and labels are fractions of the crosshair's span there.

Frames: the points are in ``world`` when the frame's optical-frame pose is known, else in the camera's optical
frame (x right, y down, z forward), named like the camera (the images' ``frame_id``; the URDFs hold it).

Example:
    >>> shapes = symbol_shapes(diagnosis.symbols, K, depth=depth, world_from_camera=pose, camera="top")
    >>> shapes.frame, [s.kind for s in shapes.shapes]
    ('world', ['point', 'text', ...])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from failforward.recovery.camera import backproject, depth_at
from failforward.symbols.style import AXIS_RGB, PROHIBITED_RED, REWIND_BLUE, RenderStyle
from failforward.symbols.types import (
    Crosshair,
    DualCrosshair,
    GripperState,
    Lock,
    Point,
    RotatingArrow,
    StraightArrow,
    Symbol,
)

IMAGE_PLANE_M = 0.3  # [m] in front of the camera: where symbols without depth are drawn
WORLD_FRAME = "world"
ShapeKind = Literal["arrow", "polyline", "segments", "point", "text"]
RGB = tuple[float, float, float]
ON_GREEN: RGB = (0.1, 0.8, 0.2)
OFF_RED: RGB = (0.9, 0.1, 0.1)
CROSSHAIR_RGB: RGB = (1.0, 1.0, 1.0)
ARC_POINTS = 24  # polyline points of a rotating arrow's 270° arc
LINE_OF_CROSS = 0.08  # line width / crosshair span
DOT_OF_CROSS = 0.5  # sphere diameter and text height / crosshair span


@dataclass(frozen=True)
class Shape:
    """One drawable part of a symbol.

    Attributes:
        kind: ``arrow`` (``points [2, 3]``: tail, head), ``polyline`` (``[N, 3]``), ``segments`` (``[2K, 3]``:
            pairs), ``point`` (``[1, 3]``: a sphere), ``text`` (``[1, 3]``: a label facing the viewer).
        points: positions [m] in :attr:`SymbolShapes.frame`.
        rgb: colour, each channel 0–1.
        size: [m] line width, sphere diameter or text height.
        text: the label of a ``text`` shape.
        symbol: index of the symbol it draws in the diagnosis's ``symbols``.
        measured: whether it stands at the measured depth (else on the image plane).
    """

    kind: ShapeKind
    points: np.ndarray
    rgb: RGB
    size: float
    text: str = ""
    symbol: int = 0
    measured: bool = True


@dataclass(frozen=True)
class SymbolShapes:
    """The shapes of one answer's symbols, all in ``frame``."""

    frame: str
    shapes: tuple[Shape, ...]


@dataclass(frozen=True)
class _View:
    """Back-projects pixels of one frame: ``K [3, 3]``, depth ``[H, W]`` [m] and pose ``[4, 4]`` (or ``None``)."""

    K: np.ndarray
    depth: np.ndarray | None
    pose: np.ndarray | None
    window: int

    def depth_of(self, uv: Point) -> float:
        """[m] under ``uv``; NaN without a reading."""
        if self.depth is None:
            return float("nan")
        height, width = self.depth.shape
        if not (0.0 <= uv[0] <= width and 0.0 <= uv[1] <= height):
            return float("nan")
        return depth_at(self.depth, uv, self.window)

    def points(self, uv: Sequence[Point] | np.ndarray, depth: float) -> np.ndarray:
        """Pixels ``[N, 2]`` at ``depth`` [m] → ``[N, 3]`` [m] in the output frame."""
        pose = self.pose if self.pose is not None else np.eye(4)
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        return backproject(uv, np.full(len(uv), depth), self.K, pose)

    def metres_per_pixel(self, depth: float) -> float:
        return depth / float(self.K[0, 0])


def _anchors(symbol: Symbol, view: _View) -> list[float] | None:
    """Depth [m] of each of the symbol's anchor points by the module's rules; ``None`` if one has none."""
    points = symbol.points()
    if isinstance(symbol, StraightArrow):
        depths = [view.depth_of(symbol.start)] * 2
    else:
        depths = [view.depth_of(p) for p in points]
    return depths if all(np.isfinite(d) and d > 0 for d in depths) else None


def _cross(view: _View, uv: Point, depth: float, style: RenderStyle) -> np.ndarray:
    """``[4, 3]``: a horizontal and a vertical arm of ``style.crosshair_size`` pixels through ``uv``."""
    u, v, half = uv[0], uv[1], style.crosshair_size / 2
    return view.points([(u - half, v), (u + half, v), (u, v - half), (u, v + half)], depth)


def _arc(view: _View, arrow: RotatingArrow, depth: float, style: RenderStyle) -> np.ndarray:
    """``[ARC_POINTS, 3]``: the 270° arc, ending where the renderer puts the head (clockwise in the image)."""
    angles = np.linspace(0.0, math.radians(style.rotation_arc_deg), ARC_POINTS)
    if arrow.direction != "clockwise":
        angles = 2 * math.pi - angles
    u, v, r = arrow.center[0], arrow.center[1], style.rotation_radius
    return view.points(np.stack([u + r * np.cos(angles), v + r * np.sin(angles)], axis=1), depth)


def _rgb(rgb: tuple[int, int, int]) -> RGB:
    return (rgb[0] / 255, rgb[1] / 255, rgb[2] / 255)


def _shapes_of(symbol: Symbol, view: _View, depths: list[float], style: RenderStyle) -> list[Shape]:
    """The shapes of one symbol whose anchors stand at ``depths`` [m]."""
    cross = style.crosshair_size * view.metres_per_pixel(depths[0])  # [m] a crosshair's span at this depth
    line, dot = LINE_OF_CROSS * cross, DOT_OF_CROSS * cross
    first = view.points([symbol.points()[0]], depths[0])
    if isinstance(symbol, StraightArrow):
        ends, rgb = view.points([symbol.start, symbol.end], depths[0]), _rgb(AXIS_RGB[symbol.colors[0]])
        return [Shape("arrow", ends, rgb, line), Shape("text", ends[1:], rgb, dot, "+".join(symbol.colors))]
    if isinstance(symbol, RotatingArrow):
        arc, text = _arc(view, symbol, depths[0], style), f"rotate {symbol.direction}"
        white = CROSSHAIR_RGB
        return [
            Shape("polyline", arc, white, line),
            Shape("arrow", arc[-2:], white, line),
            Shape("text", first, white, dot, text),
        ]
    if isinstance(symbol, Crosshair):
        return [Shape("segments", _cross(view, symbol.position, depths[0], style), CROSSHAIR_RGB, line)]
    if isinstance(symbol, DualCrosshair):
        crosses = np.concatenate([_cross(view, p, d, style) for p, d in zip(symbol.points(), depths, strict=True)])
        ends = np.concatenate([view.points([symbol.start], depths[0]), view.points([symbol.end], depths[1])])
        return [Shape("segments", crosses, CROSSHAIR_RGB, line), Shape("polyline", ends, CROSSHAIR_RGB, line)]
    if isinstance(symbol, GripperState):
        rgb = ON_GREEN if symbol.state == "ON" else OFF_RED
        return [Shape("point", first, rgb, dot), Shape("text", first, rgb, dot, symbol.state)]
    rgb, text = (_rgb(PROHIBITED_RED), "lock") if isinstance(symbol, Lock) else (_rgb(REWIND_BLUE), "rewind")
    return [Shape("point", first, rgb, dot), Shape("text", first, rgb, dot, text)]


def symbol_shapes(
    symbols: Sequence[Symbol],
    K: np.ndarray,  # noqa: N803 - the pinhole K
    *,
    camera: str,
    image_size: tuple[int, int],
    depth: np.ndarray | None = None,
    world_from_camera: np.ndarray | None = None,
    window: int = 1,
) -> SymbolShapes:
    """3-D shapes of ``symbols`` (pixels of one ``image_size = (H, W)`` frame of ``camera``, intrinsics ``K [3, 3]``
    at that size) with that frame's ``depth [H, W]`` [m] and optical-frame pose ``[4, 4]`` when known."""
    view = _View(np.asarray(K, dtype=np.float64), depth, world_from_camera, window)
    style = RenderStyle.for_image(*image_size)
    shapes: list[Shape] = []
    for index, symbol in enumerate(symbols):
        depths = _anchors(symbol, view)
        measured = depths is not None
        for shape in _shapes_of(symbol, view, depths or [IMAGE_PLANE_M] * len(symbol.points()), style):
            shapes.append(Shape(shape.kind, shape.points, shape.rgb, shape.size, shape.text, index, measured))
    return SymbolShapes(WORLD_FRAME if world_from_camera is not None else camera, tuple(shapes))
