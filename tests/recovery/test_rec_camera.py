"""Back-projection with the real simulated head camera and the calibrated-camera model."""

from __future__ import annotations

import numpy as np
import pytest
from rec_helpers import HEIGHT, WIDTH, cube_centre, cube_pixel

from failforward.calibration.camera import CameraCalibration, CameraExtrinsics, CameraIntrinsics
from failforward.errors import ShapeError
from failforward.recovery.camera import (
    CalibratedCamera,
    MujocoCamera,
    backproject,
    clockwise_sign,
    depth_at,
    robot_axes,
)
from failforward.supervisor.oracle.camera import CameraView

CUBE_HALF = 0.02  # [m]


def _distance_to_cube(point: np.ndarray, centre: np.ndarray) -> float:
    """[m] from ``point`` to the axis-aligned cube (0 inside)."""
    outside = np.maximum(np.abs(point - centre) - CUBE_HALF, 0.0)
    return float(np.linalg.norm(outside))


def test_backprojecting_the_cube_pixel_with_sim_depth_lands_on_the_cube(driver) -> None:
    camera = MujocoCamera(driver.scene, "top")
    depth = driver.render("top", depth=True)
    uv = cube_pixel(driver, HEIGHT, WIDTH)
    point = backproject(
        np.array([uv]), np.array([depth_at(depth, uv)]), camera.intrinsics(HEIGHT, WIDTH), camera.world_from_camera()
    )[0]
    centre = cube_centre(driver)
    assert _distance_to_cube(point, centre) < 0.015
    assert np.linalg.norm(point[:2] - centre[:2]) < 0.015
    assert point[2] > centre[2]  # the head camera sees the top face


def test_backprojection_inverts_the_oracle_projection_at_many_points(driver) -> None:
    scene = driver.scene
    camera = MujocoCamera(scene, "top")
    k = camera.intrinsics(HEIGHT, WIDTH)
    view = CameraView.from_mujoco(scene.model, scene.data, "top", k, HEIGHT, WIDTH)
    points = np.random.default_rng(0).uniform([-0.3, 0.3, 0.0], [0.3, 0.9, 0.3], size=(50, 3))
    uv = view.project(points)
    depth = (points - view.position) @ view.rotation @ np.array([0.0, 0.0, -1.0])  # MuJoCo looks along -z
    np.testing.assert_allclose(backproject(uv, depth, k, camera.world_from_camera()), points, atol=1e-9)


def test_a_calibrated_camera_with_the_sim_pose_backprojects_like_the_sim_camera(driver) -> None:
    sim = MujocoCamera(driver.scene, "top")
    pose = sim.world_from_camera()
    k = sim.intrinsics(480, 640)
    w, x, y, z = _quaternion(pose[:3, :3])
    calibration = CameraCalibration(
        intrinsics=CameraIntrinsics(width=640, height=480, fx=k[0, 0], fy=k[1, 1], cx=k[0, 2], cy=k[1, 2]),
        extrinsics=CameraExtrinsics(parent_frame="world", translation_m=tuple(pose[:3, 3]), rotation_wxyz=(w, x, y, z)),
    )
    real = CalibratedCamera(calibration)
    np.testing.assert_allclose(real.world_from_camera(), pose, atol=1e-9)
    np.testing.assert_allclose(real.intrinsics(HEIGHT, WIDTH)[:2, :2], sim.intrinsics(HEIGHT, WIDTH)[:2, :2])


def _quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    from mink import SO3

    w, x, y, z = SO3.from_matrix(rotation).wxyz
    return float(w), float(x), float(y), float(z)


def test_head_camera_axes_follow_vifailback_and_clockwise_is_negative_yaw_from_above(driver) -> None:
    pose = MujocoCamera(driver.scene, "top").world_from_camera()
    scene = driver.scene
    view = CameraView.from_mujoco(scene.model, scene.data, "top", np.eye(3), HEIGHT, WIDTH)
    np.testing.assert_allclose(robot_axes(pose), view.robot_axes(), atol=1e-12)
    assert clockwise_sign(pose) == -1.0  # the top camera looks down


def test_depth_at_ignores_missing_readings_and_bad_shapes_are_refused() -> None:
    depth = np.full((5, 5), np.nan, dtype=np.float32)
    assert np.isnan(depth_at(depth, (2.5, 2.5)))
    depth[2, 3] = 0.7
    assert depth_at(depth, (2.5, 2.5), window=1) == pytest.approx(0.7)
    with pytest.raises(ShapeError):
        backproject(np.zeros((2, 3)), np.zeros(2), np.eye(3), np.eye(4))
