"""A fake arm, registered as the ``fake`` driver: first-order joints, synthetic cameras, no simulator.

Loop, safety, broker and recorder tests run on it without MuJoCo. It is an :class:`EpisodicDriver`:
``reset(seed)`` draws the start and goal poses from ``seed``, so two runs with one seed are identical.

Example:
    >>> from failforward.config.robots import FakeRobotConfig
    >>> from failforward.types import JointCommand
    >>> with FakeRobot(FakeRobotConfig(cameras=("top",))) as robot:
    ...     obs = robot.reset(seed=0)
    ...     sent = robot.send_action(JointCommand(obs.timestamp, robot.privileged_state().goal))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from failforward.config.robots import FakeRobotConfig
from failforward.errors import DriverError, NotConnectedError, ShapeError
from failforward.robots.base import EpisodicDriver
from failforward.robots.registry import RobotDescription, register_description, register_driver
from failforward.types import CameraFeature, EpisodeOutcome, JointCommand, JointFeature, Observation, RobotFeatures

START_SPREAD = 0.1  # start pose: uniform in ±10% of each joint's range around 0
GOAL_SPREAD = 0.5  # goal pose: uniform in ±50% of each joint's range around 0
PROMPT = "move every joint to the goal pose"


@dataclass(frozen=True)
class FakeState:
    """The fake's privileged state: ``time`` [s], ``positions``/``velocities``/``target``/``goal`` ``[A]`` [rad]."""

    time: float
    positions: np.ndarray
    velocities: np.ndarray
    target: np.ndarray
    goal: np.ndarray


def fake_features(config: FakeRobotConfig) -> RobotFeatures:
    """Joints within ``±joint_limit_rad`` [rad] at ``max_velocity`` [rad/s], synthetic RGB cameras, ``control_hz``."""
    limit = config.joint_limit_rad
    joints = tuple(JointFeature(name, "rad", -limit, limit, config.max_velocity) for name in config.joint_names)
    cameras = tuple(CameraFeature(name, config.image_height, config.image_width) for name in config.cameras)
    return RobotFeatures(joints=joints, cameras=cameras, control_hz=config.control_hz)


@register_description("fake")
def describe_fake(config: FakeRobotConfig) -> RobotDescription:
    """Features and the ``reach`` task's prompt."""
    return RobotDescription(fake_features(config), PROMPT, episodic=True)


@register_driver("fake")
class FakeRobot(EpisodicDriver):
    """Joints that lag their commanded targets: ``q ← q + (target − q) · (1 − exp(−dt / τ))`` per tick.

    ``dt = 1 / control_hz`` [s]; ``τ = time_constant_s`` (0: joints jump to the target). Time is simulated:
    observations carry ``tick · dt`` [s].
    """

    def __init__(self, config: FakeRobotConfig) -> None:
        self.config = config
        self.dt = 1.0 / config.control_hz
        self.alpha = 1.0 if config.time_constant_s == 0 else 1.0 - math.exp(-self.dt / config.time_constant_s)
        self._features = fake_features(config)
        self._connected = False
        self._reset_state(seed=0)

    def _reset_state(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        size, limit = self._features.action_dim, self.config.joint_limit_rad
        self._positions = rng.uniform(-START_SPREAD, START_SPREAD, size) * limit
        self._goal = rng.uniform(-GOAL_SPREAD, GOAL_SPREAD, size) * limit
        self._velocities = np.zeros(size)
        self._target = self._positions.copy()
        self._tick = 0
        self._reached = False

    @property
    def features(self) -> RobotFeatures:
        return self._features

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def task_prompt(self) -> str:
        return PROMPT

    def connect(self) -> None:
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    def reset(self, seed: int) -> Observation:
        self._require_connected()
        self._reset_state(seed)
        return self.get_observation()

    def get_observation(self) -> Observation:
        self._require_connected()
        images = {name: self._image(index) for index, name in enumerate(self.config.cameras)}
        return Observation(self._tick * self.dt, self._positions, self._velocities, images=images)

    def send_action(self, command: JointCommand) -> JointCommand:
        """Clamp ``positions [A]`` [rad] to the joint limits, then advance the joints one tick toward them."""
        self._require_connected()
        positions = command.positions
        if positions.shape != (self._features.action_dim,):
            raise ShapeError(f"fake robot expects positions [{self._features.action_dim}], got {positions.shape}.")
        if not np.all(np.isfinite(positions)):
            raise DriverError("fake robot refuses non-finite joint targets; pass commands through the safety layer.")
        self._target = np.clip(positions, self._features.lower, self._features.upper)
        self._step()
        return JointCommand(self._tick * self.dt, self._target)

    def privileged_state(self) -> FakeState:
        return FakeState(
            self._tick * self.dt,
            self._positions.copy(),
            self._velocities.copy(),
            self._target.copy(),
            self._goal.copy(),
        )

    def episode_outcome(self) -> EpisodeOutcome:
        """Success once every joint was within ``goal_tolerance_rad`` of the goal at some tick (stage 1)."""
        if self._reached:
            return EpisodeOutcome(True, 1, "success")
        return EpisodeOutcome(False, 0, "the joints never reached the goal pose")

    def _step(self) -> None:
        previous = self._positions
        self._positions = previous + (self._target - previous) * self.alpha
        self._velocities = (self._positions - previous) / self.dt
        self._tick += 1
        self._reached |= bool(np.all(np.abs(self._positions - self._goal) <= self.config.goal_tolerance_rad))

    def _image(self, camera_index: int) -> np.ndarray:
        """``uint8 [H, W, 3]``: red ramps across the width, green names the camera, blue follows joint 0."""
        h, w, limit = self.config.image_height, self.config.image_width, self.config.joint_limit_rad
        image = np.empty((h, w, 3), dtype=np.uint8)
        image[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
        image[..., 1] = (40 * camera_index) % 256
        image[..., 2] = int(round(127.5 * (1.0 + self._positions[0] / limit)))
        return image

    def _require_connected(self) -> None:
        if not self._connected:
            raise NotConnectedError("FakeRobot is not connected: call connect() or use it as a context manager.")
