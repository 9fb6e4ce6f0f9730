"""The fixed-rate control loop: observe → infer → safety → act → record, once per tick.

One :class:`ControlLoop` owns time and motion. Policies and supervisors only propose; the loop
is the only place a proposal becomes a driver command, and every command passes the safety layer.

Supervisor answers reach the loop in one of two modes (:data:`SupervisorMode`):

- ``"asynchronous"`` (default, deployment): after each tick the loop takes whatever answer has arrived
  and never waits; a query launched at tick ``t`` is answered some ticks later (its latency).
- ``"synchronous"`` (benchmarks, tests): after the tick that launched a query the loop waits for its
  answer (at most ``supervisor_timeout_s``), so the answer is collected on that same tick and the
  recovery controller sees it at tick ``t + 1`` whatever the backend's latency: runs are reproducible.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np

from failforward.config import LoopConfig
from failforward.control.broker import ChunkBroker
from failforward.control.safety import SafetyLayer
from failforward.control.timing import CycleTimer
from failforward.errors import ConfigError
from failforward.policy.base import PolicyBackend
from failforward.recovery import RecoveryController, infer_with_override
from failforward.recovery.overrides import Override
from failforward.robots.base import EpisodicDriver, RobotDriver
from failforward.supervisor.scheduler import SupervisorReport, SupervisorScheduler
from failforward.types import (
    ActionChunk,
    EpisodeInfo,
    EpisodeOutcome,
    JointCommand,
    Observation,
    TickRecord,
    TickSubscriber,
)

logger = logging.getLogger(__name__)

SupervisorMode = Literal["asynchronous", "synchronous"]
"""How the loop collects supervisor answers (see the module docstring)."""


@dataclass
class EpisodeResult:
    """Summary of one episode: outcome, length in ticks, timing summary, safety counters."""

    index: int
    seed: int
    outcome: EpisodeOutcome
    steps: int
    timing: dict[str, float]
    safety_holds: int = 0
    safety_clamped_ticks: int = 0
    error: str | None = None
    files: list[Path] = field(default_factory=list)
    reports: list[SupervisorReport] = field(default_factory=list)


class ControlLoop:
    """Runs episodes of ``policy`` on ``driver`` at ``config.rate_hz``.

    Args:
        driver: a connected robot driver.
        policy: produces action chunks ``[H, A]``.
        broker: turns chunks into per-tick actions.
        safety: clamps every command before it is sent.
        config: rate, episode length, real-time pacing.
        prompt: the task instruction handed to the policy.
        subscribers: notified at episode start, every tick and episode end.
        supervisor: optional failure supervisor; it is a subscriber too, and its answers are
            collected after each tick (``SupervisorScheduler.poll``), as ``supervisor_mode`` says.
        on_report: called with every supervisor answer (recorder, logs).
        recovery: optional recovery controller; a subscriber too. Each tick, before inference, it gets the
            supervisor answer collected at the end of the previous tick and may override the action.
        supervisor_mode: ``"asynchronous"`` never waits for an answer; ``"synchronous"`` waits after each tick
            for the query in flight (see the module docstring).
        supervisor_timeout_s: [s] the synchronous mode waits at most per tick; past it the tick goes on
            without the answer (logged), which then arrives on a later tick as in the asynchronous mode.
    """

    def __init__(
        self,
        driver: RobotDriver,
        policy: PolicyBackend,
        broker: ChunkBroker,
        safety: SafetyLayer,
        config: LoopConfig,
        prompt: str,
        subscribers: list[TickSubscriber] | None = None,
        supervisor: SupervisorScheduler | None = None,
        on_report: Callable[[SupervisorReport], None] | None = None,
        recovery: RecoveryController | None = None,
        *,
        supervisor_mode: SupervisorMode = "asynchronous",
        supervisor_timeout_s: float = 10.0,
    ) -> None:
        if supervisor_mode not in get_args(SupervisorMode):
            raise ConfigError(f"supervisor_mode {supervisor_mode!r} is not one of {get_args(SupervisorMode)}.")
        if not supervisor_timeout_s > 0.0:
            raise ConfigError(f"supervisor_timeout_s must be > 0 s, got {supervisor_timeout_s}.")
        self.supervisor_mode, self.supervisor_timeout_s = supervisor_mode, supervisor_timeout_s
        self.driver, self.policy, self.broker, self.safety = driver, policy, broker, safety
        self.config, self.prompt = config, prompt
        self.subscribers = list(subscribers or []) + [s for s in (supervisor, recovery) if s is not None]
        self.supervisor, self.on_report, self.recovery = supervisor, on_report, recovery
        self._report: SupervisorReport | None = None
        self.period = 1.0 / config.rate_hz
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """Ask the running episode to end after the current tick (thread-safe); cleared at episode start."""
        self._stop.set()

    def run_episode(self, index: int, seed: int, task: str = "") -> EpisodeResult:
        """Run one episode to success, ``max_steps`` or an error; subscribers always see its end."""
        timer = CycleTimer(period=self.period)
        counters = {"holds": 0, "clamped": 0}
        ticks, error, reports = 0, None, []
        self._stop.clear()
        try:
            self._start_episode(index, seed, task)
            next_deadline = time.perf_counter()
            while ticks < self.config.max_steps and not self._stop.is_set():
                timer.start_tick()
                observation = self._observe(timer)
                override = self._recover(timer, observation)
                action, chunk = self._infer(timer, observation, override)
                command = self._apply_safety(timer, action, counters)
                sent = self._act(timer, command)
                self._notify(timer, TickRecord(ticks, observation, action, sent, chunk, timer.current_sections()))
                self._collect_report(timer, reports)
                timer.end_tick()
                ticks += 1
                next_deadline = self._pace(next_deadline)
                if self._succeeded():
                    break
            if self._stop.is_set():
                error = "stopped on request"
        except Exception as exc:  # a failing driver or policy must end the episode, never the process
            logger.exception("Episode %d ended by an error at tick %d", index, ticks)
            error = f"{type(exc).__name__}: {exc}"
        outcome = self._finish_episode(error)
        return EpisodeResult(
            index,
            seed,
            outcome,
            ticks,
            timer.summary(),
            counters["holds"],
            counters["clamped"],
            error,
            reports=reports,
        )

    # ----------------------------------------------------------------- steps
    def _start_episode(self, index: int, seed: int, task: str) -> None:
        driver = self.driver
        observation = driver.reset(seed) if isinstance(driver, EpisodicDriver) else driver.get_observation()
        self.safety.reset(observation.joint_positions)
        self.broker.reset()
        self._report = None
        self.policy.reset()
        info = EpisodeInfo(index, seed, task, self.prompt, type(driver).__name__, driver.features)
        for subscriber in self.subscribers:
            subscriber.on_episode_start(info)

    def _observe(self, timer: CycleTimer) -> Observation:
        with timer.section("observe"):
            return self.driver.get_observation()

    def _recover(self, timer: CycleTimer, observation: Observation) -> Override | None:
        if self.recovery is None:
            return None
        with timer.section("recover"):
            report, self._report = self._report, None
            return self.recovery.step(observation, report)

    def _infer(self, timer: CycleTimer, observation: Observation, override: Override | None = None
               ) -> tuple[np.ndarray, ActionChunk | None]:
        with timer.section("infer"):
            return infer_with_override(override, self.broker, self._policy_infer, observation, self.prompt)

    def _policy_infer(self, observation: Observation, prompt: str) -> ActionChunk:
        return self.policy.infer(observation, prompt=prompt)

    def _apply_safety(self, timer: CycleTimer, action: np.ndarray, counters: dict[str, int]) -> np.ndarray:
        with timer.section("safety"):
            result = self.safety.clamp(action)
        counters["holds"] += int(result.held)
        counters["clamped"] += int(result.modified and not result.held)
        return result.command

    def _act(self, timer: CycleTimer, command: np.ndarray) -> JointCommand:
        with timer.section("act"):
            return self.driver.send_action(JointCommand(time.time(), command))

    def _notify(self, timer: CycleTimer, tick: TickRecord) -> None:
        with timer.section("record"):
            for subscriber in self.subscribers:
                subscriber.on_tick(tick)

    def _collect_report(self, timer: CycleTimer, reports: list[SupervisorReport]) -> None:
        if self.supervisor is None:
            return
        with timer.section("supervise"):
            if self.supervisor_mode == "synchronous":
                self._wait_for_answer()
            report = self.supervisor.poll()
        if report is not None:
            reports.append(report)
            self._report = report
            if self.on_report is not None:
                self.on_report(report)

    def _wait_for_answer(self) -> None:
        if not self.supervisor.wait(self.supervisor_timeout_s):
            logger.warning("Synchronous supervisor: no answer within %.1f s; the tick goes on without it.",
                           self.supervisor_timeout_s)

    def _pace(self, deadline: float) -> float:
        """Sleep to the next tick deadline in real-time mode; returns the following deadline."""
        deadline += self.period
        if self.config.realtime:
            delay = deadline - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            else:
                deadline = time.perf_counter()  # overran: restart the schedule instead of bursting
        return deadline

    def _succeeded(self) -> bool:
        return (
            self.config.stop_on_success
            and isinstance(self.driver, EpisodicDriver)
            and self.driver.episode_outcome().success
        )

    def _finish_episode(self, error: str | None) -> EpisodeOutcome:
        outcome = self._outcome(error)
        for subscriber in self.subscribers:
            try:
                subscriber.on_episode_end(outcome)
            except Exception:
                logger.exception("Subscriber %r failed at episode end", subscriber)
        return outcome

    def _outcome(self, error: str | None) -> EpisodeOutcome:
        if isinstance(self.driver, EpisodicDriver):
            try:
                judged = self.driver.episode_outcome()
            except Exception:
                logger.exception("Could not judge the episode outcome")
                judged = EpisodeOutcome(False, 0, "outcome unavailable")
            if error is None or judged.success:
                return judged
            return EpisodeOutcome(False, judged.stage, f"aborted: {error}")
        if error is not None:
            return EpisodeOutcome(False, 0, f"aborted: {error}")
        return EpisodeOutcome(False, 0, "ended after max_steps; this driver has no success judge")
