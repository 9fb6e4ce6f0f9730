"""VSF observation transform: ROI = symbols' box + 50 px (at least 50 px), outside zeroed, idle wrist zeroed."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.errors import ShapeError
from failforward.symbols.render import symbol_box
from failforward.symbols.style import RenderStyle
from failforward.symbols.types import Crosshair, GripperState, StraightArrow
from failforward.symbols.vsf import symbols_roi, vsf_head_image, vsf_observation
from failforward.types import Observation

H, W = 480, 640


def _obs() -> Observation:
    images = {
        "top": np.full((H, W, 3), 100, np.uint8),
        "left_wrist": np.full((48, 64, 3), 7, np.uint8),
        "right_wrist": np.full((48, 64, 3), 9, np.uint8),
    }
    return Observation(timestamp=1.0, joint_positions=np.zeros(14), joint_velocities=np.zeros(14), images=images)


def test_roi_is_the_union_of_symbol_boxes_grown_by_the_margin() -> None:
    a, b = Crosshair(position=(200.0, 200.0)), StraightArrow(start=(300.0, 250.0), end=(400.0, 260.0), colors=("red",))
    style = RenderStyle.for_image(H, W)
    ba, bb = symbol_box(a, style), symbol_box(b, style)
    roi = symbols_roi([a, b], H, W)
    assert roi == (min(ba[0], bb[0]) - 50, min(ba[1], bb[1]) - 50, max(ba[2], bb[2]) + 50, max(ba[3], bb[3]) + 50)


def test_roi_is_at_least_min_size_and_clipped_to_the_image() -> None:
    tiny = Crosshair(position=(320.0, 240.0))
    u0, v0, u1, v1 = symbols_roi([tiny], H, W, margin=0, min_size=50)
    assert (u1 - u0, v1 - v0) == (50, 50) and u0 <= 320 <= u1 and v0 <= 240 <= v1
    assert symbols_roi([Crosshair(position=(0.0, 0.0))], H, W) == (0, 0, 50 + 15 + 4 + 1, 50 + 15 + 4 + 1)
    assert symbols_roi([], H, W) is None


def test_head_image_is_zero_outside_the_roi_and_unchanged_inside_away_from_symbols() -> None:
    symbol = GripperState(position=(320.0, 240.0), state="OFF")
    image = np.full((H, W, 3), 100, np.uint8)
    masked = vsf_head_image(image, [symbol])
    u0, v0, u1, v1 = symbols_roi([symbol], H, W)
    outside = np.ones((H, W), bool)
    outside[v0:v1, u0:u1] = False
    assert not masked[outside].any()
    assert (masked[v0 + 2, u0 + 2] == 100).all() and (masked[v1 - 2, u1 - 2] == 100).all()
    assert not vsf_head_image(image, []).any()


@pytest.mark.parametrize(
    ("active", "zeroed"),
    [({"right"}, {"left_wrist"}), ({"left"}, {"right_wrist"}), ({"left", "right"}, set()), (set(), set())],
)
def test_idle_wrist_is_zeroed(active: set, zeroed: set) -> None:
    obs = _obs()
    out = vsf_observation(obs, [Crosshair(position=(100.0, 100.0))], active)
    for cam in ("left_wrist", "right_wrist"):
        assert (not out.images[cam].any()) == (cam in zeroed)
    assert out.blanked == zeroed  # black on purpose: the policy must not take it for a dead camera
    assert obs.images["left_wrist"].all() and obs.images["top"].all()  # input untouched
    assert out.timestamp == obs.timestamp and np.array_equal(out.joint_positions, obs.joint_positions)


def test_missing_head_camera_is_a_shape_error() -> None:
    with pytest.raises(ShapeError, match="head camera 'front'"):
        vsf_observation(_obs(), [], {"left"}, head_camera="front")


def test_only_cameras_of_the_observation_can_be_blanked() -> None:
    image = np.full((4, 4, 3), 50, np.uint8)
    assert Observation(0.0, np.zeros(2), np.zeros(2), images={"top": image}, blanked=frozenset({"top"})).blanked
    with pytest.raises(ShapeError, match="blanked cameras"):
        Observation(0.0, np.zeros(2), np.zeros(2), images={"top": image}, blanked=frozenset({"left_wrist"}))
