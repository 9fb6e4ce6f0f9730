"""Sizes and colours of the rendered symbols, following the ViFailback release's renderer.

The release draws on 640x480 head-camera frames with fixed pixel sizes (crosshair 30 px, rotating arrow
radius 30 px, icons 220 px, ON/OFF in Hershey simplex 0.7) and a straight-arrow width of
``max(4, 0.008 · max(H, W))``. :meth:`RenderStyle.for_image` keeps those sizes on a 640-pixel-wide
image and scales them with ``max(H, W) / 640`` elsewhere, so symbols cover the same fraction of the view.
Colours are RGB (our images are RGB; the release's BGR tuples are converted).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

RGB = tuple[int, int, int]
AXIS_RGB: dict[str, RGB] = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}
BLACK: RGB = (0, 0, 0)
WHITE: RGB = (255, 255, 255)
PROHIBITED_RED: RGB = (230, 33, 41)
REWIND_BLUE: RGB = (54, 129, 235)
REFERENCE_SIZE = 640  # [px] the release's frames are 640x480


@dataclass(frozen=True)
class RenderStyle:
    """Pixel sizes of every symbol part (all in [px] except the font scale)."""

    arrow_width: int = 5
    arrow_outline_extra: int = 2
    arrow_head_length: int = 16
    arrow_head_width: int = 10
    arrow_segment: float = 10.0
    rotation_radius: int = 30
    rotation_arc_deg: float = 270.0
    outline: int = 4
    fill: int = 2
    crosshair_size: int = 30
    crosshair_gap: int = 12
    dash: int = 10
    font_scale: float = 0.7
    font_thickness: int = 2
    icon_size: int = 220

    @classmethod
    def for_image(cls, height: int, width: int) -> RenderStyle:
        """The release's sizes for a ``height x width`` image (identical at 640 px, scaled otherwise)."""
        base = max(height, width)
        s = base / REFERENCE_SIZE

        def px(value: float, least: int = 1) -> int:
            return max(least, int(round(value * s)))

        return replace(
            cls(),
            arrow_width=max(4, int(base * 0.008)) if s >= 1 else max(2, int(round(5 * s))),
            arrow_head_length=max(px(15), int(base * 0.025)),
            arrow_head_width=max(px(10), int(base * 0.015)),
            arrow_segment=10.0 * s,
            rotation_radius=px(30, 4),
            outline=px(4, 2),
            fill=px(2),
            crosshair_size=px(30, 6),
            crosshair_gap=px(12, 2),
            dash=px(10, 2),
            font_scale=0.7 * s,
            font_thickness=px(2),
            icon_size=px(220, 8),
        )
