"""The Foxglove live view: a :class:`TickSubscriber` that serves the running loop over the Foxglove WebSocket.

``failforward demo --foxglove`` and the ROS policy node (``viz.foxglove.enabled``) start one; connect Foxglove to
the printed ``ws://host:port`` and import :data:`~failforward.viz.LAYOUT_PATH`. Topics and schemas: see
:mod:`failforward.viz.publisher`.

The control thread only hands work over: it keeps a reference to the head frame the supervisor may be shown
(:class:`~failforward.viz.head_frames.HeadFrames`) and, when a viewer subscribes to anything fed by ticks, queues
the tick (:class:`~failforward.viz.handoff.Handoff`, oldest dropped and counted when the publisher falls behind).
Encoding (JPEG, protobuf, JSON), forward kinematics of the chunk preview and drawing the symbols run on the
publisher thread; the server's own threads send, dropping what a slow client cannot take. A viewer that is
absent, slow or gone never holds the loop up.

Example:
    >>> with FoxgloveLiveView(config.viz.foxglove, head_camera="top") as live:
    ...     print(live.url)  # ws://127.0.0.1:8765
    ...     run(config, subscribers=[live])
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from failforward.config import FoxgloveConfig, RunConfig
from failforward.recovery.events import RecoveryEvent
from failforward.robots.registry import describe_robot
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import EpisodeInfo, EpisodeOutcome, RobotFeatures, TickRecord, TickSubscriber
from failforward.viz.errors import LiveViewError, LiveViewPortError
from failforward.viz.handoff import Handoff
from failforward.viz.head_frames import HeadFrames
from failforward.viz.work import Item, ItemKind

if TYPE_CHECKING:
    from failforward.viz.publisher import LivePublisher

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveViewStats:
    """Counters since start. ``tick_cost_*_ms``: wall-clock time [ms] :meth:`FoxgloveLiveView.on_tick` took on the
    control thread, waits for the CPU and the GIL included (other threads, other processes); ``tick_cpu_*_ms``: the
    control thread's own CPU time in it [ms], the work the view adds to a tick. ``0`` before the first tick."""

    ticks: int
    queued_ticks: int
    published: int
    dropped_ticks: int
    dropped_events: int
    errors: int
    frames_not_found: int
    tick_cost_p50_ms: float
    tick_cost_p99_ms: float
    tick_cost_max_ms: float
    tick_cpu_p50_ms: float
    tick_cpu_p99_ms: float


