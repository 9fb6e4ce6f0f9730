"""Camera models for PMC: pinhole intrinsics and the camera pose, and back-projection of pixels to the world.

Conventions (stated once for the recovery package):
- pixel ``(u, v)`` = (column, row), continuous, origin at the top-left image corner: pixel index ``(i, j)``
  (row, column) covers ``j <= u < j + 1``; ``K`` uses the index convention (principal point ``cx`` in
  index units, as OpenCV and ``AlohaScene.camera_intrinsics``), so ``x_index = u - 0.5``.
- camera frame = OpenCV optical frame: x right, y down, z forward (MuJoCo cameras look along their -z
  with y up; :class:`MujocoCamera` converts).
- ``world_from_camera`` is ``[4, 4]`` homogeneous, world = MuJoCo world/table frame, z up, metres.
- depth is metric distance along the optical axis (``float32 [H, W]``, [m]), as MuJoCo's depth render.

Example:
    >>> camera = MujocoCamera(driver.scene, "top")
    >>> point = backproject(np.array([[181.7, 131.3]]), np.array([0.73]), camera.intrinsics(240, 320),
    ...                     camera.world_from_camera())[0]
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

import cv2
import numpy as np

from failforward.calibration.camera import CameraCalibration
from failforward.errors import ShapeError

if TYPE_CHECKING:  # MuJoCo is only needed for the simulated camera
    import mujoco

    from failforward.sim.aloha_scene import AlohaScene

MUJOCO_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])
"""Right-multiplying a MuJoCo camera rotation (x right, y up, z back) gives the optical frame's axes."""


class CameraModel(abc.ABC):
    """A calibrated camera: intrinsics at a resolution and its current pose in the world."""

    @abc.abstractmethod
    def intrinsics(self, height: int, width: int) -> np.ndarray:
        """``K [3, 3]`` in pixels for an ``height x width`` image (index convention)."""

    @abc.abstractmethod
    def world_from_camera(self) -> np.ndarray:
        """``[4, 4]`` pose of the optical frame (x right, y down, z forward) in the world frame [m]."""

    def undistort(self, uv: np.ndarray, height: int, width: int) -> np.ndarray:
        """``uv [N, 2]`` measured pixels → ideal pinhole pixels (identity for a distortion-free camera)."""
        return np.asarray(uv, dtype=np.float64)

    def close(self) -> None:  # noqa: B027 - optional hook: most camera models hold nothing
        """Release what the model holds (renderers); called once when the run ends."""


class MujocoCamera(CameraModel):
    """A camera of a MuJoCo scene; its pose is read from the scene's data at call time (mounted cameras move).

    ``robot_mask`` is the simulated robot self-filter: which pixels show a geom of a body whose name starts
    with one of ``robot_prefixes`` (on hardware the same mask comes from rendering the robot model at the
    measured joints with the calibrated camera).
    """

    def __init__(self, scene: AlohaScene, camera: str, robot_prefixes: tuple[str, ...] = ("vx300s_",)) -> None:
        self.scene, self.camera = scene, camera
        self._id = scene.model.camera(camera).id
        model = scene.model
        robot = [i for i in range(model.ngeom) if model.body(model.geom_bodyid[i]).name.startswith(robot_prefixes)]
        self._robot_geoms = np.array(robot, dtype=np.int64)
        self._segmenters: dict[tuple[int, int], mujoco.Renderer] = {}

    def robot_mask(self, height: int, width: int) -> np.ndarray:
        """``bool [H, W]``: True where the camera sees the robot."""
        import mujoco

        key = (height, width)
        if key not in self._segmenters:
            self._segmenters[key] = mujoco.Renderer(self.scene.model, height, width)
        renderer = self._segmenters[key]
        renderer.enable_segmentation_rendering()
        renderer.update_scene(self.scene.data, camera=self.camera)
        ids = renderer.render()
        geom = ids[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM)
        return geom & np.isin(ids[..., 0], self._robot_geoms)

    def close(self) -> None:
        for renderer in self._segmenters.values():
            renderer.close()
        self._segmenters.clear()

    def intrinsics(self, height: int, width: int) -> np.ndarray:
        return self.scene.camera_intrinsics(self.camera, height, width)

    def world_from_camera(self) -> np.ndarray:
        pose = np.eye(4)
        pose[:3, :3] = self.scene.data.cam_xmat[self._id].reshape(3, 3) @ MUJOCO_TO_OPTICAL
        pose[:3, 3] = self.scene.data.cam_xpos[self._id]
        return pose


def _rotation_from_wxyz(q: tuple[float, float, float, float]) -> np.ndarray:
    w, x, y, z = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


