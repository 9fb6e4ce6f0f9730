"""Runs a :class:`RunConfig` in-process: its driver, supervisor, recovery and recorder around the one loop
(:func:`~failforward.control.assembly.build_loop`). With ``viz.foxglove.enabled`` a Foxglove live view serves it.

Example:
    >>> from failforward.config import get_preset
    >>> from failforward.control.runtime import run
    >>> result = run(get_preset("sim_transfer_cube").with_overrides({"episodes": 1}))
    >>> result.success_rate
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from failforward.config import RunConfig
from failforward.config.detector import detector_gamma, detector_problem
from failforward.control.assembly import build_loop
from failforward.control.interrupt import Interrupt, StopWhenInterrupted
from failforward.control.loop import EpisodeResult
from failforward.control.ports import PlanObserver, RunObserver
from failforward.errors import ConfigError
from failforward.record.files import create_run_dir
from failforward.record.recorder import EpisodeRecorder, robot_clock
from failforward.recovery import RecoveryController
from failforward.recovery.events import RecoveryEvent
from failforward.robots.base import EpisodicDriver, RobotDriver
from failforward.robots.capabilities import SceneAccess
from failforward.robots.registry import make_driver
from failforward.supervisor.backends.registry import make_backend
from failforward.supervisor.detector import DetectorContext, DetectorStats, DetectorTrigger, make_detector
from failforward.supervisor.scheduler import SupervisorScheduler
from failforward.types import TickSubscriber

if TYPE_CHECKING:
    from failforward.viz.foxglove_live import FoxgloveLiveView

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class RunResult:
    """All episodes of one run, and where their files went."""

    config: RunConfig
    run_dir: Path
    episodes: list[EpisodeResult] = field(default_factory=list)
    # the failure detector's counters over the run (chunks scored, trips, queries it asked); None without one
    detector: DetectorStats | None = None

    @property
    def success_rate(self) -> float:
        return sum(e.outcome.success for e in self.episodes) / max(len(self.episodes), 1)


def run(
    config: RunConfig,
    *,
    run_name: str | None = None,
    subscribers: list[TickSubscriber] | None = None,
    on_episode: Callable[[EpisodeResult], None] | None = None,
    interrupt: Interrupt | None = None,
) -> RunResult:
    """Run ``config.episodes`` episodes with seeds ``seed, seed + 1, ...``; record each if enabled.

    Files go to a fresh run directory ``<record.output_dir>/<run_name>`` (``-1``, ``-2``, ... appended when it exists:
    an earlier run is never written into), ``RunResult.run_dir``. Once ``interrupt.requested`` (Ctrl-C, SIGTERM)
    the running episode ends after its tick as ``aborted: interrupted``, its file is finished and no further
    episode starts; the result holds the episodes so far.
    """
    run_name = run_name or time.strftime("%Y%m%d-%H%M%S")
    _refuse_blind_detector(config)
    subscribers = list(subscribers or [])
    driver = make_driver(config.robot)
    recorder = EpisodeRecorder(config.record, run_name, clock=robot_clock(driver)) if config.record.enabled else None
    output = Path(config.record.output_dir)
    with driver, contextlib.ExitStack() as stack:  # the run directory once the robot connected: none on a failure
        result = RunResult(config, recorder.start_run(run_name) if recorder else create_run_dir(output, run_name))
        live = _live_view(config, subscribers)
        if live is not None:
            stack.callback(live.close)
            subscribers.append(live)
        observers = _observers([*subscribers, *([recorder] if recorder else [])])
        supervisor = _build_supervisor(config, driver)
        if supervisor is not None:
            stack.callback(supervisor.close)
        recovery = _build_recovery(config, driver, _fan_out([o.record_event for o in observers]))
        if recovery is not None:
            stack.callback(recovery.close)

        planners = _plan_observers([*subscribers, *([recorder] if recorder else [])])

        def stop(reason: str) -> None:
            loop.request_stop(reason)

        loop = build_loop(
            config,
            driver,
            reports=supervisor,
            corrector=recovery,
            subscribers=[*subscribers, *([recorder] if recorder else []), *_stopper(interrupt, stop)],
            on_report=_fan_out([o.record_report for o in observers]),
            on_plan=_fan_out([s.record_plan for s in planners]),
        )
        for index in range(config.episodes):
            if interrupt is not None and interrupt.requested:
                break
            episode = loop.run_episode(index, config.seed + index, task=config.robot.task)
            if recorder is not None and recorder.files:
                episode.files = [recorder.files[-1]]
            result.episodes.append(episode)
            logger.info("episode %d seed %d: %s", index, episode.seed, episode.outcome)
            if on_episode is not None:
                on_episode(episode)
        if isinstance(supervisor, DetectorTrigger):
            result.detector = supervisor.stats()
    return result


def _plan_observers(subscribers: list[TickSubscriber]) -> list[PlanObserver]:
    """The subscribers that also take planning cycles (recorder, live view)."""
    found: list[PlanObserver] = []
    for subscriber in subscribers:
        if isinstance(subscriber, PlanObserver):
            found.append(subscriber)
    return found


def _observers(subscribers: list[TickSubscriber]) -> list[RunObserver]:
    """The subscribers that also take supervisor answers and recovery events (recorder, live view)."""
    found: list[RunObserver] = []
    for subscriber in subscribers:
        if isinstance(subscriber, RunObserver):
            found.append(subscriber)
    return found


def _fan_out(callbacks: list[Callable[[T], None]]) -> Callable[[T], None] | None:
    """One callback calling each of ``callbacks`` in order (``None`` for none)."""
    if len(callbacks) <= 1:
        return callbacks[0] if callbacks else None

    def call(item: T) -> None:
        for callback in callbacks:
            callback(item)

    return call


def _live_view(config: RunConfig, subscribers: list[TickSubscriber]) -> FoxgloveLiveView | None:
    """A Foxglove live view for this run when ``viz.foxglove.enabled`` and the caller brought none (the demo
    brings one for all its presets); imported only then (``foxglove-sdk`` is the ``viz`` extra)."""
    if not config.viz.foxglove.enabled:
        return None
    from failforward.viz import LAYOUT_PATH
    from failforward.viz.foxglove_live import FoxgloveLiveView

    if any(isinstance(s, FoxgloveLiveView) for s in subscribers):
        return None
    live = FoxgloveLiveView.for_run(config)
    logger.info("Foxglove live view on %s (layout: %s)", live.url, LAYOUT_PATH)
    return live


def _stopper(interrupt: Interrupt | None, stop: Callable[[str], None]) -> list[TickSubscriber]:
    """The subscriber that ends the running episode once ``interrupt`` is requested (none without one)."""
    return [] if interrupt is None else [StopWhenInterrupted(interrupt, stop)]


def _refuse_blind_detector(config: RunConfig) -> None:
    """A failure detector that the configured policy gives nothing to read is refused before the robot connects."""
    problem = detector_problem(config.supervisor.detector, config.policy) if config.supervisor.enabled else None
    if problem is not None:
        raise ConfigError(problem)


def _build_supervisor(config: RunConfig, driver: RobotDriver) -> SupervisorScheduler | DetectorTrigger | None:
    """The configured supervisor, with privileged state wired in when the robot is simulated, and asked at once by
    its failure detector when ``supervisor.detector`` is set."""
    if not config.supervisor.enabled:
        return None
    detector = config.supervisor.detector
    resources = {}
    if isinstance(driver, EpisodicDriver):
        resources = {"state_source": driver.privileged_state, "progress_source": lambda: driver.episode_outcome().stage}
    backend = make_backend(config.supervisor.backend, **resources)
    scheduler = SupervisorScheduler(backend, config.supervisor.schedule)
    if detector is None:
        return scheduler
    return DetectorTrigger(scheduler, make_detector(detector, DetectorContext(detector_gamma(config.policy))))


def _build_recovery(
    config: RunConfig, driver: RobotDriver, on_event: Callable[[RecoveryEvent], None] | None
) -> RecoveryController | None:
    """The recovery controller on the simulated robot (``RunConfig`` allows ``recovery.enabled`` only there)."""
    if not config.recovery.enabled:
        return None
    if not isinstance(driver, SceneAccess):
        raise ConfigError(
            f"recovery runs on the simulated ALOHA (a driver with SceneAccess); {config.robot.kind!r} "
            "has none: set recovery.enabled to false."
        )
    return RecoveryController.for_sim_aloha(config.recovery, driver, on_event=on_event)
