"""Symbol renderer: golden images (one per symbol kind + a VSF frame) and drawn-pixel bounds.

Regenerate the goldens after an intended drawing change with
``FAILFORWARD_UPDATE_GOLDEN=1 pytest tests/supervisor/test_sup_symbols_render.py`` and look at them.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failforward.errors import ShapeError
from failforward.symbols.render import render_symbols, symbol_box
from failforward.symbols.style import RenderStyle
from failforward.symbols.types import (
    Crosshair,
    DualCrosshair,
    GripperState,
    Lock,
    Rewind,
    RotatingArrow,
    StraightArrow,
)
from failforward.symbols.vsf import vsf_head_image

GOLDEN = Path(__file__).parent / "golden"
H, W = 240, 320
CASES = {
    "straight_arrow": [
        StraightArrow(start=(40.0, 200.0), end=(200.0, 90.0), colors=("green", "red")),
        StraightArrow(start=(260.0, 210.0), end=(260.0, 120.0), colors=("blue",)),
    ],
    "rotating_arrow": [
        RotatingArrow(center=(110.0, 120.0), direction="clockwise"),
        RotatingArrow(center=(210.0, 120.0), direction="counter-clockwise"),
    ],
    "dual_crosshair": [DualCrosshair(start=(50.0, 50.0), end=(250.0, 180.0))],
    "crosshair": [Crosshair(position=(160.0, 120.0))],
    "gripper_state": [
        GripperState(position=(110.0, 120.0), state="ON"),
        GripperState(position=(210.0, 120.0), state="OFF"),
    ],
    "lock": [Lock(position=(160.0, 120.0))],
    "rewind": [Rewind(position=(160.0, 120.0))],
}


def _background() -> np.ndarray:
    """Two flat halves (greenish table, grey floor): symbols show on both and the PNGs stay small."""
    image = np.full((H, W, 3), 90, np.uint8)
    image[:, : W // 2] = (60, 110, 70)
    return image


def _compare(name: str, image: np.ndarray) -> None:
    path = GOLDEN / f"{name}.png"
    if os.environ.get("FAILFORWARD_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    assert path.exists(), f"missing golden {path}; generate it with FAILFORWARD_UPDATE_GOLDEN=1"
    golden = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    diff = np.abs(golden.astype(np.int16) - image.astype(np.int16)).max(axis=-1)
    # Tolerance for anti-aliasing differences across OpenCV builds: few pixels off, none by much on average.
    assert (diff > 48).mean() < 0.002, f"{name}: {(diff > 48).sum()} pixels differ from the golden"
    assert diff.mean() < 0.5


@pytest.mark.parametrize("name", sorted(CASES))
def test_symbol_matches_golden(name: str) -> None:
    _compare(name, render_symbols(_background(), CASES[name]))


def test_vsf_head_image_matches_golden() -> None:
    symbols = [
        StraightArrow(start=(60.0, 180.0), end=(140.0, 140.0), colors=("red",)),
        GripperState(position=(150.0, 100.0), state="OFF"),
    ]
    _compare("vsf_head", vsf_head_image(_background(), symbols))


def test_each_symbol_changes_the_image_and_leaves_the_input_alone() -> None:
    background = _background()
    before = background.copy()
    for symbols in CASES.values():
        drawn = render_symbols(background, symbols)
        assert (drawn != background).any(axis=-1).sum() > 50
    assert np.array_equal(background, before)


def test_release_sizes_at_640_pixels() -> None:
    style = RenderStyle.for_image(480, 640)
    assert (style.arrow_width, style.rotation_radius, style.crosshair_size, style.crosshair_gap) == (5, 30, 30, 12)
    assert (style.icon_size, style.font_scale, style.arrow_head_length, style.arrow_head_width) == (220, 0.7, 16, 10)


def test_bad_images_raise_shape_error() -> None:
    with pytest.raises(ShapeError):
        render_symbols(np.zeros((4, 4), np.uint8), [])
    with pytest.raises(ShapeError):
        render_symbols(np.zeros((4, 4, 3), np.float32), [])


_u = st.floats(0, W)
_v = st.floats(0, H)
_symbols = st.one_of(
    st.builds(
        StraightArrow,
        start=st.tuples(_u, _v),
        end=st.tuples(_u, _v),
        colors=st.lists(st.sampled_from(["red", "green", "blue"]), min_size=1, max_size=3).map(tuple),
    ),
    st.builds(RotatingArrow, center=st.tuples(_u, _v), direction=st.sampled_from(["clockwise", "counter-clockwise"])),
    st.builds(DualCrosshair, start=st.tuples(_u, _v), end=st.tuples(_u, _v)),
    st.builds(Crosshair, position=st.tuples(_u, _v)),
    st.builds(GripperState, position=st.tuples(_u, _v), state=st.sampled_from(["ON", "OFF"])),
    st.builds(Lock, position=st.tuples(_u, _v)),
    st.builds(Rewind, position=st.tuples(_u, _v)),
)


@settings(max_examples=150, deadline=None)
@given(_symbols)
def test_everything_drawn_lies_inside_the_symbol_box(symbol) -> None:
    black = np.zeros((H, W, 3), np.uint8)
    drawn = render_symbols(black, [symbol])
    rows, cols = np.nonzero(drawn.any(axis=-1))
    u0, v0, u1, v1 = symbol_box(symbol, RenderStyle.for_image(H, W))
    assert np.all((cols >= u0) & (cols < u1) & (rows >= v0) & (rows < v1))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_symbols_refuse_non_finite_points(bad: float) -> None:
    with pytest.raises(ValueError):
        Crosshair(position=(bad, 1.0))
    with pytest.raises(ValueError):
        StraightArrow(start=(0.0, 0.0), end=(1.0, bad), colors=("red",))
    with pytest.raises(ValueError):
        StraightArrow(start=(0.0, 0.0), end=(1.0, 1.0), colors=())
