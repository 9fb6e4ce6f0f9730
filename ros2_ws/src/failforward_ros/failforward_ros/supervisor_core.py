"""The supervisor node's logic without ROS: head frames and chunk events in, supervisor answers out.

It reuses the core :class:`~failforward.supervisor.scheduler.SupervisorScheduler` (every K chunks,
last 5 s at 1 fps, on its own worker) by feeding it one tick per received head frame; a chunk
announced on ``policy/chunk`` marks the next tick as a new-chunk tick. With a simulated robot the
oracle backend reads the privileged state that the bridge publishes on ``sim/state``.

Symbols in 3-D (:meth:`SupervisorRuntime.symbol_shapes`, for RViz markers): the answer's symbols are
back-projected like PMC reads them (:mod:`failforward.recovery.symbol_shapes`) with the depth and pose the bridge
publishes for the frame they were drawn on (it does every tick for ``robot.depth_cameras``), so they stand in
``world``. Frames travel best effort: a dropped depth frame is replaced by the nearest one within
``DEPTH_MATCH_S`` (the cell moves little in that time). Without depth they lie on the camera's image plane, in
its optical frame.

Failure detector (``supervisor.detector``): the dual-head score of each guided chunk asks at once, the schedule stays
(:class:`~failforward.supervisor.detector.DetectorTrigger`). The score is read from ``policy/guidance`` (λ_t per denoise
step, published with each guided chunk), so with a detector that message is the chunk event; without one,
``policy/chunk`` is. A detector the configured policy gives no trace to read is refused at configure.

Episodes are the bridge's (``episode/start``, see :mod:`failforward_ros.episode`): every answer carries the
identity of the episode its frames came from. Frames are taken only once an episode is known and only from
its first stamp on; a stamp that goes backwards within it (a frame of the previous simulated episode overtaken
by the start message, then the restarted clock) empties the frame window, so no query mixes two episodes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from failforward.config import RunConfig
from failforward.config.detector import detector_gamma, detector_problem
from failforward.errors import ConfigError, DriverError
from failforward.recovery.symbol_shapes import SymbolShapes, symbol_shapes
from failforward.robots.registry import describe_robot
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.detector import DetectorContext, DetectorTrigger, make_detector
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis
from failforward.supervisor.scheduler import SupervisorReport, SupervisorScheduler
from failforward.supervisor.tally import SupervisorTally
from failforward.symbols.render import render_symbols
from failforward.types import ActionChunk, EpisodeInfo, EpisodeOutcome, JointCommand, Observation, TickRecord
from failforward_ros.episode import EpisodeStart

KEEP_FRAMES = 64  # recent head frames (and their depth and pose) kept to draw symbols on the frame they refer to
DEPTH_MATCH_S = 0.1  # [s] the depth of the nearest frame this close stands in for a symbol frame's dropped one


class SupervisorRuntime:
    """Builds the configured backend and scheduler; thread-safe entry points for the node's callbacks."""

    def __init__(self, config: RunConfig) -> None:
        if not config.supervisor.enabled:
            raise ConfigError("supervisor.enabled is false in these parameters: enable it to run supervisor_node.")
        self.config = config
        description = describe_robot(config.robot)  # features and prompt, without building the driver
        self.features, self.prompt = description.features, description.prompt
        self.camera = config.supervisor.schedule.camera
        self._lock = threading.Lock()
        self._sim: tuple[Any, EpisodeOutcome] | None = None
        resources = {}
        if description.episodic:
            resources = {"state_source": self.sim_state, "progress_source": lambda: self._outcome().stage}
        self.scheduler = _with_detector(
            config,
            SupervisorScheduler(make_backend(config.supervisor.backend, **resources), config.supervisor.schedule),
        )
        self._frames: OrderedDict[float, np.ndarray] = OrderedDict()
        self._depths: OrderedDict[float, np.ndarray] = OrderedDict()
        self._poses: OrderedDict[float, np.ndarray] = OrderedDict()
        self._intrinsics: tuple[np.ndarray, int, int] | None = None
        self._last_stamp: float | None = None
        self._chunk_pending = False
        self._guidance = np.zeros(0)  # λ_t of the pending chunk (with a detector)
        self._step = 0
        self._episode: EpisodeStart | None = None
        self._count = -1
        self._tally = SupervisorTally()  # what the answers came to, outcome by outcome (health)

    # ---------------------------------------------------------------- inputs
    def on_sim_state(self, state: Any, outcome: EpisodeOutcome) -> None:
        with self._lock:
            self._sim = (state, outcome)

    def on_chunk(self) -> None:
        """The policy published a chunk (``policy/chunk``): the chunk event, unless a detector waits for its λ_t."""
        with self._lock:
            if not isinstance(self.scheduler, DetectorTrigger):
                self._chunk_pending = True

    def on_guidance(self, lambdas: np.ndarray) -> None:
        """λ_t ``[N]`` of the chunk just published (``policy/guidance``): with a detector, the chunk event."""
        with self._lock:
            if isinstance(self.scheduler, DetectorTrigger):
                self._chunk_pending, self._guidance = True, np.asarray(lambdas, dtype=np.float64).reshape(-1)

    def on_episode(self, start: EpisodeStart) -> None:
        """robot_bridge started an episode: answers from now on are tagged with its identity."""
        with self._lock:
            if self._episode is not None and start.episode_id == self._episode.episode_id:
                return  # the latched message again
            self._episode = start
            self._start_episode(start)

    def on_frame(self, stamp: float, rgb: np.ndarray) -> None:
        """One head-camera frame [RGB uint8 HxWx3] at ``stamp`` [s]; never blocks on the backend."""
        with self._lock:
            if self._episode is None or stamp < self._episode.stamp:
                return  # no episode known yet, or a frame from before this one
            if self._last_stamp is not None and stamp < self._last_stamp:
                self._start_episode(self._episode)  # the previous simulated episode's frames came in after the start
            self._last_stamp = stamp
            self._frames[stamp] = rgb
            while len(self._frames) > KEEP_FRAMES:
                self._frames.popitem(last=False)
            zeros_chunk = np.zeros((1, self.features.action_dim))
            chunk = ActionChunk(zeros_chunk, guidance=self._guidance) if self._chunk_pending else None
            self._chunk_pending = False
            step, self._step = self._step, self._step + 1
        zeros = np.zeros(self.features.action_dim)
        observation = Observation(stamp, zeros, zeros, images={self.camera: rgb})
        self.scheduler.on_tick(TickRecord(step, observation, zeros, JointCommand(stamp, zeros), chunk, {}))

    def on_depth(self, stamp: float, depth: np.ndarray) -> None:
        """Depth ``float32 [H, W]`` [m] of the head camera's frame at ``stamp`` [s]."""
        with self._lock:
            _keep(self._depths, stamp, depth)

    def on_camera_pose(self, stamp: float, world_from_camera: np.ndarray) -> None:
        """``[4, 4]`` optical-frame pose [m] of the head camera in ``world`` at ``stamp`` [s]."""
        with self._lock:
            _keep(self._poses, stamp, world_from_camera)

    def on_intrinsics(self, K: np.ndarray, height: int, width: int) -> None:  # noqa: N803 - the pinhole K
        """The head camera's ``K [3, 3]`` [px] for ``height x width`` images (CameraInfo)."""
        with self._lock:
            self._intrinsics = (np.asarray(K, dtype=np.float64), height, width)

    # --------------------------------------------------------------- outputs
    def poll(self) -> SupervisorReport | None:
        report = self.scheduler.poll()
        if report is not None:
            self._tally += SupervisorTally.of([report.result])
        return report

    def annotated(self, report: SupervisorReport) -> tuple[float, np.ndarray] | None:
        """The frame the answer's symbols refer to, with the symbols drawn; ``None`` without symbols."""
        result = report.result
        if not isinstance(result, Diagnosis) or not result.symbols or result.symbol_frame is None:
            return None
        stamp = report.frame_times[result.symbol_frame]
        with self._lock:
            frame = self._frames.get(stamp)
        if frame is None:
            return None
        return stamp, render_symbols(frame, result.symbols)

    def symbol_shapes(self, report: SupervisorReport) -> tuple[float, SymbolShapes]:
        """``(stamp [s] of the frame the symbols refer to, their 3-D shapes)``; no shapes for an answer without
        symbols (viewers clear the previous ones).

        Raises:
            DriverError: no CameraInfo of the head camera arrived yet (the symbols cannot be placed).
        """
        result = report.result
        if not isinstance(result, Diagnosis) or not result.symbols or result.symbol_frame is None:
            return report.queried_at, SymbolShapes(self.camera, ())
        stamp = report.frame_times[result.symbol_frame]
        with self._lock:
            intrinsics, frame = self._intrinsics, self._frames.get(stamp)
            depth_stamp, depth = _nearest(self._depths, stamp, DEPTH_MATCH_S)
            pose = _nearest(self._poses, depth_stamp, DEPTH_MATCH_S)[1]  # published with the depth
        if intrinsics is None:
            raise DriverError(
                f"no camera_info of camera {self.camera!r} received: robot_bridge publishes it with each image "
                "when the driver knows the intrinsics"
            )
        K, height, width = intrinsics  # noqa: N806 - the pinhole K
        size = frame.shape[:2] if frame is not None else (height, width)
        K = np.diag([size[1] / width, size[0] / height, 1.0]) @ K  # noqa: N806 - scaled to the symbols' frame
        if depth is not None and depth.shape != size:
            depth = None  # another resolution than the frame the symbols were drawn on
        shapes = symbol_shapes(
            result.symbols,
            K,
            camera=self.camera,
            image_size=(int(size[0]), int(size[1])),
            depth=depth,
            world_from_camera=pose if depth is not None else None,
            window=self.config.recovery.pmc.depth_window_px,
        )
        return stamp, shapes

    def health(self) -> dict[str, Any]:
        """Answers, failures flagged, timeouts, unreachable, frameless and unreadable queries counted apart, with
        the scheduler's queries sent, stale answers dropped, queries skipped while one was in flight, last latency."""
        scheduler = self.scheduler.health()
        values: dict[str, Any] = {
            "queries_sent": scheduler.queries,
            **self._tally.as_dict(),
            "dropped_stale": scheduler.dropped_stale,
            "skipped_busy": scheduler.skipped_busy,
        }
        if scheduler.last_latency_s is not None:
            values["last_latency_s"] = scheduler.last_latency_s
        if isinstance(self.scheduler, DetectorTrigger):
            stats = self.scheduler.stats()
            values |= {"detector_chunks": stats.chunks, "detector_trips": stats.trips, "detector_asked": stats.requests}
        return values

    def sim_state(self) -> Any:
        with self._lock:
            if self._sim is None:
                raise DriverError("No sim/state received yet: is robot_bridge active?")
            return self._sim[0]

    def close(self) -> None:
        self.scheduler.close()

    # --------------------------------------------------------------- helpers
    def _outcome(self) -> EpisodeOutcome:
        with self._lock:
            return self._sim[1] if self._sim is not None else EpisodeOutcome(False, 0, "no state yet")

    def _start_episode(self, episode: EpisodeStart) -> None:
        """Called with the lock held: ``episode`` is new, or the frame stream of the current one restarted."""
        if self._count >= 0:
            self.scheduler.on_episode_end(EpisodeOutcome(False, 0, "episode ended"))
        self._count += 1
        self._frames.clear()
        self._depths.clear()
        self._poses.clear()
        self._step, self._last_stamp = 0, None
        task = self.config.robot.task
        self.scheduler.on_episode_start(
            EpisodeInfo(self._count, episode.seed, task, self.prompt, "remote", self.features, episode.episode_id)
        )


