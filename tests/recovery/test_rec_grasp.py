"""The geometric top-down grasp estimator on synthetic depth (known answers) and on the simulated cube."""

from __future__ import annotations

import numpy as np
import pytest
from rec_helpers import HEIGHT, WIDTH, cube_centre, cube_pixel

from failforward.recovery.camera import MujocoCamera
from failforward.recovery.errors import GraspNotFoundError
from failforward.recovery.grasp import TopDownGraspEstimator

F, H, W = 300.0, 200, 200
K = np.array([[F, 0.0, (W - 1) / 2], [0.0, F, (H - 1) / 2], [0.0, 0.0, 1.0]])
CAMERA_Z = 0.8  # [m] above the table, looking straight down
LOOKING_DOWN = np.array([[1.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, -1.0, CAMERA_Z], [0, 0, 0, 1.0]])


def _box_depth(centre: np.ndarray, size: tuple[float, float, float], yaw: float) -> np.ndarray:
    """Depth ``[H, W]`` [m] of a box (``size`` [m], yawed by ``yaw`` [rad]) on a table at z = 0."""
    vv, uu = np.mgrid[0:H, 0:W]
    x = (uu - K[0, 2]) / F * CAMERA_Z  # table point under each pixel (camera x = world x, camera y = −world y)
    y = -(vv - K[1, 2]) / F * CAMERA_Z
    c, s = np.cos(yaw), np.sin(yaw)
    local_x = c * (x - centre[0]) + s * (y - centre[1])
    local_y = -s * (x - centre[0]) + c * (y - centre[1])
    inside = (np.abs(local_x) <= size[0] / 2) & (np.abs(local_y) <= size[1] / 2)
    return np.where(inside, CAMERA_Z - size[2], CAMERA_Z).astype(np.float32)


def _pixel(point: np.ndarray) -> tuple[float, float]:
    return float(K[0, 2] + 0.5 + F * point[0] / CAMERA_Z), float(K[1, 2] + 0.5 - F * point[1] / CAMERA_Z)


@pytest.mark.parametrize("yaw", [0.0, 0.5, -1.1])
def test_an_elongated_box_is_grasped_across_its_narrow_side_at_its_centre(yaw: float) -> None:
    centre = np.array([0.03, -0.02])
    depth = _box_depth(centre, (0.08, 0.025, 0.04), yaw)
    grasp = TopDownGraspEstimator().estimate(depth, K, LOOKING_DOWN, _pixel(centre + 0.01))
    np.testing.assert_allclose(grasp.position[:2], centre, atol=0.004)
    assert grasp.position[2] == pytest.approx(0.04 - 0.016, abs=0.003)
    narrow = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    assert abs(grasp.finger_axis @ narrow) > 0.99
    assert grasp.width == pytest.approx(0.025, abs=0.006)
    np.testing.assert_allclose(grasp.approach, [0.0, 0.0, -1.0])


def test_nothing_on_the_table_or_an_object_too_wide_is_refused() -> None:
    estimator = TopDownGraspEstimator()
    flat = np.full((H, W), CAMERA_Z, dtype=np.float32)
    with pytest.raises(GraspNotFoundError, match="above the support"):
        estimator.estimate(flat, K, LOOKING_DOWN, (100.0, 100.0))
    wide = _box_depth(np.zeros(2), (0.12, 0.11, 0.03), 0.0)
    with pytest.raises(GraspNotFoundError, match="wide"):
        estimator.estimate(wide, K, LOOKING_DOWN, _pixel(np.zeros(2)))
    with pytest.raises(GraspNotFoundError, match="outside"):
        estimator.estimate(flat, K, LOOKING_DOWN, (W + 5.0, 10.0))


def test_the_simulated_cube_is_grasped_at_its_centre(driver) -> None:
    camera = MujocoCamera(driver.scene, "top")
    depth = driver.render("top", depth=True)
    grasp = TopDownGraspEstimator().estimate(
        depth, camera.intrinsics(HEIGHT, WIDTH), camera.world_from_camera(), cube_pixel(driver, HEIGHT, WIDTH)
    )
    centre = cube_centre(driver)
    assert np.linalg.norm(grasp.position[:2] - centre[:2]) < 0.006
    assert grasp.position[2] == pytest.approx(centre[2] + 0.02 - 0.016, abs=0.004)
    assert grasp.width == pytest.approx(0.04, abs=0.008)


@pytest.mark.parametrize("yaw", [0.3, 0.7, -0.4])
def test_a_square_box_is_grasped_on_two_opposite_faces_not_on_its_corners(yaw: float) -> None:
    depth = _box_depth(np.zeros(2), (0.04, 0.04, 0.04), yaw)
    grasp = TopDownGraspEstimator().estimate(depth, K, LOOKING_DOWN, _pixel(np.zeros(2)))
    faces = np.array([[np.cos(yaw), np.sin(yaw), 0.0], [-np.sin(yaw), np.cos(yaw), 0.0]])
    assert np.max(np.abs(faces @ grasp.finger_axis)) > 0.99
    assert grasp.width == pytest.approx(0.04, abs=0.006)
