"""ViFailback visual symbols: typed values (pixels), an OpenCV renderer and the VSF observation mask."""

from failforward.symbols.types import (
    SYMBOL_KINDS,
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

__all__ = [
    "SYMBOL_KINDS",
    "Crosshair",
    "DualCrosshair",
    "GripperState",
    "Lock",
    "Point",
    "Rewind",
    "RotatingArrow",
    "StraightArrow",
    "Symbol",
]