class FoxgloveLiveView(TickSubscriber):
    """Serves the loop on ``ws://host:port``; also takes supervisor answers (:meth:`record_report`) and recovery
    events (:meth:`record_event`) like the recorder. Raises :class:`LiveViewPortError` when the port is taken.

    Args:
        config: host, port, image rate, queue length, JPEG quality.
        head_camera: the supervisor's camera (``supervisor.schedule.camera``) whose frames answers' symbols are
            drawn on; ``None`` when no supervisor runs (no annotated frame).
        head_fps: the supervisor's sampling rate [1/s] (``supervisor.schedule.fps``).
        frame_tolerance_s: [s] how far a frame's stamp may be from the one an answer names (``0``: the exact frame,
            as in-process; the ROS node sees frames by topic and allows about a tick).
        features: the robot's, when known: the chunk preview's kinematics load now, not while the loop runs.
    """

    def __init__(
        self,
        config: FoxgloveConfig,
        *,
        head_camera: str | None = None,
        head_fps: float = 1.0,
        frame_tolerance_s: float = 0.0,
        features: RobotFeatures | None = None,
        name: str = "failforward",
    ) -> None:
        foxglove = _require_foxglove()
        from failforward.viz.publisher import LivePublisher

        self.config = config
        self._context = foxglove.Context()
        self._server = _start_server(foxglove, config, self._context, name)
        self._publisher: LivePublisher = LivePublisher(self._context, config, head_camera or "", features)
        self._handoff: Handoff[Item] = Handoff(config.queue_size)
        self._frames = HeadFrames(head_camera, head_fps) if head_camera else None
        self._tolerance_s = frame_tolerance_s
        self._costs: deque[tuple[float, float]] = deque(maxlen=100_000)  # (wall, thread CPU) [s] per on_tick
        self._counts = {"ticks": 0, "queued": 0, "errors": 0, "not_found": 0}
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="foxglove_live", daemon=True)
        self._thread.start()

    @classmethod
    def for_run(cls, config: RunConfig, *, frame_tolerance_s: float = 0.0) -> FoxgloveLiveView:
        """The live view of ``config.viz.foxglove`` for ``config.robot``, drawing answers on the configured
        supervisor's camera."""
        schedule = config.supervisor.schedule
        return cls(
            config.viz.foxglove,
            head_camera=schedule.camera if config.supervisor.enabled else None,
            head_fps=schedule.fps,
            frame_tolerance_s=frame_tolerance_s,
            features=describe_robot(config.robot).features,
        )

    # ------------------------------------------------------------ where
    @property
    def port(self) -> int:
        """The port the server listens on (the configured one, or the free one picked for ``port=0``)."""
        return int(self._server.port)

    @property
    def url(self) -> str:
        """``ws://host:port`` to open in Foxglove (Open connection → Foxglove WebSocket)."""
        return f"ws://{self.config.host}:{self.port}"

    # ------------------------------------------------------- subscriber
    def on_episode_start(self, info: EpisodeInfo) -> None:
        if self._frames is not None:
            self._frames.clear()
        self._put("start", info)

    def on_tick(self, tick: TickRecord) -> None:
        """Constant time on the control thread: a frame reference kept, the tick queued when someone watches."""
        start, cpu = time.perf_counter(), time.thread_time()
        self._counts["ticks"] += 1
        if self._frames is not None:
            self._frames.offer(tick)
        if self._publisher.watching_ticks():
            self._counts["queued"] += 1
            self._put("tick", tick)
        self._costs.append((time.perf_counter() - start, time.thread_time() - cpu))

    def on_episode_end(self, outcome: EpisodeOutcome) -> None:
        self._put("end", outcome)

    def record_report(self, report: SupervisorReport) -> None:
        """A supervisor answer: its symbols, verdict and (when the frame it names was kept) the annotated frame."""
        self._put("report", report, self._frame_for(report))

    def record_event(self, event: RecoveryEvent) -> None:
        """A recovery-machine transition."""
        self._put("event", event)

    # ---------------------------------------------------------- status
    def stats(self) -> LiveViewStats:
        costs = np.asarray(self._costs, dtype=np.float64).reshape(-1, 2) * 1e3
        wall, cpu = costs[:, 0], costs[:, 1]
        p50, p99, high = (np.percentile(wall, 50), np.percentile(wall, 99), wall.max()) if wall.size else (0, 0, 0)
        cpu50, cpu99 = (np.percentile(cpu, 50), np.percentile(cpu, 99)) if cpu.size else (0, 0)
        return LiveViewStats(
            ticks=self._counts["ticks"],
            queued_ticks=self._counts["queued"],
            published=self._publisher.published,
            dropped_ticks=self._handoff.dropped_ticks,
            dropped_events=self._handoff.dropped_events,
            errors=self._counts["errors"],
            frames_not_found=self._counts["not_found"],
            tick_cost_p50_ms=float(p50),
            tick_cost_p99_ms=float(p99),
            tick_cost_max_ms=float(high),
            tick_cpu_p50_ms=float(cpu50),
            tick_cpu_p99_ms=float(cpu99),
        )

    def watched_topics(self) -> set[str]:
        """Topics a viewer subscribes to now (the server has registered the subscription)."""
        return self._publisher.watched_topics()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until the publisher has taken everything queued, at most ``timeout_s`` [s]; True when it has."""
        deadline = time.monotonic() + timeout_s
        while self._handoff.pending() and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._handoff.pending()

    def close(self) -> None:
        """Publish what is queued (at most 2 s), stop the server and close the channels. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._handoff.close()
        self._thread.join(timeout=2.0)
        port = int(self._server.port)
        self._server.stop()
        _wait_until_released(self.config.host, port)
        self._publisher.close()

    def __enter__(self) -> FoxgloveLiveView:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -------------------------------------------------------- internals
    def _put(self, kind: ItemKind, value: Any, frame: np.ndarray | None = None) -> None:
        self._handoff.put(Item(kind, time.time_ns(), value, frame), tick=kind == "tick")

    def _frame_for(self, report: SupervisorReport) -> np.ndarray | None:
        result = report.result
        if self._frames is None or not isinstance(result, Diagnosis) or not result.symbols:
            return None
        index = result.symbol_frame
        if index is None or not 0 <= index < len(report.frame_times):
            self._counts["not_found"] += 1
            return None
        frame = self._frames.find(report.frame_times[index], self._tolerance_s)
        self._counts["not_found"] += frame is None
        return frame

    def _work(self) -> None:
        """Publisher thread: take queued work until closed and empty; a failure is logged, never raised."""
        while True:
            item = self._handoff.get(timeout_s=0.2)
            if item is None:
                if self._handoff.closed:
                    return
                continue
            try:
                self._publisher.handle(item)
            except Exception:
                self._counts["errors"] += 1
                if self._counts["errors"] <= 3 or self._counts["errors"] % 100 == 0:
                    logger.exception("Foxglove live view: publishing a %s failed", item.kind)


