"""Recovery in the policy node, without ROS: supervisor answers and head-camera geometry arrive as messages.

In-process (``failforward demo``) the recovery controller polls the supervisor and renders depth and the
robot mask from the simulator on demand. In the node graph the same :class:`RecoveryController` runs in the
policy node's loop, fed by what other nodes publish:

- :class:`ReportInbox`: answers received on ``supervisor/diagnosis``, handed to the loop through the
  ``poll()`` it already calls after each tick (the loop's supervisor, like ``SupervisorScheduler``).
- :class:`CameraFrames`: the newest stamped depth [m], robot mask, optical-frame pose and intrinsics per
  camera (``robot_bridge`` publishes them for its depth cameras).
- :class:`HeadDepth`: depth and robot mask at the loop's current stamp; when they were not streamed it
  asks the bridge to capture them (``robot_bridge/capture_depth``) and waits for them.
- :class:`RemoteCamera`: the :class:`CameraModel` PMC back-projects with, read from those frames.

Times are [s] of the robot clock (message stamps: simulation time in simulation).

Example:
    >>> frames, reports = CameraFrames(), ReportInbox(max_age_s=10.0)
    >>> controller = build_recovery(config, features, frames, lambda: robot.last_stamp, capture=node.capture_depth,
    ...                             on_event=publish)
    >>> loop = build_loop(config, robot, reports=reports, corrector=controller)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from failforward.config import RunConfig
from failforward.errors import DriverError
from failforward.recovery import RecoveryController, RecoveryEvent
from failforward.recovery.camera import CameraModel
from failforward.recovery.runner import aloha_modes
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import EpisodeInfo, RobotFeatures, TickRecord, TickSubscriber

logger = logging.getLogger(__name__)

FrameKind = Literal["depth", "mask", "pose", "intrinsics"]
"""``depth``: ``float32 [H, W]`` [m]; ``mask``: ``bool [H, W]``; ``pose``: ``[4, 4]`` world_from_camera [m];
``intrinsics``: ``(K [3, 3] [px], height, width)``."""


class CameraFrames:
    """Thread-safe newest stamped frame per (kind, camera); the executor delivers, the loop reads.

    Args:
        wait_s: how long [s] :meth:`at` waits for the frame of the asked stamp (frames travel best effort).
        stale_s: how far [s] from the asked stamp the newest frame may be when that frame never came.
    """

    def __init__(self, wait_s: float = 0.2, stale_s: float = 0.5) -> None:
        self.wait_s, self.stale_s = wait_s, stale_s
        self._frames: dict[tuple[str, str], tuple[float, Any]] = {}
        self._cond = threading.Condition()

    def deliver(self, kind: FrameKind, camera: str, stamp: float, value: Any) -> None:
        with self._cond:
            self._frames[(kind, camera)] = (stamp, value)
            self._cond.notify_all()

    def at(self, kind: FrameKind, camera: str, stamp: float) -> Any:
        """The ``kind`` frame of ``camera`` stamped ``stamp`` [s], else the newest within ``stale_s`` of it.

        Raises ``DriverError`` saying which topic to check when there is none (PMC then refuses).
        """
        with self._cond:
            self._cond.wait_for(lambda: self._matched(kind, camera, stamp), timeout=self.wait_s)
            frame = self._frames.get((kind, camera))
        if frame is None:
            raise DriverError(
                f"no {kind} frame of camera {camera!r} received: robot_bridge publishes depth, pose "
                "and robot mask for robot.depth_cameras, and for PMC's camera on capture_depth"
            )
        if abs(frame[0] - stamp) > self.stale_s:
            raise DriverError(
                f"the newest {kind} frame of camera {camera!r} is {frame[0] - stamp:+.3f} s from the "
                f"observation at t={stamp:.3f} s (limit {self.stale_s} s): stale or from another "
                "episode; check robot_bridge's depth topics"
            )
        return frame[1]

    def has(self, kind: FrameKind, camera: str, stamp: float) -> bool:
        """Whether the ``kind`` frame of ``camera`` stamped ``stamp`` [s] has arrived (no waiting)."""
        with self._cond:
            return self._matched(kind, camera, stamp)

    def _matched(self, kind: FrameKind, camera: str, stamp: float) -> bool:
        frame = self._frames.get((kind, camera))
        return frame is not None and abs(frame[0] - stamp) < 1e-6

    def latest(self, kind: FrameKind, camera: str) -> Any:
        """The newest ``kind`` frame of ``camera`` whatever its stamp; ``DriverError`` if none arrived."""
        with self._cond:
            frame = self._frames.get((kind, camera))
        if frame is None:
            raise DriverError(f"no {kind} of camera {camera!r} received yet: is robot_bridge active?")
        return frame[1]


class HeadDepth:
    """Depth [m] and robot mask of ``camera`` at ``stamp()`` [s], the robot-clock time of the loop's observation.

    Args:
        capture: asks the bridge to publish them now (a service call that returns once they are published),
            or ``None`` when they are streamed. It is called when the frame of the stamp has not arrived.
    """

    def __init__(
        self, frames: CameraFrames, camera: str, stamp: Callable[[], float], capture: Callable[[], None] | None = None
    ) -> None:
        self.frames, self.camera, self._stamp, self._capture = frames, camera, stamp, capture

    def depth(self) -> np.ndarray:
        """``float32 [H, W]`` [m]; ``DriverError`` (with the bridge's reason) when there is none."""
        stamp, why = self._stamp(), ""
        if self._capture is not None and not self.frames.has("depth", self.camera, stamp):
            try:
                self._capture()
            except Exception as exc:  # streamed frames may still arrive: say why only if none does
                why = f"; capture_depth failed: {exc}"
        try:
            return self.frames.at("depth", self.camera, stamp)
        except DriverError as exc:
            raise DriverError(f"{exc}{why}") from exc

    def mask(self) -> np.ndarray:
        """``bool [H, W]``, True on robot pixels (published with the depth)."""
        return self.frames.at("mask", self.camera, self._stamp())


class RemoteCamera(CameraModel):
    """The head camera as the bridge describes it: intrinsics from CameraInfo, pose at the current stamp."""

    def __init__(self, frames: CameraFrames, camera: str, stamp: Callable[[], float]) -> None:
        self.frames, self.camera, self._stamp = frames, camera, stamp

    def intrinsics(self, height: int, width: int) -> np.ndarray:
        """``K [3, 3]`` [px] scaled from the published image size to ``height x width``."""
        k, published_h, published_w = self.frames.latest("intrinsics", self.camera)
        scale = np.diag([width / published_w, height / published_h, 1.0])
        return scale @ np.asarray(k, dtype=np.float64)

    def world_from_camera(self) -> np.ndarray:
        return np.asarray(self.frames.at("pose", self.camera, self._stamp()), dtype=np.float64)


class ReportInbox(TickSubscriber):
    """Supervisor answers from ``supervisor/diagnosis``, polled by the loop after each tick.

    An answer is applied only to the episode whose frames it judged: it is dropped (logged, counted in
    ``dropped``) when its ``episode_id`` is not the loop's current episode (robot_bridge names every episode,
    see :mod:`failforward_ros.episode`), or when it was asked more than ``max_age_s`` [s] of robot time before
    the loop's current observation. An answer whose frames are newer than that observation is fine: the
    supervisor may see the bridge's next frame before the loop does. Only the newest fresh answer is returned.
    """

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self.received = self.dropped = 0
        self._pending: list[SupervisorReport] = []
        self._episode_id: str | None = None
        self._now: float | None = None
        self._lock = threading.Lock()

    def deliver(self, report: SupervisorReport) -> None:
        with self._lock:
            self._pending.append(report)
            self.received += 1

    def on_episode_start(self, info: EpisodeInfo) -> None:
        with self._lock:  # answers still pending judged an earlier episode: never kept across episodes
            self.dropped += len(self._pending)
            self._pending.clear()
            self._episode_id, self._now = info.episode_id, None

    def on_tick(self, tick: TickRecord) -> None:
        with self._lock:
            self._now = tick.observation.timestamp

    def poll(self) -> SupervisorReport | None:
        with self._lock:
            pending, self._pending = self._pending, []
            episode_id, now = self._episode_id, self._now
        fresh = None
        for report in pending:
            why = self._rejection(report, episode_id, now)
            if why:
                self.dropped += 1
                logger.warning("recovery: dropped a supervisor answer asked at t=%.3f s: %s", report.queried_at, why)
            else:
                fresh = report
        return fresh

    def wait(self, timeout_s: float) -> bool:
        """Answers arrive by topic: there is no query in flight to wait for (a synchronous loop goes on)."""
        return True

    def _rejection(self, report: SupervisorReport, episode_id: str | None, now: float | None) -> str:
        if episode_id is None or report.episode_id != episode_id:
            return f"it judged episode {report.episode_id or '?'}, the loop is in episode {episode_id or '?'}"
        if now is not None and now - report.queried_at > self.max_age_s:
            return f"asked {now - report.queried_at:.3f} s before the loop's t={now:.3f} s (max_age_s {self.max_age_s})"
        return ""


def build_recovery(
    config: RunConfig,
    features: RobotFeatures,
    frames: CameraFrames,
    stamp: Callable[[], float],
    capture: Callable[[], None] | None = None,
    on_event: Callable[[RecoveryEvent], None] | None = None,
) -> RecoveryController:
    """The recovery controller of ``config.recovery`` for the simulated ALOHA, fed by ``frames``.

    ``stamp`` returns the robot-clock time [s] of the observation the loop is on (depth and pose are taken at
    that stamp); ``capture`` asks the bridge for them (see :class:`HeadDepth`). Modes: ``hold``, ``rewind`` and
    ``config.recovery.mode``, as in-process.
    """
    from failforward.sim.tasks import get_task

    recovery, camera = config.recovery, config.recovery.pmc.camera
    modes = aloha_modes(recovery, features, get_task(config.robot.task).xml_path)
    head = HeadDepth(frames, camera, stamp, capture)
    return RecoveryController(
        recovery,
        modes,
        camera=RemoteCamera(frames, camera, stamp),
        depth_source=head.depth,
        mask_source=head.mask,
        on_event=on_event,
    )
