"""Visual-prompt code lines ↔ symbols: ``Draw <Name>: <python dict literal>``.

The model writes coordinates normalized to 0–1000 in both axes; a point ``[x, y]`` becomes the pixel
``(u, v) = (x / 1000 · W, y / 1000 · H)`` of the ``W x H`` frame it refers to (origin top-left). Raw
human annotations use pixels (``coordinates="pixels"``). Dicts are read with :func:`ast.literal_eval`
on a length-bounded string (never ``eval``); every value is type- and range-checked.

Example:
    >>> parse_symbol_line("Draw Crosshair: {'position': [500, 250]}", width=320, height=240)
    Crosshair(kind='crosshair', position=(160.0, 60.0))
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from typing import Any, Literal

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

CoordinateMode = Literal["normalized", "pixels"]
NORMALIZED_MAX = 1000.0
MAX_LINE_CHARS = 1000

_LINE = re.compile(r"^\s*[-*]?\s*draw\s+([a-z][a-z \-]{0,40}?)\s*:\s*(\{.*\})", re.I)


class SymbolCodeError(ValueError):
    """One visual-prompt line could not be read (the parser logs it and skips the line)."""


class _Frame:
    """Converts model coordinates to pixels of one ``width x height`` frame, rejecting anything outside."""

    def __init__(self, width: int, height: int, mode: CoordinateMode) -> None:
        self.width, self.height, self.mode = width, height, mode

    def point(self, params: dict[str, Any], key: str) -> Point:
        value = params.get(key)
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise SymbolCodeError(f"{key!r} must be a pair [x, y], got {value!r}")
        x, y = (self._number(key, c) for c in value)
        if self.mode == "normalized":
            if not (0.0 <= x <= NORMALIZED_MAX and 0.0 <= y <= NORMALIZED_MAX):
                raise SymbolCodeError(f"{key!r} = [{x:g}, {y:g}] is outside the 0–1000 normalized image")
            u, v = x / NORMALIZED_MAX * self.width, y / NORMALIZED_MAX * self.height
        else:
            u, v = x, y
            if not (0.0 <= u <= self.width and 0.0 <= v <= self.height):
                raise SymbolCodeError(f"{key!r} = [{u:g}, {v:g}] px is outside the {self.width}x{self.height} image")
        return (float(u), float(v))

    @staticmethod
    def _number(key: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SymbolCodeError(f"{key!r} coordinates must be numbers, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise SymbolCodeError(f"{key!r} coordinates must be finite, got {value!r}")
        return number


def _word(params: dict[str, Any], key: str, valid: tuple[str, ...], default: str | None = None) -> str:
    value = params.get(key, default)
    if not isinstance(value, str):
        raise SymbolCodeError(f"{key!r} must be one of {valid}, got {value!r}")
    cleaned = value.strip().lower().replace("counterclockwise", "counter-clockwise")
    cleaned = cleaned.replace("anticlockwise", "counter-clockwise").replace("anti-clockwise", "counter-clockwise")
    if cleaned not in valid:
        raise SymbolCodeError(f"{key!r} must be one of {valid}, got {value!r}")
    return cleaned


def _colors(params: dict[str, Any]) -> tuple[str, ...]:
    value = params.get("color", params.get("colors", ["green"]))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise SymbolCodeError(f"'color' must be a list of colour names, got {value!r}")
    colors = tuple(c.strip().lower() for c in value if isinstance(c, str) and c.strip().lower() in _AXIS_COLORS)
    if not colors:
        raise SymbolCodeError(f"'color' has none of red, green, blue: {value!r}")
    return colors


_AXIS_COLORS = ("red", "green", "blue")

_BUILDERS: dict[str, Callable[[dict[str, Any], _Frame], Symbol]] = {
    "straight arrow": lambda p, f: StraightArrow(
        start=f.point(p, "start_point"), end=f.point(p, "end_point"), colors=_colors(p)
    ),
    "rotating arrow": lambda p, f: RotatingArrow(
        center=f.point(p, "center"), direction=_word(p, "direction", ("clockwise", "counter-clockwise"), "clockwise")
    ),
    "dual crosshair": lambda p, f: DualCrosshair(start=f.point(p, "start_point"), end=f.point(p, "end_point")),
    "crosshair": lambda p, f: Crosshair(position=f.point(p, "position")),
    "on": lambda p, f: GripperState(position=f.point(p, "position"), state="ON"),
    "off": lambda p, f: GripperState(position=f.point(p, "position"), state="OFF"),
    "lock": lambda p, f: Lock(position=f.point(p, "position")),
    "rewind": lambda p, f: Rewind(position=f.point(p, "position")),
}
SYMBOL_NAMES = tuple(_BUILDERS)


def _literal_dict(text: str) -> dict[str, Any]:
    if len(text) > MAX_LINE_CHARS:
        raise SymbolCodeError(f"symbol parameters longer than {MAX_LINE_CHARS} characters")
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise SymbolCodeError(f"unreadable parameters ({type(exc).__name__})") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise SymbolCodeError("parameters must be a dict with string keys")
    return value


def parse_symbol_line(line: str, *, width: int, height: int, coordinates: CoordinateMode = "normalized") -> Symbol:
    """Read one ``Draw <Name>: {...}`` line into a symbol in pixels of a ``width x height`` frame.

    Raises:
        SymbolCodeError: unknown name, unreadable dict, missing/invalid values, or a point outside the image.
    """
    match = _LINE.match(line[: MAX_LINE_CHARS + 100])
    if match is None:
        raise SymbolCodeError("not a 'Draw <Name>: {...}' line")
    name = re.sub(r"\s+", " ", match.group(1).strip().lower())
    builder = _BUILDERS.get(name)
    if builder is None:
        raise SymbolCodeError(f"unknown symbol 'Draw {match.group(1).strip()}'; known: {', '.join(SYMBOL_NAMES)}")
    params = _literal_dict(match.group(2))
    try:
        return builder(params, _Frame(width, height, coordinates))
    except SymbolCodeError:
        raise
    except ValueError as exc:  # pydantic validation
        raise SymbolCodeError(f"invalid {name!r} values: {exc.__class__.__name__}") from None


def _normalized(point: Point, width: int, height: int) -> list[int]:
    x = round(min(max(point[0] / width * NORMALIZED_MAX, 0.0), NORMALIZED_MAX))
    y = round(min(max(point[1] / height * NORMALIZED_MAX, 0.0), NORMALIZED_MAX))
    return [int(x), int(y)]


def format_symbol_line(symbol: Symbol, *, width: int, height: int) -> str:
    """Write a symbol (pixels of a ``width x height`` frame) as the model would: 0–1000 coordinates."""

    def n(p: Point) -> list[int]:
        return _normalized(p, width, height)

    if isinstance(symbol, StraightArrow):
        body: dict[str, Any] = {"start_point": n(symbol.start), "end_point": n(symbol.end)}
        body["color"] = list(symbol.colors)
        return f"Draw Straight Arrow: {body}"
    if isinstance(symbol, RotatingArrow):
        return f"Draw Rotating Arrow: { ({'center': n(symbol.center), 'direction': symbol.direction}) }"
    if isinstance(symbol, DualCrosshair):
        return f"Draw Dual Crosshair: { ({'start_point': n(symbol.start), 'end_point': n(symbol.end)}) }"
    names = {Crosshair: "Crosshair", Lock: "Lock", Rewind: "Rewind"}
    if isinstance(symbol, GripperState):
        return f"Draw {symbol.state}: { ({'position': n(symbol.position)}) }"
    return f"Draw {names[type(symbol)]}: { ({'position': n(symbol.position)}) }"
