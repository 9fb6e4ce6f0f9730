"""Measure the expert: physics-only episodes with chunked execution, optionally after a takeover.

This is a minimal chunk-broker loop (execute the first ``execute_steps`` rows of each chunk, then
infer again) for benchmarking the expert alone; the real control loop lives in ``control``.
The robot is any object with the simulated driver's methods (see :class:`SimRobot`), so this
module does not depend on the driver package.

Example:
    >>> with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=())) as robot:
    ...     expert = ScriptedExpert(robot.task, robot.privileged_state)
    ...     result = run_expert_episode(robot, expert, seed=0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from failforward.policy.base import PolicyBackend
from failforward.sim.aloha_scene import GRIPPER_INDICES, SimState
from failforward.types import JointCommand, Observation


class SimRobot(Protocol):
    """The part of ``SimAlohaDriver`` the evaluation uses."""

    def reset(self, seed: int) -> Observation: ...
    def get_observation(self) -> Observation: ...
    def send_action(self, command: JointCommand) -> JointCommand: ...
    def privileged_state(self) -> SimState: ...


Prelude = Callable[[SimRobot, Observation, np.random.Generator], Observation]
"""Runs before the expert takes over (another policy, a perturbation); returns the latest observation."""


@dataclass(frozen=True)
class EpisodeResult:
    """One expert episode.

    Attributes:
        success: task stage 4 reached while the expert was in control.
        steps: ticks the expert ran (until success or ``max_steps``).
        max_stage: highest stage seen while the expert was in control.
        max_arm_step: largest per-tick change of an arm joint target [rad] the expert sent.
        max_gripper_step: largest per-tick change of a gripper target (normalized).
        phases: phase names the expert went through, in order, without repeats.
    """

    success: bool
    steps: int
    max_stage: int
    max_arm_step: float
    max_gripper_step: float
    phases: tuple[str, ...]


def run_expert_episode(
    robot: SimRobot,
    expert: PolicyBackend,
    seed: int,
    *,
    max_steps: int = 400,
    execute_steps: int = 25,
    prelude: Prelude | None = None,
) -> EpisodeResult:
    """Reset to ``seed``, run ``prelude`` (if any), then the expert for up to ``max_steps`` ticks."""
    obs = robot.reset(seed)
    if prelude is not None:
        obs = prelude(robot, obs, np.random.default_rng(seed))
    expert.reset()
    previous = obs.joint_positions
    arm_columns = [i for i in range(len(previous)) if i not in GRIPPER_INDICES]
    max_arm = max_grip = 0.0
    phases: list[str] = []
    steps, stage = 0, 0
    while steps < max_steps:
        chunk = expert.infer(obs)
        phase = getattr(expert, "phase", "")
        if not phases or phases[-1] != phase:
            phases.append(phase)
        for action in chunk.actions[:execute_steps]:
            delta = np.abs(action - previous)
            max_arm = max(max_arm, float(delta[arm_columns].max()))
            max_grip = max(max_grip, float(delta[list(GRIPPER_INDICES)].max()))
            previous = action
            robot.send_action(JointCommand(obs.timestamp, action))
            obs = robot.get_observation()
            steps += 1
            state = robot.privileged_state()
            stage = max(stage, state.stage)
            if state.success or steps >= max_steps:
                return EpisodeResult(state.success, steps, stage, max_arm, max_grip, tuple(phases))
    return EpisodeResult(False, steps, stage, max_arm, max_grip, tuple(phases))
