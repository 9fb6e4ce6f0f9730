"""ManiSkill's own motion-planning demonstrators as a policy, registered as ``maniskill_expert``.

ManiSkill ships one scripted solution per task (``mani_skill.examples.motionplanning.panda.solutions``,
mplib screw-motion plans to grasp poses computed from the objects' oriented boxes). A solution cannot be
asked for "the next chunk": it resets an env and drives it to the end by calling ``env.step`` itself.
So this policy plans on a *clone*:

1. ``infer`` reads the driver's privileged state (``ManiSkillDriver.privileged_state``: task, seed, tick,
   ``get_state_dict()``);
2. it (re)plans when it has no plan, when the world is not where the plan expected it at this tick (an arm
   joint off by more than ``arm_tolerance`` [rad], or an object's position by more than
   ``object_tolerance`` [m]); at most ``max_plans`` plans per episode, after which it keeps following
   (or holding) the last one. A replan that yields no motion keeps the previous plan too. A plan that
   ended without success is not retried: in 50 seeds per task a retry never turned a failure around.
   Planning: a private env of the same task is reset with the episode's seed, set to the driver's state
   (``set_state_dict``), and the solution runs on it to the end; every action the solution sends is
   recorded, with the arm joints and object positions the clone had before it (and after the last one);
3. it returns the next ``horizon`` recorded actions as absolute joint targets ``[H, 8]`` (7 arm joints [rad],
   gripper normalized 0 closed .. 1 open, i.e. ManiSkill's gripper action ``a`` as ``(a + 1) / 2``); past
   the end of the plan it holds the plan's last target.

Because same state + same actions reproduce the same physics, the driver follows the clone's episode.
A replan restarts the scripted solution from the current scene: that finishes the task when the objects
are at rest and out of the hand (a dropped or displaced object, a failed attempt), but a solution always
starts with an open gripper, so it drops whatever is held. Planning costs 0.1–1 s per plan on one core.

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
from failforward.types import ActionChunk, ChunkPrefix, Observation

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
        expected_arm: ``[N + 1, 7]`` arm joints [rad] the clone had before each action and after the last.
        expected_objects: ``[N + 1, K, 3]`` positions [m] (world frame) of the scene's actors, same ticks.
        object_names: the ``K`` actor names (keys of the state dict's ``"actors"``).
        clone_success: whether the clone's ``evaluate()`` reported success at the end.
    """

    start_tick: int
    actions: np.ndarray
    expected_arm: np.ndarray
    expected_objects: np.ndarray
    object_names: tuple[str, ...]
    clone_success: bool


def object_positions(sim_state: dict[str, Any], names: tuple[str, ...]) -> np.ndarray:
    """``[K, 3]`` actor positions [m] from a ManiSkill state dict (actor rows are ``[1, 13]``: pose, velocity)."""
    return np.stack([np.asarray(sim_state["actors"][n], dtype=np.float64).reshape(-1)[:3] for n in names])


class _ScriptedClone:
    """Gym wrapper handed to a solution: ``reset`` restores the driver's state, ``step`` records actions.

    Subclasses ``gymnasium.Wrapper`` at run time (gymnasium is only importable in the ManiSkill venv).
    """

    @staticmethod
    def wrap(env: Any, state: ManiSkillStateLike) -> Any:
        wrapper: Any = importlib.import_module("gymnasium").Wrapper  # a run-time base class

        class Recorder(wrapper):
            def __init__(self) -> None:
                super().__init__(env)
                self.names = tuple(state.sim_state["actors"])
                self.actions: list[np.ndarray] = []
                self.arm: list[np.ndarray] = []
                self.objects: list[np.ndarray] = []

            def snapshot(self) -> None:
                """Record the clone's arm joints [rad] and object positions [m] now."""
                base = self.env.unwrapped
                self.arm.append(np.asarray(base.agent.robot.get_qpos().cpu().numpy()[0, :7], dtype=np.float64))
                self.objects.append(object_positions(base.get_state_dict(), self.names))

            def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
                out = self.env.reset(seed=state.seed, options=options)
                self.env.unwrapped.set_state_dict(state.sim_state)
                return out

            def step(self, action: Any) -> Any:
                self.snapshot()
                self.actions.append(np.asarray(action, dtype=np.float64).reshape(-1))
                return self.env.step(action)

        return Recorder()