def _require_foxglove() -> ModuleType:
    try:
        import foxglove
    except ImportError as exc:
        raise LiveViewError(
            f"The Foxglove live view needs foxglove-sdk ({exc}): pip install 'failforward[viz]'."
        ) from exc
    return foxglove


def _start_server(foxglove: ModuleType, config: FoxgloveConfig, context: Any, name: str) -> Any:
    try:
        return foxglove.start_server(name=name, host=config.host, port=config.port, context=context)
    except RuntimeError as exc:
        if "bind" in str(exc).lower() or "address" in str(exc).lower():
            raise LiveViewPortError(
                f"The Foxglove live view cannot listen on {config.host}:{config.port} ({exc}). Another process "
                f"uses the port (an earlier demo or node still running?): choose another one, e.g. "
                f"--foxglove-port {_free_port(config.host)} (free now) or viz.foxglove.port; 0 picks any free port."
            ) from exc
        raise LiveViewError(
            f"The Foxglove live view could not start its server on {config.host}:{config.port}: {exc}"
        ) from exc


RELEASE_TIMEOUT_S = 2.0
"""[s] at most this long ``close`` waits for the stopped server to let go of its port."""


def _wait_until_released(host: str, port: int) -> None:
    """Return once ``port`` on ``host`` can be bound again (at most :data:`RELEASE_TIMEOUT_S`).

    The SDK's ``stop()`` returns before its listener is dropped; without this wait a server started on the same port
    right after (a lifecycle node's cleanup then configure, a second demo) could find it still taken. The probe sets
    ``SO_REUSEADDR`` as the server's own bind does, so only a listener, not a closed connection's TIME_WAIT, holds it.
    """
    deadline = time.monotonic() + RELEASE_TIMEOUT_S
    while True:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
                return
            except OSError:
                if time.monotonic() >= deadline:
                    logger.warning("foxglove live view: port %d still taken %.1f s after stop", port, RELEASE_TIMEOUT_S)
                    return
        time.sleep(0.01)


def _free_port(host: str) -> int:
    """A port free on ``host`` right now (a suggestion for the error message)."""
    try:
        with socket.socket() as probe:
            probe.bind((host, 0))
            return int(probe.getsockname()[1])
    except OSError:
        return 8766
