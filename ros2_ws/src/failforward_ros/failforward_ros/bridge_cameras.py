"""What the bridge publishes with a depth image so that recovery (PMC) can run in another process.

PMC back-projects symbol pixels with the head camera's depth [m], intrinsics and optical-frame pose, and
ignores pixels that show the robot itself. The bridge publishes them (``topics.depth_topic``,
``camera_info_topic``, ``camera_pose_topic``, ``robot_mask_topic``) in two ways:

- every tick for the driver's depth cameras (``robot.depth_cameras``: depth is part of the observation);
- on request (``robot_bridge/capture_depth``) for PMC's head camera when it is not a depth camera. Like the
  in-process controller, which renders depth on demand, this costs nothing on the ticks without a
  diagnosis (a simulated depth render and robot mask triple a tick's rendering time).

A simulator knows pose and mask from its MuJoCo scene (:class:`SceneCameras`); a real cell would publish the
pose from its camera calibration and the mask from a self-filter node on the same topics.

Example:
    >>> cameras = SceneCameras(lambda: driver.scene)
    >>> stamp, depth = cameras.depth("top", 240, 320)       # [s], float32 [240, 320] [m]
    >>> extras = cameras.extras("top", 240, 320)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from failforward.config import RunConfig, SimAlohaConfig
from failforward.config.recovery import CorrectiveModeName
from failforward.recovery.camera import MujocoCamera

logger = logging.getLogger(__name__)


def on_demand_depth_cameras(config: RunConfig) -> tuple[str, ...]:
    """Cameras whose depth the bridge captures on request: PMC's head camera when recovery runs PMC and the
    camera is an RGB camera of the robot but not one of its (streamed) depth cameras."""
    recovery, robot = config.recovery, config.robot
    camera = recovery.pmc.camera
    if not recovery.enabled or recovery.mode != CorrectiveModeName.PMC or not isinstance(robot, SimAlohaConfig):
        return ()
    return (camera,) if camera in robot.cameras and camera not in robot.depth_cameras else ()


@dataclass(frozen=True)
class DepthExtras:
    """Geometry published with one depth frame.

    Attributes:
        world_from_camera: ``[4, 4]`` optical-frame pose in the world frame [m], or ``None`` if unknown.
        robot_mask: ``bool [H, W]``, True where the pixel shows the robot, or ``None`` without a self-filter.
    """

    world_from_camera: np.ndarray | None = None
    robot_mask: np.ndarray | None = None


class SceneCameras:
    """Depth, pose and robot mask of a simulator's cameras, read from its scene at call time (mounted cameras
    move).

    Args:
        scene: returns the connected driver's ``AlohaScene`` (the scene exists only once connected).
    """

    def __init__(self, scene: Callable[[], Any]) -> None:
        self._scene = scene
        self._cameras: dict[str, MujocoCamera] = {}

    def depth(self, camera: str, height: int, width: int) -> tuple[float, np.ndarray]:
        """``(stamp [s] of the simulation now, float32 [height, width] depth [m] along the optical axis)``."""
        scene = self._scene()
        return float(scene.data.time), scene.render(camera, height, width, depth=True)

    def extras(self, camera: str, height: int, width: int) -> DepthExtras:
        """Pose and ``[height, width]`` robot mask of ``camera`` now."""
        model = self._cameras.get(camera)
        if model is None:
            model = self._cameras[camera] = MujocoCamera(self._scene(), camera)
        return DepthExtras(model.world_from_camera(), model.robot_mask(height, width))

    def close(self) -> None:
        """Release the segmentation renderers."""
        for model in self._cameras.values():
            try:
                model.close()
            except Exception:
                logger.exception("closing the robot-mask renderer of %r failed", model.camera)
        self._cameras.clear()