class CalibratedCamera(CameraModel):
    """A real camera from its calibration record (``calibration/<robot>/<id>/``).

    The extrinsics' ``parent_frame`` must be the world frame PMC targets are expressed in; intrinsics are
    scaled when the image size differs from the calibrated one. Plumb-bob distortion is removed from
    symbol pixels before back-projection (the depth image is assumed registered to the colour image).
    """

    def __init__(self, calibration: CameraCalibration) -> None:
        self.calibration = calibration
        extrinsics = calibration.extrinsics
        self._pose = np.eye(4)
        self._pose[:3, :3] = _rotation_from_wxyz(extrinsics.rotation_wxyz)
        self._pose[:3, 3] = extrinsics.translation_m

    def intrinsics(self, height: int, width: int) -> np.ndarray:
        cal = self.calibration.intrinsics
        sx, sy = width / cal.width, height / cal.height
        return np.array([[cal.fx * sx, 0.0, cal.cx * sx], [0.0, cal.fy * sy, cal.cy * sy], [0.0, 0.0, 1.0]])

    def world_from_camera(self) -> np.ndarray:
        return self._pose.copy()

    def undistort(self, uv: np.ndarray, height: int, width: int) -> np.ndarray:
        uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
        distortion = np.array(self.calibration.intrinsics.distortion)
        if not np.any(distortion):
            return uv
        matrix = self.intrinsics(height, width)
        ideal = cv2.undistortPoints((uv - 0.5).reshape(-1, 1, 2), matrix, distortion, P=matrix)
        return ideal.reshape(-1, 2) + 0.5


def backproject(uv: np.ndarray, depth: np.ndarray, intrinsics: np.ndarray, world_from_camera: np.ndarray) -> np.ndarray:
    """Pixels ``uv [N, 2]`` (continuous) at optical-axis depths ``depth [N]`` [m] → world points ``[N, 3]`` [m].

    ``intrinsics`` is ``K [3, 3]`` (index convention), ``world_from_camera`` the ``[4, 4]`` optical-frame pose.
    """
    K = intrinsics  # noqa: N806 - the pinhole matrix's usual name
    uv = np.atleast_2d(np.asarray(uv, dtype=np.float64))
    depth = np.asarray(depth, dtype=np.float64).reshape(-1)
    if uv.shape[1] != 2 or depth.shape[0] != uv.shape[0]:
        raise ShapeError(f"backproject needs uv [N, 2] and depth [N], got {uv.shape} and {depth.shape}.")
    x = (uv[:, 0] - 0.5 - K[0, 2]) / K[0, 0] * depth
    y = (uv[:, 1] - 0.5 - K[1, 2]) / K[1, 1] * depth
    camera_points = np.stack([x, y, depth], axis=1)
    return camera_points @ world_from_camera[:3, :3].T + world_from_camera[:3, 3]


def depth_at(depth: np.ndarray, uv: tuple[float, float], window: int = 1) -> float:
    """Median of the finite, positive depths [m] in the ``(2 window + 1)²`` pixels around ``uv``; NaN if none."""
    height, width = depth.shape
    col = int(np.clip(np.floor(uv[0]), 0, width - 1))
    row = int(np.clip(np.floor(uv[1]), 0, height - 1))
    patch = depth[max(0, row - window) : row + window + 1, max(0, col - window) : col + window + 1]
    valid = patch[np.isfinite(patch) & (patch > 0)]
    return float(np.median(valid)) if valid.size else float("nan")


def robot_axes(world_from_camera: np.ndarray) -> np.ndarray:
    """``[3, 3]`` rows: forward (+x), left (+y), up (+z) of ViFailback's head-camera robot frame, world coords.

    Forward is the image's up direction projected on the horizontal plane; up is world z; left = up × forward.
    """
    up = np.array([0.0, 0.0, 1.0])
    rotation = world_from_camera[:3, :3]
    image_up = -rotation[:, 1]
    forward = image_up - up * (image_up @ up)
    if np.linalg.norm(forward) < 1e-6:  # camera looks horizontally along its own image-up: use its view axis
        forward = rotation[:, 2] - up * (rotation[:, 2] @ up)
    forward /= np.linalg.norm(forward)
    return np.stack([forward, np.cross(up, forward), up])


def clockwise_sign(world_from_camera: np.ndarray) -> float:
    """Sign of a rotation about world +z that looks clockwise in the image (−1 for a camera looking down).

    In the optical frame (y down) a positive rotation about the view axis +z looks clockwise; projected on
    the world vertical that is ``sign(z_cam · z_world)``.
    """
    along = float(world_from_camera[:3, 2] @ np.array([0.0, 0.0, 1.0]))
    return 1.0 if along > 0 else -1.0