class ManiSkillExpert(PolicyBackend):
    """Finishes a ManiSkill Panda task from the current state with ManiSkill's motion-planning solution.

    Args:
        state_source: zero-argument callable returning the driver's privileged ``ManiSkillState``.
        horizon: ticks per chunk ``H``.
        arm_tolerance: [rad] largest arm-joint deviation from the plan before it is replanned.
        object_tolerance: [m] largest object displacement from the plan before it is replanned.
        max_plans: plans per episode at most (the first included).

    Raises:
        ExpertError: the task has no solution, or the planner produced no motion.
    """

    def __init__(
        self,
        state_source: Callable[[], ManiSkillStateLike],
        horizon: int = 50,
        arm_tolerance: float = 0.05,
        object_tolerance: float = 0.02,
        max_plans: int = 3,
    ) -> None:
        if horizon < 1 or max_plans < 1:
            raise ExpertError(f"horizon and max_plans must be >= 1, got {horizon} and {max_plans}.")
        self._state_source = state_source
        self.horizon, self.max_plans = horizon, max_plans
        self.arm_tolerance, self.object_tolerance = arm_tolerance, object_tolerance
        self.plan: Plan | None = None
        self.plans_made = 0
        self._clone: Any = None
        self._clone_task = ""

    def reset(self) -> None:
        self.plan = None
        self.plans_made = 0

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        state = self._state_source()
        plan = self.plan
        if plan is None:
            plan = self.plan = self._make_plan(state)
        elif self._must_replan(plan, obs, state):
            plan = self.plan = self._replan(state, plan)
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
        index = state.tick - plan.start_tick
        if index < 0:
            return True  # a new episode without reset()
        reason = self._replan_reason(plan, obs, state, min(index, len(plan.actions)))
        if reason and self.plans_made >= self.max_plans:
            logger.debug(
                "Tick %d: %s, but %d plans were made already: keeping the plan", state.tick, reason, self.plans_made
            )
            return False
        if reason:
            logger.info("Tick %d: %s: replanning", state.tick, reason)
        return bool(reason)

    def _replan_reason(self, plan: Plan, obs: Observation, state: ManiSkillStateLike, k: int) -> str:
        arm = float(np.max(np.abs(obs.joint_positions[:7] - plan.expected_arm[k])))
        if arm > self.arm_tolerance:
            return f"arm {arm:.3f} rad off the plan"
        moved = np.linalg.norm(object_positions(state.sim_state, plan.object_names) - plan.expected_objects[k], axis=1)
        if float(np.max(moved)) > self.object_tolerance:
            return f"{plan.object_names[int(np.argmax(moved))]} {float(np.max(moved)):.3f} m off the plan"
        return ""

    def _replan(self, state: ManiSkillStateLike, previous: Plan) -> Plan:
        """A new plan from here; if the planner finds no motion, the previous plan (and no further replans)."""
        try:
            return self._make_plan(state)
        except ExpertError as exc:
            if state.tick < previous.start_tick:
                raise  # the previous plan belongs to an earlier episode
            logger.warning("%s Keeping the previous plan.", exc)
            self.plans_made = self.max_plans
            return previous

    def _make_plan(self, state: ManiSkillStateLike) -> Plan:
        if state.task not in SOLUTIONS:
            raise ExpertError(
                f"No ManiSkill motion-planning solution wired for {state.task!r}; "
                f"supported tasks: {', '.join(sorted(SOLUTIONS))}."
            )
        solutions = importlib.import_module("mani_skill.examples.motionplanning.panda.solutions")
        clone = _ScriptedClone.wrap(self._clone_env(state), state)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):  # the solutions print planner failures
            result = getattr(solutions, SOLUTIONS[state.task])(clone, seed=state.seed)
        self.plans_made += 1
        if printed.getvalue().strip():
            logger.warning(
                "ManiSkill planner (%s, seed %d, tick %d): %s",
                state.task,
                state.seed,
                state.tick,
                printed.getvalue().strip(),
            )
        if not clone.actions:
            raise ExpertError(
                f"The {state.task} solution planned no motion from tick {state.tick} "
                f"(planner result {result!r}); the scene may be unreachable from here."
            )
        clone.snapshot()
        success = bool(clone.unwrapped.evaluate()["success"].reshape(-1)[0].item())
        actions = np.stack(clone.actions)
        actions[:, 7] = (actions[:, 7] + 1.0) / 2.0
        logger.debug(
            "Planned %d ticks for %s from tick %d (clone success: %s)", len(actions), state.task, state.tick, success
        )
        return Plan(state.tick, actions, np.stack(clone.arm), np.stack(clone.objects), clone.names, success)

    def _clone_env(self, state: ManiSkillStateLike) -> Any:
        if self._clone is None or self._clone_task != state.task:
            self.close()
            gym = importlib.import_module("gymnasium")
            importlib.import_module("mani_skill.envs")
            self._clone = gym.make(
                state.task,
                obs_mode="state",
                sim_backend="physx_cpu",
                render_mode=None,
                control_mode=state.control_mode,
                max_episode_steps=CLONE_MAX_STEPS,
            )
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
