"""The scripted expert: a :class:`PolicyBackend` that finishes a simulated ALOHA task from any state.

Each ``infer`` call:
1. reads privileged state (``state_source()``) into measured :class:`SceneFacts`;
2. asks the task's planner for the waypoints that finish the task from here (phase inferred);
3. starts the trajectory at the last command it sent if that is still where the robot is heading
   (smooth chunk-to-chunk), otherwise at the measured joints (taking over from another policy; a gripper
   holding an object whose plan keeps it closed squeezes from the first row, closing from its measured opening
   at ``GRIP_RAMP_SPEED`` rather than over the whole segment, so the object does not slip: :func:`grip_held`);
4. renders ``horizon`` ticks: min-jerk tool poses → one speed-limited mink IK step per tick.

Rows are absolute joint targets ``[H, 14]`` in ``JOINT_NAMES`` order; arm joints move at most
``AlohaIK.max_joint_speed`` [rad/s] and grippers at most ~4.7 [1/s], inside the safety layer's limits.

Example:
    >>> with SimAlohaDriver(SimAlohaConfig(task="insertion", cameras=())) as robot:
    ...     expert = ScriptedExpert(robot.task, robot.privileged_state)
    ...     obs = robot.reset(seed=0)
    ...     chunk = expert.infer(obs)
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from failforward.errors import ExpertError, ShapeError
from failforward.kinematics.aloha_ik import ARM_JOINTS, CONTROL_DT, SIDES, AlohaIK
from failforward.policy.base import PolicyBackend
from failforward.policy.expert.facts import BLOCKED, SceneFacts, read_facts
from failforward.policy.expert.insertion import InsertionPlanner
from failforward.policy.expert.planner import TaskPlanner
from failforward.policy.expert.plug_strip import PlugStripPlanner
from failforward.policy.expert.transfer_cube import TransferCubePlanner
from failforward.policy.expert.waypoints import ToolState, Trajectory, Waypoint
from failforward.sim.aloha_scene import SimState
from failforward.sim.tasks import SimTaskSpec
from failforward.types import ActionChunk, ChunkPrefix, Observation

logger = logging.getLogger(__name__)

PLANNERS: dict[str, type[TaskPlanner]] = {
    "transfer_cube": TransferCubePlanner,
    "insertion": InsertionPlanner,
    "plug_strip": PlugStripPlanner,  # its default order; pass planner=PlugStripPlanner(order) for another
}
ARM_COLUMNS = np.r_[0:6, 7:13]  # arm joints within the 14-joint action
GRIPPER_COLUMNS = {"left": 6, "right": 13}
RESUME_TOLERANCE = 0.15  # [rad] last command counts as "where the robot is heading" within this
GRIP_RAMP_SPEED = 4.5  # [1/s] a held gripper's command closing from its measured opening (grip_held), < 5/s


class ScriptedExpert(PolicyBackend):
    """Privileged-state demonstrator for ``transfer_cube``, ``insertion`` and ``plug_strip``.

    Args:
        task: the simulated task (its MJCF feeds the expert's own IK model).
        state_source: zero-argument callable returning the current :class:`SimState`
            (e.g. ``SimAlohaDriver.privileged_state``).
        horizon: ticks per chunk ``H``.
        planner: the task planner to run (default: a new ``PLANNERS[task.name]``), e.g.
            ``PlugStripPlanner(order=[("plug_a", "socket_1")])``.

    Raises:
        ExpertError: for a task without a planner (message lists the supported tasks).
    """

    def __init__(
        self,
        task: SimTaskSpec,
        state_source: Callable[[], SimState],
        horizon: int = 50,
        *,
        planner: TaskPlanner | None = None,
    ) -> None:
        if planner is None and task.name not in PLANNERS:
            raise ExpertError(
                f"No scripted expert for task {task.name!r}; supported tasks: {', '.join(sorted(PLANNERS))}."
            )
        if horizon < 1:
            raise ExpertError(f"horizon must be >= 1 tick, got {horizon}.")
        self.task = task
        self.horizon = horizon
        self.ik = AlohaIK(task.xml_path)
        self.planner = planner if planner is not None else PLANNERS[task.name]()
        self.phase = "none"
        self._state_source = state_source
        self._last: tuple[float, np.ndarray] | None = None
        self.trajectory: Trajectory | None = None  # the trajectory being followed
        self._trajectory_t0 = 0.0  # [s] sim time at which ``trajectory`` started
        self.fresh_plan = True  # whether the last chunk started a new trajectory (from rest) rather than continuing one
        names = [f"vx300s_{s}/{j}" for s in SIDES for j in ARM_JOINTS]
        limits = self.ik.model.jnt_range[[self.ik.model.joint(n).id for n in names]]
        self._arm_lower, self._arm_upper = limits[:, 0] + 1e-4, limits[:, 1] - 1e-4

    def reset(self) -> None:
        """Forget the last chunk (next ``infer`` starts from the measured joints)."""
        self._last = None
        self.trajectory = None
        self.fresh_plan = True
        self.phase = "none"
        self.planner.reset()

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        """Chunk ``[H, 14]`` of absolute joint targets that continues the task from the current state."""
        if obs.joint_positions.shape != (14,):
            raise ShapeError(
                f"ScriptedExpert drives the 14-joint ALOHA, got joint_positions {obs.joint_positions.shape}."
            )
        facts = read_facts(self._state_source(), self.ik)
        start, resumed = self._start_command(obs)
        arms = np.clip(start[ARM_COLUMNS], self._arm_lower, self._arm_upper)
        poses = self.ik.tool_poses(arms)
        commanded = {s: ToolState(poses[s], float(start[GRIPPER_COLUMNS[s]])) for s in SIDES}
        plan = self.planner.plan(facts, commanded)
        held: dict[str, float] = {}
        if not resumed:
            commanded, held = grip_held(commanded, facts, plan.waypoints[0] if plan.waypoints else None)
        if plan.phase != self.phase:
            logger.debug("expert phase %s -> %s at t=%.2f s", self.phase, plan.phase, facts.time)
        trajectory, offset = self._follow(Trajectory(commanded, plan.waypoints), plan.phase, obs.timestamp, resumed)
        self.phase = plan.phase
        rows = ramp_grips(self._render(trajectory, offset, arms), held)
        self._last = (obs.timestamp, rows)
        return ActionChunk(rows, source="expert")

    def _follow(self, new: Trajectory, phase: str, now: float, resumed: bool) -> tuple[Trajectory, float]:
        """Keep the trajectory in progress (and its velocity profile) if the replan only confirms it;
        returns the trajectory and the time [s] into it that ``now`` corresponds to."""
        old = self.trajectory
        if resumed and phase == self.phase and old is not None and old.agrees_with(new):
            self.fresh_plan = False
            return old, now - self._trajectory_t0
        self.fresh_plan = True
        self.trajectory, self._trajectory_t0 = new, now
        return new, 0.0

    def _render(self, trajectory: Trajectory, offset: float, arms: np.ndarray) -> np.ndarray:
        """``[H, 14]`` rows: one speed-limited IK step per tick towards the trajectory's tool poses."""
        rows = np.empty((self.horizon, 14))
        for j in range(self.horizon):
            goal = trajectory.sample(offset + (j + 1) * CONTROL_DT)
            arms = self.ik.step(arms, {s: goal[s].tool for s in SIDES})
            rows[j, ARM_COLUMNS] = arms
            for side in SIDES:
                rows[j, GRIPPER_COLUMNS[side]] = goal[side].gripper
        return rows

    def _start_command(self, obs: Observation) -> tuple[np.ndarray, bool]:
        """``([14] start joints, resumed)``: the last executed row of our previous chunk if the robot is
        still following it (``resumed=True``), otherwise the measured joints."""
        measured = obs.joint_positions
        if self._last is None:
            return measured.copy(), False
        t0, rows = self._last
        executed = int(round((obs.timestamp - t0) / CONTROL_DT))
        if not 1 <= executed <= len(rows):
            return measured.copy(), False
        last = rows[executed - 1]
        if np.max(np.abs(last[ARM_COLUMNS] - measured[ARM_COLUMNS])) > RESUME_TOLERANCE:
            return measured.copy(), False
        return last.copy(), True


def grip_held(
    commanded: dict[str, ToolState], facts: SceneFacts, first: Waypoint | None
) -> tuple[dict[str, ToolState], dict[str, float]]:
    """Start commands when taking over from the measured joints, and the sides to ramp (see :func:`ramp_grips`): a
    side whose gripper holds something (:meth:`SceneFacts.gripping`) and whose ``first`` waypoint keeps it closed
    (goal at or below ``BLOCKED``) plans from that goal. Its measured opening is where the pads touch the object;
    commanding it holds with no force, and the plan's ramp to the goal would take the whole segment (seconds of a
    carry), so the object would slip. Returns ``(commanded, {side: measured opening})``; other sides are unchanged."""
    out = dict(commanded)
    held: dict[str, float] = {}
    if first is None:
        return out, held
    for side, start in commanded.items():
        goal = first.goal(side).gripper
        if goal is not None and goal <= BLOCKED and facts.gripping(side):
            out[side], held[side] = ToolState(start.tool, goal), start.gripper
    return out, held


def ramp_grips(rows: np.ndarray, held: dict[str, float]) -> np.ndarray:
    """``rows [H, 14]`` with each held side's gripper closing from its measured opening at ``GRIP_RAMP_SPEED``
    (within the expert's gripper speed) until it meets the planned command: squeezing from the first row, with no
    jump in the command."""
    ticks = np.arange(1, rows.shape[0] + 1) * CONTROL_DT * GRIP_RAMP_SPEED
    for side, opening in held.items():
        column = GRIPPER_COLUMNS[side]
        rows[:, column] = np.maximum(rows[:, column], opening - ticks)
    return rows
