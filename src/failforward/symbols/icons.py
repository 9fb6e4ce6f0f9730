"""The two icon symbols drawn with OpenCV primitives (the release pastes emoji PNGs we do not ship).

- Lock → a "prohibited" sign (🚫): red ring with a diagonal bar.
- Rewind → a "fast reverse" button (⏪): blue rounded square with two white left-pointing triangles.
Both fill a ``size x size`` box centred on the symbol position; images are RGB ``uint8 [H, W, 3]``.
"""

from __future__ import annotations

import cv2
import numpy as np

from failforward.symbols.style import PROHIBITED_RED, REWIND_BLUE, WHITE

_AA = cv2.LINE_AA


def draw_prohibited(image: np.ndarray, center: tuple[int, int], size: int) -> None:
    """Red ring (outer diameter ≈ 0.9 · size) crossed by a bar from top-left to bottom-right."""
    radius = max(2, int(0.42 * size))
    thick = max(1, int(0.11 * size))
    cv2.circle(image, center, radius, PROHIBITED_RED, thick, _AA)
    d = int(radius * 0.7071)
    a, b = (center[0] - d, center[1] - d), (center[0] + d, center[1] + d)
    cv2.line(image, a, b, PROHIBITED_RED, thick, _AA)


def draw_fast_reverse(image: np.ndarray, center: tuple[int, int], size: int) -> None:
    """Blue rounded square (≈ 0.84 · size) with two white triangles pointing left."""
    half = max(2, int(0.42 * size))
    corner = max(1, half // 4)
    cx, cy = center
    x0, y0, x1, y1 = cx - half, cy - half, cx + half, cy + half
    cv2.rectangle(image, (x0 + corner, y0), (x1 - corner, y1), REWIND_BLUE, -1, _AA)
    cv2.rectangle(image, (x0, y0 + corner), (x1, y1 - corner), REWIND_BLUE, -1, _AA)
    for px, py in (
        (x0 + corner, y0 + corner),
        (x1 - corner, y0 + corner),
        (x0 + corner, y1 - corner),
        (x1 - corner, y1 - corner),
    ):
        cv2.circle(image, (px, py), corner, REWIND_BLUE, -1, _AA)
    h, w = int(0.45 * half), int(0.5 * half)
    for tip in (cx - w, cx):
        triangle = np.array([[tip, cy], [tip + w, cy - h], [tip + w, cy + h]], np.int32)
        cv2.fillPoly(image, [triangle], WHITE, _AA)
