"""The VSF observation transform (ViFailback supplement 6.2): what the symbol-following policy sees.

The symbols are drawn on the head image; the region of interest (ROI) is the bounding box of all drawn
symbols grown by ``margin`` (50 px) on each side and at least ``min_size`` (50 px) wide and high; every
head pixel outside it is set to zero. The wrist image of each arm that gets no guidance is zeroed.

Example:
    >>> masked = vsf_observation(obs, diagnosis.symbols, active_arms={"right"})
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Literal

import numpy as np

from failforward.errors import ShapeError
from failforward.symbols.render import Box, render_symbols, symbol_box
from failforward.symbols.style import RenderStyle
from failforward.symbols.types import Symbol
from failforward.types import Observation

Arm = Literal["left", "right"]
ALOHA_WRIST_CAMERAS: dict[Arm, str] = {"left": "left_wrist", "right": "right_wrist"}


def _grow(lo: int, hi: int, margin: int, min_size: int, limit: int) -> tuple[int, int]:
    lo, hi = lo - margin, hi + margin
    if hi - lo < min_size:
        extra = min_size - (hi - lo)
        lo, hi = lo - extra // 2, hi + extra - extra // 2
    return max(0, lo), min(limit, hi)


def symbols_roi(
    symbols: Iterable[Symbol],
    height: int,
    width: int,
    *,
    margin: int = 50,
    min_size: int = 50,
    style: RenderStyle | None = None,
) -> Box | None:
    """ROI ``(u0, v0, u1, v1)`` in pixels of an ``height x width`` image, clipped to it; ``None`` if no symbols."""
    style = style or RenderStyle.for_image(height, width)
    boxes = [symbol_box(s, style) for s in symbols]
    if not boxes:
        return None
    u0, v0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    u1, v1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    u0, u1 = _grow(u0, u1, margin, min_size, width)
    v0, v1 = _grow(v0, v1, margin, min_size, height)
    if u0 >= u1 or v0 >= v1:
        return None
    return u0, v0, u1, v1


def vsf_head_image(image: np.ndarray, symbols: Iterable[Symbol], *, margin: int = 50, min_size: int = 50) -> np.ndarray:
    """Head image ``uint8 [H, W, 3]`` with the symbols drawn and everything outside their ROI zeroed.

    Without symbols (or with all of them off-image) the result is all zeros: there is nothing to follow.
    """
    symbols = tuple(symbols)
    height, width = image.shape[:2]
    drawn = render_symbols(image, symbols)
    masked = np.zeros_like(drawn)
    roi = symbols_roi(symbols, height, width, margin=margin, min_size=min_size)
    if roi is not None:
        u0, v0, u1, v1 = roi
        masked[v0:v1, u0:u1] = drawn[v0:v1, u0:u1]
    return masked


def vsf_observation(
    obs: Observation,
    symbols: Iterable[Symbol],
    active_arms: Collection[Arm],
    *,
    head_camera: str = "top",
    wrist_cameras: Mapping[Arm, str] = ALOHA_WRIST_CAMERAS,
    margin: int = 50,
    min_size: int = 50,
) -> Observation:
    """The observation a symbol-following policy gets: masked head image, idle arms' wrist images zeroed (and
    listed in ``Observation.blanked``, so the policy does not take them for dead cameras).

    Args:
        obs: the current observation; must contain ``head_camera``.
        symbols: symbols in pixels of the head image.
        active_arms: arms the guidance addresses; when empty, no wrist image is zeroed (nothing says which
            arm is idle).
        wrist_cameras: arm → wrist camera name; cameras absent from ``obs`` are ignored.
    """
    if head_camera not in obs.images:
        raise ShapeError(f"VSF needs the head camera {head_camera!r}; the observation has {sorted(obs.images)}.")
    images = dict(obs.images)
    images[head_camera] = vsf_head_image(images[head_camera], symbols, margin=margin, min_size=min_size)
    idle = {camera for arm, camera in wrist_cameras.items() if active_arms and arm not in active_arms}
    blanked = idle & images.keys()
    for camera in blanked:
        images[camera] = np.zeros_like(images[camera])
    return replace(obs, images=images, blanked=obs.blanked | blanked)
