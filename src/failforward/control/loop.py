"""The fixed-rate control loop: observe → correct → infer → safety → act → record, once per tick.

One :class:`ControlLoop` owns time and motion. Policies, supervisors and correctors only propose; the loop
is the only place a proposal becomes a driver command, and every command passes the safety layer. The loop
owns inference: it asks the policy through its chunk broker, and it alone flushes the broker's queue when a
correction's intent (:data:`~failforward.recovery.overrides.Override`) says the queued plan is void.

Supervisor answers reach the loop from a :class:`~failforward.control.ports.ReportSource` in one of two modes
(``LoopConfig.supervisor_mode``):

- ``"asynchronous"`` (default, deployment): after each tick the loop takes whatever answer has arrived
  and never waits; a query launched at tick ``t`` is answered some ticks later (its latency).
- ``"synchronous"`` (benchmarks, tests): after the tick that launched a query the loop waits for its
  answer (at most ``supervisor_timeout_s``), so the answer is collected on that same tick and the
  corrector sees it at tick ``t + 1`` whatever the backend's latency: runs are reproducible.

With a perception step (``RunConfig.perception``, :mod:`failforward.control.perceive`) each observation gets its
object poses before recovery and the policy see it; a tick whose perception fails holds the robot where it was last
sent and never infers from that observation (the queued chunk is dropped; the supervisor is asked at once when no
object was found).

Time: commands are stamped with the observation's clock (see :mod:`failforward.types`).
Build it with :func:`failforward.control.assembly.build_loop`, the one place that assembles a run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from failforward.config import BrokerConfig, LoopConfig
from failforward.control.async_broker import AsyncChunkBroker
from failforward.control.broker import ChunkBroker
from failforward.control.intent import action_for
from failforward.control.perceive import PerceptionStep
from failforward.control.plan_step import PlanStep
from failforward.control.ports import Corrector, OnDemandReports, ReportSource
from failforward.control.safety import SafetyLayer
from failforward.control.timing import CycleTimer
from failforward.perception import ObjectNotFoundError, PerceptionError
from failforward.planner.errors import NodeUnavailableError
from failforward.policy.base import PolicyBackend, infer_chunk
from failforward.recovery.overrides import Override
from failforward.robots.base import EpisodicDriver, RobotDriver
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import (
    ActionChunk,
    ChunkPrefix,
    EpisodeInfo,
    EpisodeOutcome,
    JointCommand,
    Observation,
    TickRecord,
    TickSubscriber,
)

logger = logging.getLogger(__name__)

STOPPED = "stopped on request"  # the default reason of request_stop


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
    episode_id: str = ""  # EpisodeInfo.episode_id: what every record of this episode is tagged with
    # the broker's InferenceStats.summary(), plus the ticks the safety layer's per-tick limit cut (all, and those
    # where a new chunk took over: a splice jump larger than the robot may move in one tick)
    inference: dict[str, float] = field(default_factory=dict)
    # the perception step's PerceptionStep.summary() (ticks held without object poses, and why); empty without one
    perception: dict[str, float] = field(default_factory=dict)
    # the planning step's PlanStep.summary() (planning cycles, why, time spent); empty without a planner
    planning: dict[str, float] = field(default_factory=dict)


def make_broker(
    config: BrokerConfig, loop: LoopConfig, policy: PolicyBackend, safety: SafetyLayer
) -> ChunkBroker | AsyncChunkBroker:
    """The broker ``config.inference`` names, for a loop of ``loop``'s rate and pacing, ``policy``'s RTC support and
    the robot ``safety`` guards (its joint count; its per-tick limit, which splice jumps are measured against)."""
    action_dim = int(safety.max_step.shape[0])
    if config.inference == "asynchronous":
        return AsyncChunkBroker(
            config,
            1.0 / loop.rate_hz,
            realtime=loop.realtime,
            rtc=policy.rtc,
            action_dim=action_dim,
            step_limit=safety.max_step,
        )
    return ChunkBroker(config, action_dim, safety.max_step)


class ControlLoop:
    """Runs episodes of ``policy`` on ``driver`` at ``config.rate_hz``.

    Args:
        driver: a connected robot driver.
        policy: produces action chunks ``[H, A]``.
        safety: clamps every command before it is sent.
        config: rate, episode length, real-time pacing, supervisor mode.
        broker: how chunks become per-tick actions (the loop owns the broker: a :class:`ChunkBroker` that infers
            inside the tick, or with ``inference="asynchronous"`` an :class:`AsyncChunkBroker` whose worker infers
            while the robot moves; when it has nothing queued the loop holds the last safe command).
        prompt: the task instruction handed to the policy.
        subscribers: notified at episode start, every tick and episode end.
        reports: optional supervisor answers; a subscriber too, polled after each tick as
            ``config.supervisor_mode`` says.
        on_report: called with every answer collected (recorder, logs).
        corrector: optional recovery; a subscriber too. Each tick, before inference, it gets the answer
            collected at the end of the previous tick and may return an override.
        perception: optional object poses for the policy (see the module docstring).
        planning: optional System-2 planner whose current subgoal is the policy's prompt
            (:mod:`failforward.control.plan_step`).
    """

    def __init__(
        self,
        driver: RobotDriver,
        policy: PolicyBackend,
        safety: SafetyLayer,
        config: LoopConfig,
        broker: BrokerConfig,
        *,
        prompt: str = "",
        subscribers: Sequence[TickSubscriber] = (),
        reports: ReportSource | None = None,
        on_report: Callable[[SupervisorReport], None] | None = None,
        corrector: Corrector | None = None,
        perception: PerceptionStep | None = None,
        planning: PlanStep | None = None,
    ) -> None:
        self.driver, self.policy, self.safety, self.config, self.prompt = driver, policy, safety, config, prompt
        self.perception, self.planning = perception, planning
        self.broker = make_broker(broker, config, policy, safety)
        self.reports, self.on_report, self.corrector = reports, on_report, corrector
        self.subscribers: list[TickSubscriber | ReportSource | Corrector] = [
            *subscribers,
            *(s for s in (reports, corrector) if s is not None),
        ]
        self._report: SupervisorReport | None = None
        self._episode_id = ""
        self.period = 1.0 / config.rate_hz
        self._stop = threading.Event()
        self._stop_reason = STOPPED

    def request_stop(self, reason: str = "") -> None:
        """Ask the running episode to end after the current tick (thread-safe); cleared at episode start. Its
        outcome reads ``aborted: <reason>`` (default ``stopped on request``; ``interrupted`` on Ctrl-C)."""
        self._stop_reason = reason or STOPPED
        self._stop.set()

    def run_episode(self, index: int, seed: int, task: str = "") -> EpisodeResult:
        """Run one episode to success, ``max_steps`` or an error; subscribers always see its end."""
        timer = CycleTimer(period=self.period)
        counters = {"holds": 0, "clamped": 0, "rate_limited": 0, "splices_rate_limited": 0}
        ticks, error = 0, None
        reports: list[SupervisorReport] = []
        self._stop.clear()
        try:
            self._start_episode(index, seed, task)
            next_deadline = time.perf_counter()
            while ticks < self.config.max_steps and not self._stop.is_set():
                timer.start_tick()
                observation, action, chunk = self._decide(timer, self._observe(timer), ticks)
                command = self._apply_safety(timer, action, counters, spliced=chunk is not None)
                sent = self._act(timer, observation, command)
                self._notify(timer, TickRecord(ticks, observation, action, sent, chunk, timer.current_sections()))
                self._collect_report(timer, reports)
                timer.end_tick()
                ticks += 1
                next_deadline = self._pace(next_deadline)
                if self._succeeded():
                    break
            if self._stop.is_set():
                error = self._stop_reason
        except Exception as exc:  # a failing driver or policy must end the episode, never the process
            if self._stop.is_set():  # stopping: a peer going down with us (a ROS graph on Ctrl-C) is no new fault
                logger.warning("Episode %d stopping (%s) at tick %d: %s", index, self._stop_reason, ticks, exc)
                error = self._stop_reason
            else:
                # the error's message says what happened; its traceback only with debug logging (failforward --debug)
                logger.error(
                    "Episode %d ended by an error at tick %d: %s",
                    index,
                    ticks,
                    exc,
                    exc_info=logger.isEnabledFor(logging.DEBUG),
                )
                error = f"{type(exc).__name__}: {exc}"
        outcome = self._finish_episode(error)
        result = EpisodeResult(
            index,
            seed,
            outcome,
            ticks,
            timer.summary(),
            counters["holds"],
            counters["clamped"],
            error,
            reports=reports,
            episode_id=self._episode_id,
            inference={
                **self.broker.stats.summary(),
                "splices_rate_limited": float(counters["splices_rate_limited"]),
                "rate_limited_ticks": float(counters["rate_limited"]),
            },
            perception=self.perception.summary() if self.perception is not None else {},
            planning=self.planning.summary() if self.planning is not None else {},
        )
        return result

    # ----------------------------------------------------------------- steps
    def _start_episode(self, index: int, seed: int, task: str) -> None:
        driver = self.driver
        observation = driver.reset(seed) if isinstance(driver, EpisodicDriver) else driver.get_observation()
        self.safety.reset(observation.joint_positions)
        self.broker.reset()
        if self.perception is not None:
            self.perception.reset(seed)
        if self.planning is not None:
            self.planning.reset(seed)
        self._report = None
        self.policy.reset()
        self.policy.seed_episode(seed)
        info = EpisodeInfo(index, seed, task, self.prompt, type(driver).__name__, driver.features)
        if isinstance(driver, EpisodicDriver) and driver.episode_id is not None:
            info = replace(info, episode_id=driver.episode_id)  # the robot names its episodes (a remote bridge)
        self._episode_id = info.episode_id
        for subscriber in self.subscribers:
            subscriber.on_episode_start(info)

    def _observe(self, timer: CycleTimer) -> Observation:
        with timer.section("observe"):
            return self.driver.get_observation()

    def _decide(
        self, timer: CycleTimer, observation: Observation, tick: int
    ) -> tuple[Observation, np.ndarray, ActionChunk | None]:
        """Perception, then correction and inference: the observation as the policy saw it, this tick's action and
        the chunk that took over; a hold (and no chunk) when perception failed."""
        seen = self._perceive(timer, observation)
        if isinstance(seen, PerceptionError):
            self._went_blind(seen, tick)
            return observation, self._hold(observation), None
        prompt = self._plan(timer, seen, tick)
        if isinstance(prompt, NodeUnavailableError):
            self._lost_node(prompt, tick)
            return seen, self._hold(observation), None
        override = self._correct(timer, seen)
        action, chunk = self._infer(timer, seen, override, tick, prompt)
        if self.planning is not None and override is None and chunk is not None and chunk.done is not None:
            self.planning.note_done(chunk.done)  # System 1's end of edge for the subgoal it was prompted with
        return seen, action, chunk

    def _perceive(self, timer: CycleTimer, observation: Observation) -> Observation | PerceptionError:
        if self.perception is None:
            return observation
        with timer.section("perceive"):
            return self.perception.perceive(observation)

    def _went_blind(self, error: PerceptionError, tick: int) -> None:
        """On the first tick of a hold: the queued chunk is void; with no object in view the supervisor is asked now."""
        if self.perception is None or not self.perception.first_blind_tick:
            return
        self.broker.flush()
        if isinstance(error, ObjectNotFoundError) and isinstance(self.reports, OnDemandReports):
            self.reports.request(tick, str(error))

    def _plan(self, timer: CycleTimer, observation: Observation, tick: int) -> str | NodeUnavailableError:
        """The prompt of this tick: the planner's current subgoal (a new one voids the queue), else the task's."""
        if self.planning is None:
            return self.prompt
        with timer.section("plan"):
            prompt = self.planning.prompt_for(observation, self._report, tick)
        if self.planning.changed:
            self.broker.flush()
        return prompt

    def _lost_node(self, error: NodeUnavailableError, tick: int) -> None:
        """The scene graph cannot be computed: hold (the queued chunk is void) and ask the supervisor once."""
        if self.planning is None or not self.planning.first_lost_tick:
            return
        logger.warning("Holding at tick %d: %s", tick, error)
        self.broker.flush()
        if isinstance(self.reports, OnDemandReports):
            self.reports.request(tick, str(error))

    def _hold(self, observation: Observation) -> np.ndarray:
        """Where the robot was last sent (its measured joints before any command)."""
        held = self.safety.last_command
        return held if held is not None else observation.joint_positions

    def _correct(self, timer: CycleTimer, observation: Observation) -> Override | None:
        report, self._report = self._report, None  # an answer reaches planning and recovery on one tick only
        if self.corrector is None:
            return None
        with timer.section("recover"):
            return self.corrector.step(observation, report)

    def _infer(
        self, timer: CycleTimer, observation: Observation, override: Override | None, tick: int, prompt: str
    ) -> tuple[np.ndarray, ActionChunk | None]:
        with timer.section("infer"):
            action, chunk = action_for(override, self.broker, self._policy_infer, observation, prompt, tick)
        if action is None:  # nothing queued (a late chunk): hold where the robot was last sent
            action = self._hold(observation)
        return action, chunk

    def _policy_infer(self, observation: Observation, prompt: str, prefix: ChunkPrefix | None) -> ActionChunk:
        return infer_chunk(self.policy, observation, prompt=prompt, prefix=prefix)

    def _apply_safety(
        self, timer: CycleTimer, action: np.ndarray, counters: dict[str, int], *, spliced: bool
    ) -> np.ndarray:
        with timer.section("safety"):
            result = self.safety.clamp(action)
        rate_limited = bool(result.rate_limited.any())
        counters["holds"] += int(result.held)
        counters["clamped"] += int(result.modified and not result.held)
        counters["rate_limited"] += int(rate_limited)
        counters["splices_rate_limited"] += int(rate_limited and spliced)
        return result.command

    def _act(self, timer: CycleTimer, observation: Observation, command: np.ndarray) -> JointCommand:
        with timer.section("act"):
            return self.driver.send_action(JointCommand(observation.timestamp, command))

    def _notify(self, timer: CycleTimer, tick: TickRecord) -> None:
        with timer.section("record"):
            for subscriber in self.subscribers:
                subscriber.on_tick(tick)

    def _collect_report(self, timer: CycleTimer, reports: list[SupervisorReport]) -> None:
        if self.reports is None:
            return
        with timer.section("supervise"):
            if self.config.supervisor_mode == "synchronous":
                self._wait_for_answer(self.reports)
            report = self.reports.poll()
        if report is not None:
            reports.append(report)
            self._report = report
            if self.on_report is not None:
                self.on_report(report)

    def _wait_for_answer(self, reports: ReportSource) -> None:
        if not reports.wait(self.config.supervisor_timeout_s):
            logger.warning(
                "Synchronous supervisor: no answer within %.1f s; the tick goes on without it.",
                self.config.supervisor_timeout_s,
            )

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