def _with_detector(config: RunConfig, scheduler: SupervisorScheduler) -> SupervisorScheduler | DetectorTrigger:
    """``scheduler``, asked at once by ``supervisor.detector`` when one is set; a detector the policy gives no trace
    to read raises ``ConfigError`` (configure fails with the reason)."""
    detector = config.supervisor.detector
    if detector is None:
        return scheduler
    problem = detector_problem(detector, config.policy)
    if problem is not None:
        scheduler.close()
        raise ConfigError(problem)
    return DetectorTrigger(scheduler, make_detector(detector, DetectorContext(detector_gamma(config.policy))))


def _keep(frames: OrderedDict[float, np.ndarray], stamp: float, value: np.ndarray) -> None:
    """Add ``value`` at ``stamp`` [s], dropping the oldest beyond ``KEEP_FRAMES``."""
    frames[stamp] = value
    while len(frames) > KEEP_FRAMES:
        frames.popitem(last=False)


def _nearest(frames: OrderedDict[float, np.ndarray], stamp: float, within: float) -> tuple[float, np.ndarray | None]:
    """``(its stamp [s], value)`` of the entry nearest ``stamp`` if within ``within`` [s], else ``(stamp, None)``."""
    nearest = min(frames, key=lambda t: abs(t - stamp), default=None)
    if nearest is None or abs(nearest - stamp) > within:
        return stamp, None
    return nearest, frames[nearest]


def answer_status(report: SupervisorReport) -> tuple[bool, str]:
    """(ok, message) of one answer for ``/diagnostics``: only a readable diagnosis is OK; no answer (timeout, dead
    endpoint, no frames) and unreadable answers are warnings that say which."""
    result = report.result
    if isinstance(result, Diagnosis):
        return True, "answer: success" if result.success else f"answer: failure flagged ({result.failure_type})"
    if isinstance(result, NoDiagnosis):
        return False, f"no answer ({result.reason}): {result.message}"
    return False, f"unreadable answer: {result.reason}"
