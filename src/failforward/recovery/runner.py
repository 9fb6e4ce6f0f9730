"""The recovery controller the control loop calls once per tick.

It is a :class:`TickSubscriber` (episode start resets it; every tick's observation and sent command feed
the joint history used by hold and rewind) and has one call per tick, before inference:
``step(observation, report) -> Override | None`` where ``report`` is the supervisor report collected at
the end of the previous tick (or ``None``). See :mod:`.overrides` for what the loop does with each override.

Example (simulated ALOHA, PMC with the oracle supervisor):
    >>> controller = RecoveryController.for_sim_aloha(RecoveryConfig(mode="pmc"), driver)
    >>> override = controller.step(observation, report)        # in the loop, before inference
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from failforward.config.recovery import CorrectiveModeName, RecoveryConfig
from failforward.recovery.camera import CameraModel
from failforward.recovery.context import JointHistory, PlanContext
from failforward.recovery.correction import PlanResult, Refusal
from failforward.recovery.events import RecoveryEvent, RecoveryState
from failforward.recovery.machine import RecoveryMachine
from failforward.recovery.modes.base import CorrectiveMode, ModeResources, make_mode
from failforward.recovery.overrides import Override
from failforward.robots.capabilities import SceneAccess
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import EpisodeInfo, Observation, RobotFeatures, TickRecord, TickSubscriber

logger = logging.getLogger(__name__)

DepthSource = Callable[[], np.ndarray]
"""Zero-argument callable returning the head camera's depth ``float32 [H, W]`` [m] now."""
MaskSource = Callable[[], np.ndarray]
"""Zero-argument callable returning ``bool [H, W]``: head-camera pixels that show the robot (self-filter)."""


class RecoveryController(TickSubscriber):
    """Diagnoses in, overrides out (one :class:`RecoveryMachine` per controller).

    Args:
        config: retries, timeouts, the corrective mode and its parameters.
        modes: mode name → mode; the machine asks for ``config.mode``, ``"hold"`` and ``"rewind"``.
        camera: model of the head camera the symbols refer to (PMC), or ``None``.
        depth_source: head depth on demand, used when the observation carries no depth for that camera.
        mask_source: robot self-filter for that depth (PMC neither grasps nor targets the robot itself).
        on_event: called with every transition (e.g. the episode recorder).
    """

    def __init__(
        self,
        config: RecoveryConfig,
        modes: Mapping[str, CorrectiveMode],
        *,
        camera: CameraModel | None = None,
        depth_source: DepthSource | None = None,
        mask_source: MaskSource | None = None,
        on_event: Callable[[RecoveryEvent], None] | None = None,
    ) -> None:
        self.config, self.modes = config, dict(modes)
        self.camera, self.depth_source, self.mask_source = camera, depth_source, mask_source
        self.head_camera = config.pmc.camera
        self.history = JointHistory(config.history_s)
        self.machine = RecoveryMachine(config, on_event)
        self._head_size: tuple[int, int] | None = None  # (H, W) [px] of the last head frame seen this episode

    @classmethod
    def for_sim_aloha(cls, config: RecoveryConfig, driver: SceneAccess, **kwargs: Any) -> RecoveryController:
        """All four modes on a connected simulated ALOHA (``SceneAccess``): its head camera, depth on demand,
        mink IK on its MJCF."""
        from failforward.recovery.camera import MujocoCamera

        name, (height, width) = config.pmc.camera, driver.image_size
        modes = aloha_modes(config, driver.features, driver.scene_xml_path)
        camera = MujocoCamera(driver.scene, name)
        return cls(
            config,
            modes,
            camera=camera,
            depth_source=lambda: driver.render(name, depth=True),
            mask_source=lambda: camera.robot_mask(height, width),
            **kwargs,
        )

    # ------------------------------------------------------------ subscriber
    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.history.clear()
        self.machine.reset(0.0)
        self._head_size = None

    def on_tick(self, tick: TickRecord) -> None:
        self.history.append(tick.observation.timestamp, tick.observation.joint_positions, tick.sent.positions)

    # ------------------------------------------------------------------ tick
    def step(self, observation: Observation, report: SupervisorReport | None = None) -> Override | None:
        """The override for this tick, or ``None`` to run the policy as usual. Never raises on bad diagnoses."""
        image = observation.images.get(self.head_camera)
        if image is not None:
            self._head_size = (int(image.shape[0]), int(image.shape[1]))
        diagnosis = report.result if report is not None and isinstance(report.result, Diagnosis) else None

        def plan(mode: str, diagnosed: Diagnosis) -> PlanResult:
            return self._plan(mode, diagnosed, observation, report)

        return self.machine.step(observation.timestamp, diagnosis, plan)

    @property
    def state(self) -> RecoveryState:
        return self.machine.state

    @property
    def events(self) -> list[RecoveryEvent]:
        return self.machine.events

    # -------------------------------------------------------------- planning
    def _plan(
        self, mode: str, diagnosis: Diagnosis, observation: Observation, report: SupervisorReport | None
    ) -> PlanResult:
        """Plan ``mode`` for ``diagnosis`` on this tick's ``observation`` (and the answer that carried it)."""
        if mode not in self.modes:
            return Refusal(mode, f"mode {mode!r} is not configured; configured: {sorted(self.modes)}")
        return self.modes[mode].plan(diagnosis, self._context(mode, observation, report))

    def _context(self, mode: str, observation: Observation, report: SupervisorReport | None) -> PlanContext:
        hold = self.history.last_sent
        hold = observation.joint_positions.copy() if hold is None else hold
        size = self._head_size  # the frames the supervisor drew its symbols on (sampled, not every tick)
        depth = mask = None
        if mode == CorrectiveModeName.PMC:
            depth = observation.depth.get(self.head_camera)
            depth = self._call(self.depth_source, "depth source") if depth is None else depth
            mask = self._call(self.mask_source, "robot mask source")
        return PlanContext(observation, hold, self.history, report, depth, self.camera, size, mask)

    @staticmethod
    def _call(source: Callable[[], np.ndarray] | None, what: str) -> np.ndarray | None:
        if source is None:
            return None
        try:
            return np.asarray(source())
        except Exception:
            logger.exception("recovery: the %s failed", what)
            return None

    def close(self) -> None:
        """Release renderers the camera model holds (call once, when the run ends)."""
        if self.camera is not None:
            self.camera.close()


def aloha_modes(config: RecoveryConfig, features: RobotFeatures, xml_path: str) -> dict[str, CorrectiveMode]:
    """``hold``, ``rewind`` and ``config.mode`` for an ALOHA whose MJCF is ``xml_path`` (mink IK, top-down grasps)."""
    from failforward.kinematics.aloha_ik import AlohaIK
    from failforward.recovery.grasp import TopDownGraspEstimator

    grasp = TopDownGraspEstimator(config.grasp)
    resources = ModeResources(features, 1.0 / features.control_hz, AlohaIK(xml_path), grasp)
    names = (CorrectiveModeName.HOLD, CorrectiveModeName.REWIND, config.mode)
    return {mode: make_mode(mode, config, resources) for mode in names}
