"""The loop's perception step: object poses into the observation, or a hold when perception fails.

When a run has ``RunConfig.perception``, every tick's observation passes :class:`PerceptionStep` before recovery and
the policy see it: its ``object_state`` becomes the estimator's poses. When the estimator raises a
:class:`~failforward.perception.errors.PerceptionError` (a missing, stale, black or wrong-size frame; an object not
found) the loop holds the robot where it was last sent, never infers from that observation, drops the queued chunk
(planned before the robot went blind) and, when no object was found, asks the supervisor at once
(:class:`~failforward.control.ports.OnDemandReports`). Holding longer than ``max_hold_s`` of robot time aborts the
episode with the reason.

:func:`build_perception` makes the estimator of a run: the calibrated camera of a simulated scene (its MJCF camera)
or of the robot's calibration record.

Example:
    >>> step = PerceptionStep(make_perception(config.perception, context), config.perception.max_hold_s)
    >>> seen = step.perceive(observation)   # an Observation with object_state, or the PerceptionError to hold on
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from failforward.calibration import load_calibration
from failforward.config import AlohaConfig, FrankaConfig, RunConfig, SimAlohaConfig
from failforward.config.perception import RgbdPerceptionConfig
from failforward.errors import ConfigError
from failforward.perception import ObjectNotFoundError, ObjectPerception, PerceptionError
from failforward.perception.camera import CameraGeometry
from failforward.perception.registry import PerceptionContext, make_perception
from failforward.recovery.camera import CalibratedCamera, MujocoCamera
from failforward.robots.base import RobotDriver
from failforward.robots.capabilities import SceneAccess
from failforward.types import Observation

logger = logging.getLogger(__name__)


class PerceptionStep:
    """Runs ``perception`` on each tick's observation and counts the ticks it held (see the module docstring).

    Args:
        perception: the estimator.
        max_hold_s: [s] of robot time the loop may hold in a row before the episode is aborted.
    """

    def __init__(self, perception: ObjectPerception, max_hold_s: float) -> None:
        self.perception, self.max_hold_s = perception, max_hold_s
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """A new episode (``seed``: its seed, for a scene set out per episode): the estimator forgets its tracks,
        the counters restart."""
        self.perception.reset(seed)
        self._blind_since: float | None = None
        self._streak_ticks = 0
        self._counts = {"held_ticks": 0, "holds": 0, "not_found_ticks": 0, "frame_error_ticks": 0}
        self.last_error = ""

    def perceive(self, observation: Observation) -> Observation | PerceptionError:
        """``observation`` with the estimated ``object_state``, or the error this tick holds on.

        Raises:
            PerceptionError: the loop has held longer than ``max_hold_s`` (the episode ends with this reason).
        """
        try:
            state = self.perception.estimate(observation)
        except PerceptionError as exc:
            self._count(observation.timestamp, exc)
            return exc
        self._blind_since = None
        return replace(observation, object_state=state)

    @property
    def first_blind_tick(self) -> bool:
        """The last :meth:`perceive` started a hold (the tick before could see)."""
        return self._counts["held_ticks"] > 0 and self._streak_ticks == 1

    def summary(self) -> dict[str, float]:
        """Held ticks (all, for no object, for a bad frame), holds begun, and the estimator's own counters."""
        return {**{k: float(v) for k, v in self._counts.items()}, **self.perception.health()}

    def _count(self, now: float, error: PerceptionError) -> None:
        if self._blind_since is None:
            self._blind_since, self._streak_ticks = now, 0
            self._counts["holds"] += 1
            logger.warning("Perception failed, the robot holds: %s", error)
        self._streak_ticks += 1
        self._counts["held_ticks"] += 1
        self._counts["not_found_ticks" if isinstance(error, ObjectNotFoundError) else "frame_error_ticks"] += 1
        self.last_error = f"{type(error).__name__}: {error}"
        if now - self._blind_since > self.max_hold_s:
            raise type(error)(
                f"held {now - self._blind_since:.2f} s without object poses (perception.max_hold_s = "
                f"{self.max_hold_s} s); last: {error}"
            ) from error


class _SceneCamera:
    """A simulated scene's camera, looked up on use: the driver may connect after the loop is built, and the scene's
    data give the camera's current pose."""

    def __init__(self, driver: SceneAccess, name: str) -> None:
        self.driver, self.name = driver, name
        self._camera: MujocoCamera | None = None

    def _model(self) -> MujocoCamera:
        if self._camera is None or self._camera.scene is not self.driver.scene:
            self._camera = MujocoCamera(self.driver.scene, self.name)
        return self._camera

    def intrinsics(self, height: int, width: int) -> np.ndarray:
        return self._model().intrinsics(height, width)

    def world_from_camera(self) -> np.ndarray:
        return self._model().world_from_camera()


def perception_camera(config: RunConfig, driver: RobotDriver, name: str) -> CameraGeometry:
    """The calibrated geometry of camera ``name``: the simulated scene's camera, else the robot's calibration record
    (``robot.calibration_dir``). Raises ``ConfigError`` when neither knows the camera."""
    if isinstance(driver, SceneAccess):
        return _SceneCamera(driver, name)
    robot, cameras = config.robot, {}
    if isinstance(robot, AlohaConfig | FrankaConfig):
        cameras = load_calibration(Path(robot.calibration_dir)).cameras
    if name not in cameras:
        raise ConfigError(
            f"Perception needs camera {name!r}'s intrinsics and pose: robot {config.robot.kind!r} has no scene camera "
            f"and its calibration lists {sorted(cameras) or 'no cameras'}; add {name!r} to the calibration record."
        )
    return CalibratedCamera(cameras[name])


def build_perception(config: RunConfig, driver: RobotDriver) -> PerceptionStep | None:
    """The perception step of ``config`` on ``driver`` (``None`` when ``config.perception`` is unset)."""
    if config.perception is None:
        return None
    rgbd = config.perception if isinstance(config.perception, RgbdPerceptionConfig) else None
    camera = perception_camera(config, driver, rgbd.camera) if rgbd is not None else None
    split = config.robot.split if isinstance(config.robot, SimAlohaConfig) else "seen"
    context = PerceptionContext(driver.features, config.robot.task, camera, split)
    return PerceptionStep(make_perception(config.perception, context), config.perception.max_hold_s)
