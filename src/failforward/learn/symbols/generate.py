"""Symbol-following episodes on the simulated ALOHA (ViFailback's VSF data): expert prelude, one atomic
corrective motion, each episode an ordinary MCAP file.

Per episode (seed ``s``, ``rng = default_rng(s)``): the scene is reset to ``s``; the scripted expert runs
``takeover`` ticks (drawn from ``SymbolDataConfig.prelude_ticks``); then one sampled correction ("Move the right
gripper upward slightly.") is planned with PMC from the last command sent and executed. Everything runs in
:class:`ControlLoop` (safety layer, chunk broker, recorder). The file holds:

- ``/task/prompt``: the correction's sentence, the prompt VSF gives the policy at runtime;
- ``/supervisor/diagnosis`` at the hand-over tick (``step = takeover``): the correction as the runtime's parser
  reads a ViFailback answer (command text, typed commands, symbols in pixels of the head image at the driver's
  size, ``symbol_frame = 0`` = the hand-over frame, ``raw`` = the answer with 0–1000 coordinates);
- the episode outcome: success = the measured tool reached what the commands requested
  (:mod:`failforward.learn.symbols.verdict`), judged by :class:`SymbolJudge` at the motion's last tick. A
  missed motion ends the loop by ``request_stop``, so its file's reason reads "aborted: stopped on request";
  the measured reason is in the generator's row (``reason``, ``verdict``).

Only ticks ``takeover ..`` are symbol-following data (the prelude is the expert doing the task). Refused
commands (target outside the PMC workspace, unreachable, a no-op open/close) are never moved: the episode ends
one tick after the hand-over, labelled failed with the refusal as its reason.

Example:
    >>> with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=())) as robot:
    ...     rows = run_symbol_episodes(robot, sample_episodes(10, seed=50_000, config=cfg), cfg, recorder=recorder)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from failforward.config import BrokerConfig, LoopConfig, RunConfig, SafetyConfig, SimAlohaConfig
from failforward.control.assembly import assemble_loop
from failforward.errors import ConfigError
from failforward.learn.symbols.config import SymbolDataConfig
from failforward.learn.symbols.plan import Command, SymbolPlan, SymbolPlanner
from failforward.learn.symbols.policy import SymbolMotionPolicy
from failforward.learn.symbols.sampling import sample_commands, sample_prelude_ticks
from failforward.learn.symbols.verdict import MotionVerdict, ToolState, judge_motion, measure_tool
from failforward.policy.expert.expert import ScriptedExpert
from failforward.record.recorder import EpisodeRecorder
from failforward.recovery.correction import Refusal
from failforward.robots.wrappers import DriverWrapper
from failforward.supervisor.commands import format_commands
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import EpisodeOutcome, JointCommand, Observation

if TYPE_CHECKING:
    from failforward.robots.sim_aloha import SimAlohaDriver

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SymbolEpisodeSpec:
    """One episode to generate: reset ``seed``, expert for ``takeover`` [ticks], then ``commands``."""

    seed: int
    takeover: int
    commands: tuple[Command, ...]

    @property
    def prompt(self) -> str:
        return format_commands(self.commands)


def sample_episodes(count: int, seed: int, config: SymbolDataConfig) -> list[SymbolEpisodeSpec]:
    """``count`` specs with seeds ``seed, seed + 1, …``; each draws its prelude and command from its own seed."""
    specs = []
    for s in range(seed, seed + count):
        rng = np.random.default_rng(s)
        specs.append(SymbolEpisodeSpec(s, sample_prelude_ticks(rng, config), sample_commands(rng, config)))
    return specs


class SymbolJudge(DriverWrapper):
    """A ``SimAlohaDriver`` judged by the corrective motion (see the module docstring); everything but
    ``reset``, ``send_action`` and ``episode_outcome`` is the inner driver's.

    It measures the addressed tool in the simulator as the first corrective command is sent (the state at the
    hand-over) and after the motion's last one. A followed motion is a success (the loop stops on success); a
    missed or refused one calls ``stop`` (``ControlLoop.request_stop``) so the episode ends there too.
    """

    driver: SimAlohaDriver

    def __init__(self, driver: SimAlohaDriver, policy: SymbolMotionPolicy, config: SymbolDataConfig) -> None:
        super().__init__(driver)
        self.policy, self.config = policy, config
        self.stop: Callable[[], None] = lambda: None
        self._reset_episode()

    def _reset_episode(self) -> None:
        self.ticks = 0
        self.start_tool: ToolState | None = None
        self.verdict: MotionVerdict | None = None

    def reset(self, seed: int) -> Observation:
        self._reset_episode()
        return self.driver.reset(seed)

    def send_action(self, command: JointCommand) -> JointCommand:
        plan = self.policy.plan
        if plan is not None and self.ticks == self.policy.takeover:
            self.start_tool = measure_tool(self.driver.scene, plan.arm)
        sent = self.driver.send_action(command)
        self.ticks += 1
        if self.policy.refusal is not None and self.ticks > self.policy.takeover:
            self.stop()
        elif plan is not None and self.start_tool is not None and self.ticks == self.policy.motion_end:
            self.verdict = judge_motion(plan, self.start_tool, measure_tool(self.driver.scene, plan.arm), self.config)
            if not self.verdict.success:
                self.stop()
        return sent

    def episode_outcome(self) -> EpisodeOutcome:
        stage = self.driver.episode_outcome().stage
        if self.verdict is not None:
            return EpisodeOutcome(self.verdict.success, stage, self.verdict.reason)
        if self.policy.refusal is not None:
            return EpisodeOutcome(False, stage, f"refused: {self.policy.refusal.reason}")
        return EpisodeOutcome(False, stage, "the corrective motion did not finish")


def _report_listener(
    recorder: EpisodeRecorder | None, episode: list[int], takeover: Callable[[], int]
) -> Callable[[Observation, SymbolPlan | Refusal], None]:
    """Records a plan's diagnosis on ``/supervisor/diagnosis`` at the hand-over observation's time."""

    def record(observation: Observation, result: SymbolPlan | Refusal) -> None:
        if recorder is None or isinstance(result, Refusal):
            return
        t = observation.timestamp
        recorder.record_report(SupervisorReport(result.diagnosis, episode[0], takeover(), t, (t,), 0.0))

    return record


def run_symbol_episodes(
    driver: SimAlohaDriver,
    specs: list[SymbolEpisodeSpec],
    config: SymbolDataConfig,
    *,
    recorder: EpisodeRecorder | None = None,
    broker: BrokerConfig | None = None,
    safety: SafetyConfig | None = None,
    on_episode: Callable[[dict[str, Any]], object] | None = None,
) -> list[dict[str, Any]]:
    """Run ``specs`` on a connected ``SimAlohaDriver``; one JSON-ready row per episode (seed, takeover, prompt,
    success, reason, ticks, file, verdict)."""
    broker = broker or BrokerConfig()
    if broker.mode != "chunk":
        raise ConfigError(
            "symbol episodes need BrokerConfig(mode='chunk'): every handed-out row must be executed "
            "so that the motion starts exactly at the takeover tick."
        )
    chunk = broker.execute_steps
    episode = [0]
    policy = SymbolMotionPolicy(
        ScriptedExpert(driver.task, driver.privileged_state, horizon=chunk),
        SymbolPlanner.for_sim_aloha(driver, config),
        chunk,
    )
    policy.on_plan = _report_listener(recorder, episode, lambda: policy.takeover)
    judge = SymbolJudge(driver, policy, config)
    rate = driver.features.control_hz
    rows = []
    for index, spec in enumerate(specs):
        episode[0] = index
        policy.load(spec.takeover, spec.commands)
        loop = assemble_loop(
            judge,
            policy,
            loop=LoopConfig(rate_hz=rate, max_steps=spec.takeover + config.max_motion_ticks + 1),
            safety=safety or SafetyConfig(),
            broker=broker,
            prompt=spec.prompt,
            subscribers=[recorder] if recorder is not None else [],
        )
        judge.stop = loop.request_stop
        result = loop.run_episode(index, spec.seed, task=driver.task.name)
        outcome = judge.episode_outcome() if result.error in (None, "stopped on request") else result.outcome
        row = {
            "seed": spec.seed,
            "takeover": spec.takeover,
            "prompt": spec.prompt,
            "success": outcome.success,
            "reason": outcome.reason,
            "ticks": result.steps,
            "refused": policy.refusal is not None,
            "arm": policy.plan.arm if policy.plan else None,
            "file": str(recorder.files[-1]) if recorder is not None and recorder.files else None,
            "verdict": judge.verdict.to_dict() if judge.verdict is not None else None,
        }
        rows.append(row)
        if on_episode is not None:
            on_episode(row)
    return rows


def generate_symbol_episodes(
    run: RunConfig,
    run_name: str,
    count: int,
    seed: int,
    config: SymbolDataConfig | None = None,
    on_episode: Callable[[dict[str, Any]], object] | None = None,
) -> list[dict[str, Any]]:
    """``count`` episodes (seeds ``seed ..``) on ``run``'s simulated robot, recorded into
    ``run.record.output_dir / run_name`` with ``run``'s broker and safety settings."""
    if not isinstance(run.robot, SimAlohaConfig):
        raise ConfigError(
            f"symbol episodes need the simulated ALOHA (scripted expert, PMC's IK, a rendered head "
            f"camera); this run drives {run.robot.kind!r}: use a sim_* preset."
        )
    config = config or SymbolDataConfig()
    recorder = EpisodeRecorder(run.record, run_name)
    try:
        from failforward.robots.sim_aloha import SimAlohaDriver

        with SimAlohaDriver(run.robot) as driver:
            return run_symbol_episodes(
                driver,
                sample_episodes(count, seed, config),
                config,
                recorder=recorder,
                broker=run.broker,
                safety=run.safety,
                on_episode=on_episode,
            )
    finally:
        recorder.close()
