"""Driver wrappers at a simulator's edge: what an experiment does to the world, outside policy and loop.

Each wrapper is an :class:`EpisodicDriver` around another one, so :class:`~failforward.control.loop.ControlLoop`
runs experiments unchanged: every policy command still passes the loop's safety layer, and the wrappers act
only between that layer and the simulator, where a real cell's world (a person, a slipping grasp) acts.

- :class:`SampledCamera`: renders one camera on every ``every_ticks``-th observation only (the supervisor
  samples its head camera at about 1 fps; rendering it at 50 Hz would dominate a benchmark's run time).
- :class:`CameraFrameRate`: a policy's cameras captured every ``every_ticks``-th tick, the latest frame held in
  between with its capture time (a hardware camera's frame rate; a policy reads one frame per chunk).
- :class:`DisturbedDriver`: a :class:`Disturbance` changes the world before an observation (teleport an
  object) and may replace the command the simulator receives. That replacement deliberately bypasses the
  safety layer: it emulates a fault of the device (a gripper forced open), not a command of the policy.
- :class:`PreludeStart`: an episode starts where a prelude left the reset scene (mid-episode takeover).

Ticks are counted per episode from 0 at ``reset``: tick ``k`` is the ``k``-th observation's tick, and its
command is the ``k``-th command sent (the loop observes once and sends once per tick).

Example:
    >>> sim = SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=()))
    >>> driver = DisturbedDriver(SampledCamera(sim, "top", every_ticks=25), disturbance)
    >>> loop = build_loop(config, driver, reports=supervisor)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from failforward.errors import ConfigError
from failforward.robots.base import EpisodicDriver
from failforward.robots.capabilities import OnDemandCamera
from failforward.types import CameraFeature, EpisodeOutcome, JointCommand, Observation, RobotFeatures

Prelude = Callable[[Any, Observation, np.random.Generator], Observation]
"""``(driver, first observation, rng seeded with the episode seed) -> observation at the hand-over``."""


class DriverWrapper(EpisodicDriver):
    """Delegates everything to ``driver``; subclasses change one thing."""

    def __init__(self, driver: EpisodicDriver) -> None:
        self.driver = driver

    @property
    def features(self) -> RobotFeatures:
        return self.driver.features

    @property
    def is_connected(self) -> bool:
        return self.driver.is_connected

    @property
    def task_prompt(self) -> str:
        return self.driver.task_prompt

    def connect(self) -> None:
        self.driver.connect()

    def disconnect(self) -> None:
        self.driver.disconnect()

    def reset(self, seed: int) -> Observation:
        return self.driver.reset(seed)

    def get_observation(self) -> Observation:
        return self.driver.get_observation()

    def send_action(self, command: JointCommand) -> JointCommand:
        return self.driver.send_action(command)

    def privileged_state(self) -> Any:
        return self.driver.privileged_state()

    def episode_outcome(self) -> EpisodeOutcome:
        return self.driver.episode_outcome()


def _renderer(driver: EpisodicDriver, every_ticks: int, wrapper: str, otherwise: str) -> OnDemandCamera:
    """``driver`` as the camera renderer of ``wrapper``; ``ConfigError`` when it cannot render on demand or
    ``every_ticks < 1`` (``otherwise``: what to do instead, for the message)."""
    if not isinstance(driver, OnDemandCamera):
        raise ConfigError(
            f"{wrapper} needs a driver with render(camera); {type(driver).__name__} has none: use a simulated "
            f"driver or {otherwise}."
        )
    if every_ticks < 1:
        raise ConfigError(f"every_ticks must be >= 1 tick, got {every_ticks}.")
    return driver


class SampledCamera(DriverWrapper):
    """Adds ``camera`` (rendered by ``driver.render(camera)``) to the observations of ticks ``0, k, 2k, ...``.

    The camera is not declared in ``features`` (it is absent from most observations); it is for consumers
    that sample it themselves, such as the supervisor's frame window (``ScheduleConfig.camera``).

    Args:
        driver: a driver that renders cameras on demand (:class:`OnDemandCamera`, e.g. ``SimAlohaDriver``).
        camera: camera name, the key in ``Observation.images``.
        every_ticks: ``k`` [ticks] between renders (25 at 50 Hz: 2 fps, enough for a 1 fps supervisor).
    """

    def __init__(self, driver: EpisodicDriver, camera: str, every_ticks: int) -> None:
        self._renders = _renderer(driver, every_ticks, "SampledCamera", "declare the camera in its config")
        super().__init__(driver)
        self.camera, self.every_ticks = camera, every_ticks
        self._observed = 0

    def reset(self, seed: int) -> Observation:
        self._observed = 0
        return self.driver.reset(seed)

    def get_observation(self) -> Observation:
        observation = self.driver.get_observation()
        tick, self._observed = self._observed, self._observed + 1
        if tick % self.every_ticks:
            return observation
        images = {**observation.images, self.camera: self._renders.render(self.camera)}
        return replace(observation, images=images)


class CameraFrameRate(DriverWrapper):
    """Cameras that capture at their own rate: rendered (``driver.render``) on ticks ``0, k, 2k, ...`` and the
    latest frame repeated in between, its capture time in ``Observation.frame_times``, as a hardware camera's
    latest frame arrives. They are declared in ``features``, so a policy that needs them is built as usual.

    Software rendering costs about 13 ms per camera and tick on this project's CI machines; a policy inferring
    one chunk every 25 ticks reads one frame in 25. Chunks requested on a capture tick see a fresh frame; others
    see one at most ``k - 1`` ticks old (10 fps at ``k = 5``, 50 Hz).

    Args:
        driver: renders on demand (:class:`OnDemandCamera`) and renders none of ``cameras`` on its own.
        cameras: the camera names, in the order they are declared.
        size: ``(height, width)`` [px] that ``driver.render`` produces (checked on every capture).
        every_ticks: ``k`` [ticks] between captures (1: every tick).
    """

    def __init__(self, driver: EpisodicDriver, cameras: Sequence[str], size: tuple[int, int], every_ticks: int) -> None:
        self._renders = _renderer(
            driver, every_ticks, "CameraFrameRate", "let a hardware driver stream its cameras at their rate"
        )
        own = sorted({c.name for c in driver.features.cameras} & set(cameras))
        if own:
            raise ConfigError(
                f"the driver already renders {own} on every tick: remove them from the robot's cameras so that "
                "CameraFrameRate alone captures them."
            )
        super().__init__(driver)
        self.cameras, self.size, self.every_ticks = tuple(cameras), size, every_ticks
        height, width = size
        declared = tuple(CameraFeature(name, height, width) for name in self.cameras)
        self._features = replace(driver.features, cameras=(*driver.features.cameras, *declared))
        self._observed = 0
        self._frames: dict[str, np.ndarray] = {}
        self._captured_at = 0.0

    @property
    def features(self) -> RobotFeatures:
        return self._features

    def reset(self, seed: int) -> Observation:
        self._observed, self._frames = 0, {}
        return self.driver.reset(seed)

    def get_observation(self) -> Observation:
        observation = self.driver.get_observation()
        tick, self._observed = self._observed, self._observed + 1
        if tick % self.every_ticks == 0:  # tick 0 of every episode captures
            self._frames = {name: self._capture(name) for name in self.cameras}
            self._captured_at = observation.timestamp
        times = {name: self._captured_at for name in self.cameras}
        return replace(
            observation,
            images={**observation.images, **self._frames},
            frame_times={**observation.frame_times, **times},
        )

    def _capture(self, camera: str) -> np.ndarray:
        frame = self._renders.render(camera)
        if frame.shape[:2] != self.size:
            raise ConfigError(
                f"camera {camera!r} renders {frame.shape[1]}x{frame.shape[0]} px, CameraFrameRate declares "
                f"{self.size[1]}x{self.size[0]}: pass the driver's image size."
            )
        return frame


class Disturbance(Protocol):
    """A scripted fault of the world or the device, applied by :class:`DisturbedDriver` (one per episode)."""

    def before_observe(self, tick: int) -> None:
        """Change the world before tick ``tick`` is observed (e.g. teleport an object)."""

    def command(self, tick: int, positions: np.ndarray) -> np.ndarray:
        """The joint targets ``[A]`` (driver units) the device receives for tick ``tick`` instead of the safe
        ``positions``; return ``positions`` to leave them alone."""


class DisturbedDriver(DriverWrapper):
    """Applies ``disturbance`` around ``driver``; ``send_action`` returns what the device really received,
    so the recorder and the recovery controller's joint history log the disturbed command.

    The commands it replaces have passed the loop's safety layer; the replacements have not, on purpose (a
    device fault is not a policy command). The driver's own checks (shape, finiteness, limits) still apply.
    """

    def __init__(self, driver: EpisodicDriver, disturbance: Disturbance) -> None:
        super().__init__(driver)
        self.disturbance = disturbance
        self._tick = 0

    def reset(self, seed: int) -> Observation:
        self._tick = 0
        return self.driver.reset(seed)

    def get_observation(self) -> Observation:
        self.disturbance.before_observe(self._tick)
        return self.driver.get_observation()

    def send_action(self, command: JointCommand) -> JointCommand:
        positions = self.disturbance.command(self._tick, command.positions)
        self._tick += 1
        return self.driver.send_action(JointCommand(command.timestamp, positions))


class PreludeStart(DriverWrapper):
    """Episodes start where ``prelude`` leaves the freshly reset scene: ``reset(seed)`` runs it on the inner
    driver (outside the loop and its safety layer, like a person setting up the cell) with
    ``np.random.default_rng(seed)``, and returns the observation at the hand-over.

    ``episode_outcome`` judges the episode from the hand-over on (a prelude may finish the task, then
    undo it: an interrupted expert whose objects are teleported). It needs the inner driver's privileged
    state to carry ``stage`` (0-4) and ``success``, as ``SimState`` does.
    """

    def __init__(self, driver: EpisodicDriver, prelude: Prelude) -> None:
        super().__init__(driver)
        self.prelude = prelude
        self._stage, self._success = 0, False

    def reset(self, seed: int) -> Observation:
        observation = self.prelude(self.driver, self.driver.reset(seed), np.random.default_rng(seed))
        self._stage, self._success = 0, False
        return observation

    def send_action(self, command: JointCommand) -> JointCommand:
        sent = self.driver.send_action(command)
        state = self.driver.privileged_state()
        self._stage, self._success = max(self._stage, int(state.stage)), self._success or bool(state.success)
        return sent

    def episode_outcome(self) -> EpisodeOutcome:
        if self._success:
            return EpisodeOutcome(True, self._stage, "success after the prelude")
        return EpisodeOutcome(False, self._stage, f"reached stage {self._stage} after the prelude, not success")
