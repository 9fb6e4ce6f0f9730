"""OpenCV renderer of the seven ViFailback symbols, following the release's drawing conventions.

Example:
    >>> canvas = render_symbols(frame, diagnosis.symbols)   # frame: uint8 [H, W, 3] RGB, not modified

Conventions (see :mod:`failforward.symbols.style` for sizes): straight arrows are striped in segments of
their axis colours with a black outline and a filled head in the last segment's colour; rotating arrows
are a 270° white-on-black arc with a head at the end (clockwise as seen in the image); crosshairs are
four white-on-black ticks around a gap; dual crosshairs add a dashed connector; ON/OFF is white text
with a black outline; lock and rewind are icons. Points are ``(u, v)`` pixels, origin top-left.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import cv2
import numpy as np

from failforward.errors import ShapeError
from failforward.symbols.icons import draw_fast_reverse, draw_prohibited
from failforward.symbols.style import AXIS_RGB, BLACK, WHITE, RenderStyle
from failforward.symbols.types import (
    Crosshair,
    DualCrosshair,
    GripperState,
    Lock,
    Point,
    Rewind,
    RotatingArrow,
    StraightArrow,
    Symbol,
)

_AA = cv2.LINE_AA
_FONT = cv2.FONT_HERSHEY_SIMPLEX
Box = tuple[int, int, int, int]
"""``(u0, v0, u1, v1)`` pixel box, inclusive start, exclusive end."""


def _px(point: Point | np.ndarray) -> tuple[int, int]:
    return int(round(point[0])), int(round(point[1]))


def _two_tone_line(image: np.ndarray, a: tuple[int, int], b: tuple[int, int], style: RenderStyle) -> None:
    cv2.line(image, a, b, BLACK, style.outline, _AA)
    cv2.line(image, a, b, WHITE, style.fill, _AA)


def draw_straight_arrow(image: np.ndarray, arrow: StraightArrow, style: RenderStyle) -> None:
    """Striped arrow from ``start`` to ``end``; arrows shorter than the head shrink the head to fit."""
    start, end = np.array(arrow.start), np.array(arrow.end)
    length = float(np.hypot(*(end - start)))
    if length < 1.0:
        return
    unit = (end - start) / length
    normal = np.array([-unit[1], unit[0]])
    head_len = min(float(style.arrow_head_length), length)
    head_w = style.arrow_head_width * head_len / style.arrow_head_length
    shaft_end = end - unit * head_len / 2
    colors = [AXIS_RGB[c] for c in arrow.colors]
    cv2.line(image, _px(start), _px(shaft_end), BLACK, style.arrow_width + style.arrow_outline_extra, _AA)
    shaft = float(np.hypot(*(shaft_end - start)))
    n_segments = max(1, math.ceil(shaft / style.arrow_segment))
    for i in range(n_segments):
        a = start + unit * min(i * style.arrow_segment, shaft)
        b = start + unit * min((i + 1) * style.arrow_segment, shaft)
        cv2.line(image, _px(a), _px(b), colors[i % len(colors)], style.arrow_width, _AA)
    base = end - unit * head_len
    head = np.array([end, base + normal * head_w, base - normal * head_w])
    head_color = colors[int(max(length - 1.0, 0.0) // style.arrow_segment) % len(colors)]
    cv2.fillPoly(image, [np.round(head).astype(np.int32)], head_color, _AA)
    cv2.polylines(image, [np.round(head).astype(np.int32)], True, BLACK, 1, _AA)


def draw_rotating_arrow(image: np.ndarray, arrow: RotatingArrow, style: RenderStyle) -> None:
    """270° arc of radius ``style.rotation_radius``; the head marks the turning direction in the image."""
    center, r = _px(arrow.center), style.rotation_radius
    clockwise = arrow.direction == "clockwise"
    # OpenCV angles grow clockwise on screen (v points down): a clockwise arrow runs 0° → 270°.
    start, stop = (0.0, style.rotation_arc_deg) if clockwise else (360.0 - style.rotation_arc_deg, 360.0)
    for color, thick in ((BLACK, style.outline), (WHITE, style.fill)):
        cv2.ellipse(image, center, (r, r), 0.0, start, stop, color, thick, _AA)
    tip_angle = math.radians(stop if clockwise else start)
    tip = (center[0] + r * math.cos(tip_angle), center[1] + r * math.sin(tip_angle))
    heading = tip_angle + (math.pi / 2 if clockwise else -math.pi / 2)
    barb = max(4.0, 0.4 * r)
    for color, thick in ((BLACK, style.outline), (WHITE, style.fill)):
        for spread in (-math.pi / 6, math.pi / 6):
            end = (tip[0] - barb * math.cos(heading + spread), tip[1] - barb * math.sin(heading + spread))
            cv2.line(image, _px(tip), _px(end), color, thick, _AA)


def draw_crosshair(image: np.ndarray, point: Point, style: RenderStyle) -> None:
    """Four ticks of length ``(size - gap) / 2`` around ``point``."""
    cx, cy = _px(point)
    h, g = style.crosshair_size // 2, style.crosshair_gap // 2
    for a, b in (
        ((cx - h, cy), (cx - g, cy)),
        ((cx + g, cy), (cx + h, cy)),
        ((cx, cy - h), (cx, cy - g)),
        ((cx, cy + g), (cx, cy + h)),
    ):
        _two_tone_line(image, a, b, style)


def draw_dual_crosshair(image: np.ndarray, dual: DualCrosshair, style: RenderStyle) -> None:
    """Two crosshairs joined by a dashed line (dashes of ``style.dash`` px, every other one drawn)."""
    draw_crosshair(image, dual.start, style)
    draw_crosshair(image, dual.end, style)
    start, end = np.array(dual.start), np.array(dual.end)
    dist = float(np.hypot(*(end - start)))
    for i in range(0, int(dist // style.dash), 2):
        a = start + (end - start) * (i * style.dash / dist)
        b = start + (end - start) * ((i + 1) * style.dash / dist)
        _two_tone_line(image, _px(a), _px(b), style)


def _text_size(text: str, style: RenderStyle) -> tuple[int, int]:
    (w, h), _ = cv2.getTextSize(text, _FONT, style.font_scale, style.font_thickness)
    return w, h


def draw_gripper_state(image: np.ndarray, label: GripperState, style: RenderStyle) -> None:
    """``ON``/``OFF`` centred on ``position``: white text, black outline."""
    w, h = _text_size(label.state, style)
    cx, cy = _px(label.position)
    origin = (cx - w // 2, cy + h // 2)
    for color, extra in ((BLACK, 2), (WHITE, 0)):
        cv2.putText(image, label.state, origin, _FONT, style.font_scale, color, style.font_thickness + extra, _AA)


def _draw_crosshair_symbol(image: np.ndarray, symbol: Crosshair, style: RenderStyle) -> None:
    draw_crosshair(image, symbol.position, style)


def _draw_lock(image: np.ndarray, symbol: Lock, style: RenderStyle) -> None:
    draw_prohibited(image, _px(symbol.position), style.icon_size)


def _draw_rewind(image: np.ndarray, symbol: Rewind, style: RenderStyle) -> None:
    draw_fast_reverse(image, _px(symbol.position), style.icon_size)


_DRAWERS: dict[type, Callable[[np.ndarray, Any, RenderStyle], None]] = {
    StraightArrow: draw_straight_arrow,
    RotatingArrow: draw_rotating_arrow,
    DualCrosshair: draw_dual_crosshair,
    Crosshair: _draw_crosshair_symbol,
    GripperState: draw_gripper_state,
    Lock: _draw_lock,
    Rewind: _draw_rewind,
}


def draw_symbol(image: np.ndarray, symbol: Symbol, style: RenderStyle) -> None:
    """Draw one symbol in place on an RGB ``uint8 [H, W, 3]`` image."""
    _DRAWERS[type(symbol)](image, symbol, style)


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ShapeError(f"symbols are drawn on uint8 [H, W, 3] RGB images, got {getattr(image, 'shape', image)}.")


def render_symbols(image: np.ndarray, symbols: Iterable[Symbol], style: RenderStyle | None = None) -> np.ndarray:
    """A copy of ``image`` (``uint8 [H, W, 3]`` RGB) with ``symbols`` drawn in order."""
    _check_image(image)
    canvas = np.ascontiguousarray(image).copy()
    style = style or RenderStyle.for_image(*image.shape[:2])
    for symbol in symbols:
        draw_symbol(canvas, symbol, style)
    return canvas


def _reach(symbol: Symbol, style: RenderStyle) -> int:
    """[px] how far paint reaches beyond the symbol's anchor points."""
    if isinstance(symbol, StraightArrow):
        return max(style.arrow_head_width, style.arrow_width + style.arrow_outline_extra) + 1
    if isinstance(symbol, RotatingArrow):
        barb = max(4.0, 0.4 * style.rotation_radius)  # head barbs reach past the arc by barb · sin 30°
        return style.rotation_radius + int(math.ceil(0.5 * barb)) + style.outline + 2
    if isinstance(symbol, DualCrosshair | Crosshair):
        return style.crosshair_size // 2 + style.outline
    if isinstance(symbol, GripperState):
        w, h = _text_size(symbol.state, style)
        return max(w, h) // 2 + style.font_thickness + 2
    return style.icon_size // 2 + 1


def symbol_box(symbol: Symbol, style: RenderStyle) -> Box:
    """Pixel box ``(u0, v0, u1, v1)`` covering everything :func:`draw_symbol` paints (not clipped)."""
    pad = _reach(symbol, style)
    us = [p[0] for p in symbol.points()]
    vs = [p[1] for p in symbol.points()]
    return (
        int(math.floor(min(us))) - pad,
        int(math.floor(min(vs))) - pad,
        int(math.ceil(max(us))) + pad + 1,
        int(math.ceil(max(vs))) + pad + 1,
    )
