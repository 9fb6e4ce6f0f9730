"""When the supervisor is asked: a :class:`TickSubscriber` whose ticks never wait for an answer.

Every ``every_chunks``-th newly inferred chunk (``TickRecord.chunk is not None``), or at once when asked
(:meth:`SupervisorScheduler.request`: the loop's perception found no object), it takes the last
``window_s`` of head-camera frames at ``fps`` and hands them to the backend on its own worker thread.
The control loop collects answers with :meth:`SupervisorScheduler.poll`; a loop that must be deterministic
(benchmarks, tests) first calls :meth:`SupervisorScheduler.wait`. An answer whose newest frame
is older than ``max_age_s`` of observation time, or that belongs to another episode (``episode_id``), is dropped.
While a query is in flight, further triggers are skipped (counted), never queued.

Example:
    >>> backend = make_backend(config.supervisor.backend, state_source=driver.privileged_state)
    >>> supervisor = SupervisorScheduler(backend, config.supervisor.schedule)
    >>> loop = build_loop(config, driver, reports=supervisor, subscribers=[recorder])
    >>> report = supervisor.poll()          # in the loop, after each tick: None or a fresh SupervisorReport
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field, replace

import numpy as np

from failforward.config import ScheduleConfig
from failforward.supervisor.backends.base import SupervisorBackend
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, SupervisorResult, Unreadable
from failforward.supervisor.frame_window import FrameWindow
from failforward.types import EpisodeInfo, EpisodeOutcome, TickRecord, TickSubscriber

log = logging.getLogger(__name__)
_ERROR_REASONS = frozenset({"timeout", "connection", "http_error", "backend_error", "unavailable"})


@dataclass(frozen=True)
class SupervisorHealth:
    """Counters since construction. ``errors`` counts failed backend calls (also in ``no_diagnosis``)."""

    queries: int = 0
    diagnoses: int = 0
    unreadable: int = 0
    no_diagnosis: int = 0
    errors: int = 0
    dropped_stale: int = 0
    skipped_busy: int = 0
    last_latency_s: float | None = None


@dataclass(frozen=True)
class SupervisorReport:
    """One answered query.

    Attributes:
        result: what the backend returned.
        episode: episode counter at query time; step: tick index that triggered the query.
        queried_at: observation timestamp [s] of that tick (the newest frame sent, when there were frames).
        frame_times: observation timestamps [s] of the frames sent, oldest first.
        latency_s: wall-clock duration of the backend call [s].
        episode_id: ``EpisodeInfo.episode_id`` of the episode the frames belong to; an answer is only ever
            applied to that episode.
    """

    result: SupervisorResult
    episode: int
    step: int
    queried_at: float
    frame_times: tuple[float, ...]
    latency_s: float
    episode_id: str = ""


@dataclass
class _Query:
    episode: int
    episode_id: str
    step: int
    queried_at: float
    task: str
    frames: list[np.ndarray]
    frame_times: tuple[float, ...]
    context: object | None = field(default=None)


class SupervisorScheduler(TickSubscriber):
    """Queries ``backend`` every ``config.every_chunks`` chunks on one worker thread."""

    def __init__(
        self,
        backend: SupervisorBackend,
        config: ScheduleConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.config = config or ScheduleConfig()
        self._clock = clock
        self._window = FrameWindow(self.config.window_s, self.config.fps)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="supervisor")
        self._lock = threading.Lock()
        self._health = SupervisorHealth()
        self._reports: deque[SupervisorReport] = deque(maxlen=8)
        self._inflight: Future[None] | None = None
        self._episode = 0
        self._episode_id = ""
        self._task = ""
        self._chunks = 0
        self._now = 0.0

    # ------------------------------------------------------------- subscriber
    def on_episode_start(self, info: EpisodeInfo) -> None:
        self._episode += 1
        self._episode_id = info.episode_id
        self._task = info.prompt or info.task
        self._window.clear()
        self._chunks = 0
        with self._lock:
            self._reports.clear()
        self._guarded("reset", self.backend.reset)

    def on_tick(self, tick: TickRecord) -> None:
        """Sample the head frame; on every K-th new chunk launch a query. Constant time, never blocks."""
        self._now = tick.observation.timestamp
        image = tick.observation.images.get(self.config.camera)
        if image is not None:
            self._window.offer(tick.observation.timestamp, image)
        if tick.chunk is None:
            return
        self._chunks += 1
        if self._chunks % self.config.every_chunks == 0:
            self._launch(tick.step)

    def on_episode_end(self, outcome: EpisodeOutcome) -> None:
        """Nothing waits: an answer still in flight is dropped when it arrives (episode changed)."""

    # ---------------------------------------------------------------- control
    def request(self, step: int, reason: str) -> bool:
        """Query now, outside the schedule, about the frames so far (``step``: the tick asking); returns at once.
        ``False`` when a query is in flight (skipped and counted, as a scheduled trigger would be)."""
        if self.busy:
            self._count(skipped_busy=1)
            return False
        log.info("supervisor: asked at tick %d: %s", step, reason)
        self._launch(step)
        return True

    def poll(self) -> SupervisorReport | None:
        """The newest fresh report not yet taken (older ones are discarded), or ``None``."""
        with self._lock:
            reports = list(self._reports)
            self._reports.clear()
        fresh = None
        for report in reports:
            if self._is_stale(report):
                self._count(dropped_stale=1)
                log.warning(
                    "supervisor: dropped a stale answer (episode %d, asked at t=%.2f s, now t=%.2f s)",
                    report.episode,
                    report.queried_at,
                    self._now,
                )
            else:
                fresh = report
        return fresh

    def wait(self, timeout_s: float) -> bool:
        """Block until no query is in flight, at most ``timeout_s`` [s]; True when none is (its answer, if any,
        is then ready for :meth:`poll`). Only for loops that choose to wait (``ControlLoop``'s synchronous mode)."""
        inflight = self._inflight
        if inflight is None:
            return True
        wait_futures([inflight], timeout=timeout_s)
        return inflight.done()

    @property
    def busy(self) -> bool:
        """A query is in flight."""
        return self._inflight is not None and not self._inflight.done()

    def health(self) -> SupervisorHealth:
        with self._lock:
            return self._health

    def close(self) -> None:
        """Stop the worker without waiting for a query in flight; close the backend."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._guarded("close", self.backend.close)

    # -------------------------------------------------------------- internals
    def _is_stale(self, report: SupervisorReport) -> bool:
        # the episode's identity, and the count of starts: a stream that restarts within one episode (a ROS
        # supervisor seeing the simulator's frames restart) starts the scheduler again under the same identity
        if report.episode_id != self._episode_id or report.episode != self._episode:
            return True
        return self._now - report.queried_at > self.config.max_age_s

    def _launch(self, step: int) -> None:
        if self.busy:
            self._count(skipped_busy=1)
            return
        window = self._window.window()
        context = self._guarded("capture_context", self.backend.capture_context)
        frames, times = [f for _, f in window], tuple(t for t, _ in window)
        query = _Query(self._episode, self._episode_id, step, self._now, self._task, frames, times, context)
        self._count(queries=1)
        self._inflight = self._executor.submit(self._run, query)

    def _run(self, query: _Query) -> None:
        start = self._clock()
        try:
            result = self.backend.diagnose(query.frames, query.task, context=query.context)
        except Exception as exc:  # a backend that breaks its contract still must not stop the supervisor
            log.exception("supervisor backend raised")
            result = NoDiagnosis(reason="backend_error", message=f"{type(exc).__name__}: {exc}")
        latency = self._clock() - start
        self._record(result, latency)
        report = SupervisorReport(
            result, query.episode, query.step, query.queried_at, query.frame_times, latency, query.episode_id
        )
        with self._lock:
            self._reports.append(report)

    def _record(self, result: SupervisorResult, latency: float) -> None:
        if isinstance(result, Diagnosis):
            self._count(diagnoses=1, latency=latency)
        elif isinstance(result, Unreadable):
            self._count(unreadable=1, latency=latency)
        else:
            failed = result.reason in _ERROR_REASONS
            if failed:
                log.warning("supervisor: no diagnosis (%s: %s)", result.reason, result.message)
            self._count(no_diagnosis=1, errors=int(failed), latency=latency)

    def _count(self, latency: float | None = None, **increments: int) -> None:
        with self._lock:
            h = self._health
            changes = {name: getattr(h, name) + value for name, value in increments.items()}
            if latency is not None:
                changes["last_latency_s"] = latency
            self._health = replace(h, **changes)

    def _guarded(self, what: str, call: Callable[[], object]) -> object | None:
        try:
            return call()
        except Exception:
            log.exception("supervisor backend %s failed", what)
            self._count(errors=1)
            return None
