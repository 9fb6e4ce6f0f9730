"""ManiSkill's own motion-planning demonstrators as a policy, registered as ``maniskill_expert``.

ManiSkill ships one scripted solution per task (``mani_skill.examples.motionplanning.panda.solutions``,
mplib screw-motion plans to grasp poses computed from the objects' oriented boxes). A solution cannot be
asked for "the next chunk": it resets an env and drives it to the end by calling ``env.step`` itself.
So this policy plans on a *clone*:

1. ``infer`` reads the driver's privileged state (``ManiSkillDriver.privileged_state``: task, seed, tick,
   ``get_state_dict()``);
2. if it has no plan, or the robot is more than ``replan_tolerance`` [rad] away from where the plan expected
   it at this tick, it replans: a private env of the same task is reset with the episode's seed, set to the
   driver's state (``set_state_dict``), and the solution runs on it to the end; every action the solution
   sends is recorded, with the arm joints the clone had before each one;
3. it returns the next ``horizon`` recorded actions as absolute joint targets ``[H, 8]`` (7 arm joints [rad],
   gripper normalized 0 closed .. 1 open, i.e. ManiSkill's gripper action ``a`` as ``(a + 1) / 2``); past
   the end of the plan it holds the plan's last target.

Because same state + same actions reproduce the same physics, the driver follows the clone's episode.
A replan restarts the scripted solution from the current scene: that finishes the task when the objects
are at rest and out of the hand (e.g. after a failed grasp), but a solution always starts with an open
gripper, so it drops whatever is held. Planning costs 0.1–1 s per plan on one CPU core.

Example:
    >>> with ManiSkillDriver(ManiSkillConfig(task="PullCube-v1")) as robot:
    ...     expert = ManiSkillExpert(robot.privileged_state)
    ...     obs = robot.reset(seed=0)
    ...     chunk = expert.infer(obs)  # [50, 8]
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from failforward.errors import ExpertError, PolicyError
from failforward.policy.base import PolicyBackend
from failforward.policy.registry import PolicyContext, register_policy
from failforward.types import ActionChunk, Observation

logger = logging.getLogger(__name__)

SOLUTIONS = {
    "StackCube-v1": "solveStackCube",
    "LiftPegUpright-v1": "solveLiftPegUpright",
    "PullCube-v1": "solvePullCube",
}
"""ManiSkill env id → solution function in ``mani_skill.examples.motionplanning.panda.solutions``."""
CLONE_MAX_STEPS = 10_000  # [ticks] the clone's time limit; solutions stop on their own long before


class ManiSkillStateLike(Protocol):
    """What this policy reads from ``ManiSkillDriver.privileged_state()`` (see ``ManiSkillState``)."""

    task: str
    control_mode: str
    seed: int
    tick: int
    sim_state: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """A solution run on the clone.

    Attributes:
        start_tick: the driver tick the plan starts at.
        actions: ``[N, 8]`` joint targets in failforward units (see the module docstring).
        expected_arm: ``[N, 7]`` arm joints [rad] the clone had before each action.
        clone_success: whether the clone's ``evaluate()`` reported success at the end.
    """

    start_tick: int
    actions: np.ndarray
    expected_arm: np.ndarray
    clone_success: bool


class _ScriptedClone:
    """Gym wrapper handed to a solution: ``reset`` restores the driver's state, ``step`` records actions.

    Subclasses ``gymnasium.Wrapper`` at run time (gymnasium is only importable in the ManiSkill venv).
    """

    @staticmethod
    def wrap(env: Any, state: ManiSkillStateLike) -> Any:
        gym = importlib.import_module("gymnasium")

        class Recorder(gym.Wrapper):
            def __init__(self) -> None:
                super().__init__(env)
                self.actions: list[np.ndarray] = []
                self.arm: list[np.ndarray] = []

            def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
                out = self.env.reset(seed=state.seed, options=options)
                self.env.unwrapped.set_state_dict(state.sim_state)
                return out

            def step(self, action: Any) -> Any:
                qpos = self.env.unwrapped.agent.robot.get_qpos().cpu().numpy()[0, :7]
                self.arm.append(np.asarray(qpos, dtype=np.float64))
                self.actions.append(np.asarray(action, dtype=np.float64).reshape(-1))
                return self.env.step(action)

        return Recorder()


class ManiSkillExpert(PolicyBackend):
    """Finishes a ManiSkill Panda task from the current state with ManiSkill's motion-planning solution.

    Args:
        state_source: zero-argument callable returning the driver's privileged ``ManiSkillState``.
        horizon: ticks per chunk ``H``.
        replan_tolerance: [rad] largest arm-joint deviation from the plan before it is replanned.

    Raises:
        ExpertError: the task has no solution, or the planner produced no motion.
    """

    def __init__(
        self,
        state_source: Callable[[], ManiSkillStateLike],
        horizon: int = 50,
        replan_tolerance: float = 0.05,
    ) -> None:
        if horizon < 1:
            raise ExpertError(f"horizon must be >= 1 tick, got {horizon}.")
        self._state_source = state_source
        self.horizon, self.replan_tolerance = horizon, replan_tolerance
        self.plan: Plan | None = None
        self.plans_made = 0
        self._clone: Any = None
        self._clone_task = ""

    def reset(self) -> None:
        self.plan = None
        self.plans_made = 0

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        state = self._state_source()
        plan = self.plan if self.plan is not None and not self._must_replan(self.plan, obs, state) else None
        if plan is None:
            plan = self.plan = self._make_plan(state)
        index = min(state.tick - plan.start_tick, len(plan.actions) - 1)
        rows = plan.actions[index : index + self.horizon]
        rows = np.vstack([rows, np.repeat(rows[-1:], self.horizon - len(rows), axis=0)])
        return ActionChunk(rows, source="maniskill_expert")

    def close(self) -> None:
        """Close the clone env (idempotent)."""
        if self._clone is not None:
            self._clone.close()
            self._clone = None

    # ------------------------------------------------------------------ planning
    def _must_replan(self, plan: Plan, obs: Observation, state: ManiSkillStateLike) -> bool:
        if state.tick < plan.start_tick:
            return True
        index = state.tick - plan.start_tick
        if index >= len(plan.actions):
            return False  # the plan is finished: hold its last target
        deviation = float(np.max(np.abs(obs.joint_positions[:7] - plan.expected_arm[index])))
        if deviation > self.replan_tolerance:
            logger.info("Arm %.3f rad off the plan at tick %d: replanning", deviation, state.tick)
            return True
        return False

    def _make_plan(self, state: ManiSkillStateLike) -> Plan:
        if state.task not in SOLUTIONS:
            raise ExpertError(f"No ManiSkill motion-planning solution wired for {state.task!r}; "
                              f"supported tasks: {', '.join(sorted(SOLUTIONS))}.")
        solutions = importlib.import_module("mani_skill.examples.motionplanning.panda.solutions")
        clone = _ScriptedClone.wrap(self._clone_env(state), state)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # the solutions print planner failures
            result = getattr(solutions, SOLUTIONS[state.task])(clone, seed=state.seed)
        self.plans_made += 1
        if printed.getvalue().strip():
            logger.warning("ManiSkill planner (%s, seed %d, tick %d): %s", state.task, state.seed, state.tick,
                           printed.getvalue().strip())
        if not clone.actions:
            raise ExpertError(f"The {state.task} solution planned no motion from tick {state.tick} "
                              f"(planner result {result!r}); the scene may be unreachable from here.")
        success = bool(clone.unwrapped.evaluate()["success"].reshape(-1)[0].item())
        actions = np.stack(clone.actions)
        actions[:, 7] = (actions[:, 7] + 1.0) / 2.0
        logger.debug("Planned %d ticks for %s from tick %d (clone success: %s)", len(actions), state.task,
                     state.tick, success)
        return Plan(state.tick, actions, np.stack(clone.arm), success)

    def _clone_env(self, state: ManiSkillStateLike) -> Any:
        if self._clone is None or self._clone_task != state.task:
            self.close()
            gym = importlib.import_module("gymnasium")
            importlib.import_module("mani_skill.envs")
            self._clone = gym.make(state.task, obs_mode="state", sim_backend="physx_cpu", render_mode=None,
                                   control_mode=state.control_mode, max_episode_steps=CLONE_MAX_STEPS)
            self._clone_task = state.task
        return self._clone


@register_policy("maniskill_expert")
def build_maniskill_expert(config: object, context: PolicyContext) -> ManiSkillExpert:
    """The ManiSkill expert for a ``maniskill`` robot (it needs the simulator's privileged state)."""
    if context.privileged_state is None or context.task not in SOLUTIONS:
        raise PolicyError(
            f"policy.kind='maniskill_expert' needs a simulated ManiSkill robot (robot.kind='maniskill') with one of "
            f"the tasks {', '.join(sorted(SOLUTIONS))}; got task {context.task!r}"
            f"{' without privileged state' if context.privileged_state is None else ''}."
        )
    return ManiSkillExpert(context.privileged_state)
