"""The supervisor's symbols in 3-D: at the depth of their anchors like PMC reads them, else on the image plane."""

from __future__ import annotations

import numpy as np
import pytest
from rec_helpers import HEIGHT, WIDTH, cube_centre, cube_pixel

from failforward.recovery.camera import MujocoCamera
from failforward.recovery.symbol_shapes import IMAGE_PLANE_M, symbol_shapes
from failforward.symbols.style import RenderStyle
from failforward.symbols.types import Crosshair, DualCrosshair, GripperState, Lock, Rewind, RotatingArrow, StraightArrow

CUBE_HALF = 0.02  # [m]
K = np.array([[100.0, 0.0, 63.5], [0.0, 100.0, 47.5], [0.0, 0.0, 1.0]])  # a 128 x 96 pinhole [px]
LOOKING_DOWN = np.array([[1.0, 0, 0, 0.0], [0, -1.0, 0, 0.5], [0, 0, -1.0, 1.0], [0, 0, 0, 1.0]])  # 1 m above


def flat(depth_m: float) -> np.ndarray:
    return np.full((96, 128), depth_m, dtype=np.float32)


def test_a_crosshair_on_the_cube_stands_on_its_top_face(driver) -> None:
    """With the simulated head camera's depth and pose the crosshair's centre is on the cube, in world."""
    camera = MujocoCamera(driver.scene, "top")
    shapes = symbol_shapes(
        [Crosshair(position=cube_pixel(driver, HEIGHT, WIDTH))],
        camera.intrinsics(HEIGHT, WIDTH),
        camera="top",
        image_size=(HEIGHT, WIDTH),
        depth=driver.render("top", depth=True),
        world_from_camera=camera.world_from_camera(),
    )
    assert shapes.frame == "world"
    [cross] = shapes.shapes
    centre, cube = cross.points.mean(axis=0), cube_centre(driver)
    assert cross.kind == "segments" and cross.measured and cross.points.shape == (4, 3)
    assert np.linalg.norm(centre[:2] - cube[:2]) < 0.01
    assert centre[2] == pytest.approx(cube[2] + CUBE_HALF, abs=0.005)  # the top face the camera sees


def test_each_symbol_stands_at_the_depth_of_its_anchor() -> None:
    depth = flat(0.8)
    depth[:, 64:] = 0.6  # a step: the right half of the image is 20 cm nearer
    arrow = StraightArrow(start=(30.0, 40.0), end=(100.0, 40.0), colors=("green",))
    dual = DualCrosshair(start=(30.0, 40.0), end=(100.0, 40.0))
    shapes = symbol_shapes([arrow, dual], K, camera="top", image_size=(96, 128), depth=depth)
    assert shapes.frame == "top"  # no pose: the camera's optical frame
    by_kind = {s.kind: s for s in shapes.shapes}
    assert by_kind["arrow"].points[:, 2] == pytest.approx([0.8, 0.8])  # both ends at the start's depth, as PMC
    assert by_kind["polyline"].points[:, 2] == pytest.approx([0.8, 0.6])  # each crosshair at its own
    assert by_kind["arrow"].rgb == (0.0, 1.0, 0.0) and by_kind["text"].text == "green"


def test_a_pose_puts_them_in_world() -> None:
    shapes = symbol_shapes(
        [Lock(position=(64.0, 48.0))],
        K,
        camera="top",
        image_size=(96, 128),
        depth=flat(1.0),
        world_from_camera=LOOKING_DOWN,
    )
    point = next(s for s in shapes.shapes if s.kind == "point")
    assert shapes.frame == "world" and point.points[0] == pytest.approx([0.0, 0.5, 0.0])  # on z = 0, 1 m below


@pytest.mark.parametrize(
    "depth",
    [None, flat(np.nan), flat(-1.0)],
    ids=["no depth image", "no reading", "invalid reading"],
)
def test_without_depth_symbols_lie_on_the_image_plane(depth) -> None:
    symbols = [GripperState(position=(64.0, 48.0), state="OFF"), Rewind(position=(10.0, 10.0))]
    shapes = symbol_shapes(symbols, K, camera="left_wrist", image_size=(96, 128), depth=depth)
    assert shapes.frame == "left_wrist"
    assert all(not s.measured for s in shapes.shapes)
    assert all(s.points[:, 2] == pytest.approx(IMAGE_PLANE_M) for s in shapes.shapes)
    assert [s.text for s in shapes.shapes if s.kind == "text"] == ["OFF", "rewind"]


def test_one_anchor_without_depth_puts_the_whole_symbol_on_the_image_plane() -> None:
    depth = flat(0.8)
    depth[:, 100:] = np.nan
    inside, across = Crosshair(position=(30.0, 40.0)), DualCrosshair(start=(30.0, 40.0), end=(110.0, 40.0))
    outside = Crosshair(position=(200.0, 40.0))  # beyond the 128 px image
    shapes = symbol_shapes([inside, across, outside], K, camera="top", image_size=(96, 128), depth=depth)
    assert [(s.symbol, s.measured) for s in shapes.shapes] == [(0, True), (1, False), (1, False), (2, False)]


def test_sizes_follow_the_2d_renderer_at_the_symbols_depth() -> None:
    style = RenderStyle.for_image(96, 128)
    for depth_m in (0.5, 1.0):
        shapes = symbol_shapes(
            [Crosshair(position=(64.0, 48.0)), RotatingArrow(center=(64.0, 48.0), direction="clockwise")],
            K,
            camera="top",
            image_size=(96, 128),
            depth=flat(depth_m),
        )
        cross, arc = shapes.shapes[0].points, shapes.shapes[1].points
        span = np.linalg.norm(cross[1] - cross[0])  # the horizontal arm
        assert span == pytest.approx(style.crosshair_size * depth_m / K[0, 0])
        centre = np.array([0.0, 0.0, depth_m])  # pixel (64, 48) is the principal point (index convention)
        radius = np.linalg.norm(arc - centre, axis=1)
        assert radius == pytest.approx(style.rotation_radius * depth_m / K[0, 0])


def test_the_rotating_arrow_turns_as_drawn_in_the_image() -> None:
    """Its head ends the arc: clockwise in the image (v down) runs from +u towards +v."""
    arcs = {
        direction: symbol_shapes(
            [RotatingArrow(center=(64.0, 48.0), direction=direction)], K, camera="top", image_size=(96, 128)
        ).shapes[0]
        for direction in ("clockwise", "counter-clockwise")
    }
    clockwise, counter = arcs["clockwise"].points, arcs["counter-clockwise"].points
    assert clockwise[1, 1] > clockwise[0, 1] and counter[1, 1] < counter[0, 1]  # y (image down) grows clockwise
