"""Measure the expert: what an expert episode is judged by, and the preludes' robot interface.

Episodes run in the control loop like any policy's (safety layer, chunk broker, subscribers):
``failforward.learn.expert_episode.run_expert_episode`` builds the loop, starts it after a prelude
(mid-episode takeover) and reads the result from an :class:`ExpertMeter`. This module stays in the
policy layer so the preludes (:mod:`.perturb`) can use its types without importing the control layer.

Example:
    >>> with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=())) as robot:
    ...     expert = ScriptedExpert(robot.task, robot.privileged_state)
    ...     result = run_expert_episode(robot, expert, seed=0)     # failforward.learn.expert_episode
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from failforward.policy.base import PolicyBackend
from failforward.sim.aloha_scene import GRIPPER_INDICES, AlohaScene, SimState
from failforward.types import EpisodeInfo, EpisodeOutcome, JointCommand, Observation, TickRecord, TickSubscriber


class SimRobot(Protocol):
    """The part of ``SimAlohaDriver`` a prelude uses (``scene``: to teleport objects)."""

    def reset(self, seed: int) -> Observation: ...
    def get_observation(self) -> Observation: ...
    def send_action(self, command: JointCommand) -> JointCommand: ...
    def privileged_state(self) -> SimState: ...
    @property
    def scene(self) -> AlohaScene: ...


Prelude = Callable[[SimRobot, Observation, np.random.Generator], Observation]
"""Runs before the expert takes over (another policy, a perturbation); returns the latest observation."""


@dataclass(frozen=True)
class EpisodeResult:
    """One expert episode.

    Attributes:
        success: task stage 4 reached while the expert was in control.
        steps: ticks the expert ran (until success or ``max_steps``).
        max_stage: highest stage seen while the expert was in control.
        max_arm_step: largest per-tick change of an arm joint target [rad] the expert asked for (before
            the safety layer; the first change is from the measured positions at the takeover).
        max_gripper_step: largest per-tick change of a gripper target (normalized), likewise.
        phases: phase names the expert went through, in order, without repeats.
        error: why the loop ended the episode early (an exception), ``None`` when it did not.
    """

    success: bool
    steps: int
    max_stage: int
    max_arm_step: float
    max_gripper_step: float
    phases: tuple[str, ...]
    error: str | None = None


class ExpertMeter(TickSubscriber):
    """Measures an expert's episode from the loop's ticks (subscribe it to the loop running ``expert``).

    Args:
        expert: the policy the loop runs; its ``phase`` attribute (if any) is read on ticks with a new chunk.
    """

    def __init__(self, expert: PolicyBackend) -> None:
        self.expert = expert
        self._clear()

    def on_episode_start(self, info: EpisodeInfo) -> None:
        self._clear()

    def _clear(self) -> None:
        self.steps = 0
        self.max_arm = self.max_gripper = 0.0
        self.phases: list[str] = []
        self._previous: np.ndarray | None = None

    def on_tick(self, tick: TickRecord) -> None:
        action = tick.policy_action
        previous = tick.observation.joint_positions if self._previous is None else self._previous
        delta = np.abs(action - previous)
        grippers = list(GRIPPER_INDICES)
        self.max_arm = max(self.max_arm, float(np.delete(delta, grippers).max()))
        self.max_gripper = max(self.max_gripper, float(delta[grippers].max()))
        self._previous = action
        if tick.chunk is not None:
            phase = getattr(self.expert, "phase", "")
            if not self.phases or self.phases[-1] != phase:
                self.phases.append(phase)
        self.steps += 1

    def result(self, outcome: EpisodeOutcome, error: str | None = None) -> EpisodeResult:
        """The episode measured so far, judged by ``outcome`` (the loop's, from the expert's first tick on)."""
        return EpisodeResult(
            outcome.success, self.steps, outcome.stage, self.max_arm, self.max_gripper, tuple(self.phases), error
        )
