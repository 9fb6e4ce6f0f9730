"""The supervisor with a fast failure detector: the scheduler as a report source, asked at once when the detector trips.

:class:`DetectorTrigger` wraps a :class:`~failforward.supervisor.scheduler.SupervisorScheduler` and keeps its interface
(a report source the loop polls and may ask at once). Every tick goes to the scheduler first (its frame window, its
every-K-chunks schedule, which stays as the fallback); then each new chunk goes to the detector, and a trip calls
:meth:`SupervisorScheduler.request` with the score as the reason. The scheduler's rules still apply: while a query is
in flight a trip is skipped (counted in both health records), never queued.

A policy built outside the config (a harness's own) may produce unguided chunks: they score ``None`` and the detector
stays idle (a warning once per episode; the schedule alone asks the supervisor). ``RunConfig`` runs refuse that case
when the run is built (:func:`~failforward.config.detector.detector_problem`).

Example:
    >>> supervisor = DetectorTrigger(SupervisorScheduler(backend, cfg.schedule), make_detector(cfg.detector, context))
    >>> loop = build_loop(config, driver, reports=supervisor)
    >>> supervisor.stats().trips, supervisor.trace      # episode so far: [(tick, score, tripped), ...]
    >>> supervisor.asked                                # episode so far: ticks whose trip launched a query
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from failforward.supervisor.detector.base import FailureDetector
from failforward.supervisor.scheduler import SupervisorHealth, SupervisorReport, SupervisorScheduler
from failforward.types import EpisodeInfo, EpisodeOutcome, TickRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectorStats:
    """Counters since construction: chunks scored, chunks with no trace, trips, and the trips that launched a query
    (the rest found one in flight)."""

    chunks: int = 0
    unguided_chunks: int = 0
    trips: int = 0
    requests: int = 0


class DetectorTrigger:
    """``scheduler`` as a report source, plus ``detector`` asking it at once."""

    def __init__(self, scheduler: SupervisorScheduler, detector: FailureDetector) -> None:
        self.scheduler, self.detector = scheduler, detector
        self._stats = DetectorStats()
        self.trace: list[tuple[int, float | None, bool]] = []  # this episode: (tick, score, tripped) per new chunk
        self.asked: list[int] = []  # this episode: the ticks whose trip launched a query
        self._warned = False

    # ------------------------------------------------------------- subscriber
    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.scheduler.on_episode_start(info)
        self.detector.reset()
        self.trace = []
        self.asked = []
        self._warned = False

    def on_tick(self, tick: TickRecord) -> None:
        """The scheduler sees the tick first (frame, schedule); a new chunk is then scored; never blocks."""
        self.scheduler.on_tick(tick)
        if tick.chunk is None:
            return
        score, tripped = self.detector.observe(tick.chunk)
        self.trace.append((tick.step, score, tripped))
        self._count(chunks=1, unguided_chunks=int(score is None), trips=int(tripped))
        if score is None:
            self._warn_unguided(tick.step)
        if tripped:
            reason = f"failure score {score:.4f} > {self.detector.threshold:.4f}"
            launched = self.scheduler.request(tick.step, reason)
            self._count(requests=int(launched))
            self.asked.extend([tick.step] if launched else [])

    def on_episode_end(self, outcome: EpisodeOutcome) -> None:
        self.scheduler.on_episode_end(outcome)

    # ---------------------------------------------------- the scheduler's API
    def poll(self) -> SupervisorReport | None:
        return self.scheduler.poll()

    def wait(self, timeout_s: float) -> bool:
        return self.scheduler.wait(timeout_s)

    def request(self, step: int, reason: str) -> bool:
        return self.scheduler.request(step, reason)

    @property
    def busy(self) -> bool:
        return self.scheduler.busy

    def health(self) -> SupervisorHealth:
        return self.scheduler.health()

    def stats(self) -> DetectorStats:
        return self._stats

    def close(self) -> None:
        self.scheduler.close()

    # -------------------------------------------------------------- internals
    def _warn_unguided(self, step: int) -> None:
        if not self._warned:
            log.warning(
                "failure detector: the chunk inferred at tick %d carries no guidance trace λ_t (an unguided policy): "
                "the detector is idle this episode and the schedule alone asks the supervisor",
                step,
            )
            self._warned = True

    def _count(self, **increments: int) -> None:
        s = self._stats
        self._stats = replace(s, **{name: getattr(s, name) + value for name, value in increments.items()})
