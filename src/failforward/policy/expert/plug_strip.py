"""PlugStrip: insert plugs into the strip's sockets in a given order, each subgoal attempted once.

Unlike the other planners this one commits: each subgoal of the order (``grasp plug_a``, ``insert plug_a socket_1``,
…, ``done``; :mod:`failforward.sim.plug_strip_subgoals`) is planned once from the measured scene and followed to its
end, then judged from the scene (held? inserted?) and the next one starts, like a teleoperator working through a
plan. A failed insertion is not retried, so outcomes differ by order and placement through physics alone: the arm
that grasped a plug inserts it (no handover), so a socket on the far side of the table is at that arm's reach limit
(the IK trades the top-down orientation for position there and the plug arrives tilted); the gripper holding a plug
can hit a plug already inserted next to its target, depending on how the plug was grasped; ``socket_1`` is tighter.

Grasp: top-down, fingers across the head's narrow (y) axis, fingertips ``TIP_BELOW_CENTRE`` under the head's centre.
Insert: carry to ``HOVER`` above the socket's mouth with the prong lined up (box prong: the head's yaw turned the
least that squares it with the socket; cylinder: the yaw as held), descend at ``DESCEND_SPEED``, open, retreat up,
return to the start pose. Poses are world-frame ``mink.SE3`` [m, rad].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from mink import SE3, SO3

from failforward.errors import ExpertError
from failforward.policy.expert.facts import SceneFacts
from failforward.policy.expert.geometry import DOWN, frame, pose, top_grasp
from failforward.policy.expert.grasp import approach_goals, lift_goal
from failforward.policy.expert.planner import Plan, TaskPlanner, zip_goals
from failforward.policy.expert.waypoints import ArmGoal, ToolState, Trajectory, Waypoint
from failforward.sim.plug_strip_layout import HEAD_HALF, PlugStripLayout
from failforward.sim.plug_strip_status import inserted_socket, plug_geoms, socket_mouth
from failforward.sim.plug_strip_subgoals import DONE, PlugStripSubgoal, default_order, subgoals_of

BASES = {"left": np.array([-0.469, 0.5]), "right": np.array([0.469, 0.5])}  # [m] waist axes, world xy
TIP_BELOW_CENTRE = 0.004  # [m] fingertips under the head centre when grasping
LIFT_HEIGHT = 0.13  # [m] tool height after grasping
HOVER = 0.06  # [m] plug above its inserted pose before the descent
PRESS = 0.003  # [m] the descent aims this far below the head resting on the rim
DESCEND_SPEED = 0.25  # fraction of the nominal tool speed while inserting
RETREAT = 0.08  # [m] straight up after releasing
SETTLE = 0.25  # [s] dwell at the hover pose and after releasing
END_SLACK = 0.1  # [s] a subgoal is judged this long after its trajectory ends


@dataclass
class Attempt:
    """One subgoal as executed: ``subgoal``, the arm, start/end sim time [s] and whether the scene shows it done."""

    subgoal: PlugStripSubgoal
    side: str
    t_start: float
    t_end: float = float("nan")
    ok: bool | None = None


@dataclass
class _Committed:
    plan: Plan
    t_end: float  # [s] sim time after which the subgoal is judged
    attempt: Attempt = field(repr=False)


def grasp_side(plug_xy: np.ndarray) -> str:
    """The arm whose waist is nearer the plug (the one that grasps it and inserts it)."""
    return min(BASES, key=lambda s: float(np.linalg.norm(plug_xy - BASES[s])))


def plug_grasp(plug: SE3, side: str) -> SE3:
    """Top-down grasp of the plug head: fingers close along its y axis; of the two finger flips, the one nearer
    the arm's natural wrist orientation."""
    finger = plug.rotation().as_matrix()[:, 1] * np.array([1.0, 1.0, 0.0])
    centre = plug.translation() - np.array([0.0, 0.0, TIP_BELOW_CENTRE])
    reach = centre[:2] - BASES[side]
    natural = np.array([-reach[1], reach[0], 0.0]) / np.linalg.norm(reach)
    return top_grasp(centre, finger / np.linalg.norm(finger), frame(DOWN, natural))


def holding_side(facts: SceneFacts, plug: str) -> str | None:
    """The arm whose gripper holds ``plug`` in the scene ``facts`` (``None``: neither)."""
    return next((side for side in BASES if facts.holds(side, plug, plug_geoms(plug), HEAD_HALF[1])), None)


def socket_of(facts: SceneFacts, layout: PlugStripLayout, plug: str) -> str | None:
    """The socket ``plug`` is inserted in, in the scene ``facts`` (``None``: none)."""
    pose, strip = facts.objects[plug], facts.objects["strip"]
    pose7 = np.concatenate([pose.translation(), pose.rotation().wxyz])
    return inserted_socket(layout, pose7, np.concatenate([strip.translation(), strip.rotation().wxyz]))


def _yaw(rotation: SO3) -> float:
    x = rotation.as_matrix()[:, 0]
    return float(np.arctan2(x[1], x[0]))


def insert_rotation(plug: SE3, strip: SE3, shape: str) -> SO3:
    """Upright plug orientation for the insertion: box prong squared with the strip (nearest quarter turn to the
    plug's yaw now), cylinder prong at its yaw now."""
    yaw = _yaw(plug.rotation())
    if shape == "box":
        base = _yaw(strip.rotation())
        yaw = base + np.pi / 2 * round((yaw - base) / (np.pi / 2))
    return SO3.from_z_radians(yaw)


class PlugStripPlanner(TaskPlanner):
    """Executes ``order`` (``[(plug, socket), ...]``; ``None``: :func:`default_order` of the episode's layout).

    ``attempts`` lists the subgoals executed so far, judged; ``reset()`` before a new episode.

    Raises (from ``plan``):
        ExpertError: the scene is not a plug strip, or the order names a plug or socket the layout lacks.
    """

    def __init__(self, order: Sequence[tuple[str, str]] | None = None) -> None:
        self.order = None if order is None else [(plug, socket) for plug, socket in order]
        self.reset()

    def reset(self) -> None:
        self.attempts: list[Attempt] = []
        self._steps: list[PlugStripSubgoal] | None = None
        self._k = 0
        self._committed: _Committed | None = None
        self._home: dict[str, SE3] = {}

    @property
    def home_poses(self) -> dict[str, SE3]:
        """Each arm's tool pose (world frame, commanded) when the episode's first plan was made; empty before it."""
        return dict(self._home)

    def plan(self, facts: SceneFacts, commanded: dict[str, ToolState]) -> Plan:
        layout = facts.variant
        if not isinstance(layout, PlugStripLayout):
            raise ExpertError("PlugStripPlanner needs a plug_strip scene: SimState.variant is not a PlugStripLayout.")
        if self._steps is None:
            self._steps = subgoals_of(self.order if self.order is not None else default_order(layout), layout)
            self._home = {s: commanded[s].tool for s in BASES}
        if self._committed is not None:
            if facts.time < self._committed.t_end:
                return self._committed.plan
            self._judge(facts, layout)
        return self._commit(self._steps[self._k], facts, commanded, layout)

    def _commit(
        self, step: PlugStripSubgoal, facts: SceneFacts, commanded: dict[str, ToolState], layout: PlugStripLayout
    ) -> Plan:
        """Plan ``step`` once from the measured scene and commit to it until its moves end (then it is judged)."""
        side = self._side(step, facts)
        waypoints = self._waypoints(step, side, facts, layout)
        duration = Trajectory(commanded, waypoints).duration
        attempt = Attempt(step, side, facts.time)
        self._committed = _Committed(Plan(str(step), waypoints), facts.time + duration + END_SLACK, attempt)
        return self._committed.plan

    @property
    def current(self) -> PlugStripSubgoal | None:
        """The subgoal being executed (``None`` before the first plan)."""
        return None if self._committed is None else self._committed.attempt.subgoal

    @property
    def current_side(self) -> str | None:
        """The arm executing the current subgoal (``"both"`` for ``done``; ``None`` before the first plan)."""
        return None if self._committed is None else self._committed.attempt.side

    def finished(self, time: float) -> bool:
        """Whether the order is through at sim time ``time`` [s]: ``done`` is executing and its moves are over."""
        c = self._committed
        return c is not None and c.attempt.subgoal == DONE and time >= c.t_end

    def _side(self, step: PlugStripSubgoal, facts: SceneFacts) -> str:
        if step.plug is None:
            return "both"
        return holding_side(facts, step.plug) or grasp_side(facts.objects[step.plug].translation()[:2])

    def _judge(self, facts: SceneFacts, layout: PlugStripLayout) -> None:
        """Close the committed subgoal: record its outcome and pick the next (a failed grasp skips its insert)."""
        assert self._committed is not None and self._steps is not None
        attempt = self._committed.attempt
        step, plug = attempt.subgoal, attempt.subgoal.plug
        if plug is None:
            attempt.ok = True
        elif step.kind == "grasp":
            attempt.ok = facts.holds(attempt.side, plug, plug_geoms(plug), HEAD_HALF[1])
        else:
            attempt.ok = socket_of(facts, layout, plug) == step.socket
        attempt.t_end = facts.time
        self.attempts.append(attempt)
        skip = 2 if step.kind == "grasp" and not attempt.ok else 1
        self._k = min(self._k + skip, len(self._steps) - 1)
        self._committed = None

    def _waypoints(self, step: PlugStripSubgoal, side: str, facts: SceneFacts, layout: PlugStripLayout) -> list:
        if step.kind == "grasp":
            assert step.plug is not None
            grasp = plug_grasp(facts.objects[step.plug], side)
            goals = [
                *approach_goals(grasp, facts.tools[side], facts.grippers[side]),
                ("lift", lift_goal(grasp, LIFT_HEIGHT)),
            ]
            return self._one_arm(side, goals)
        if step.kind == "insert":
            return self._one_arm(side, self._insert_goals(step, side, facts, layout))
        home = [("home", ArmGoal(self._home["left"], 1.0))], [("home", ArmGoal(self._home["right"], 1.0))]
        return zip_goals(*home)

    def _insert_goals(
        self, step: PlugStripSubgoal, side: str, facts: SceneFacts, layout: PlugStripLayout
    ) -> list[tuple[str, ArmGoal]]:
        assert step.plug is not None and step.socket is not None
        plug, strip = facts.objects[step.plug], facts.objects["strip"]
        strip7 = np.concatenate([strip.translation(), strip.rotation().wxyz])
        mouth = socket_mouth(strip7, layout.sockets.index(step.socket))
        rot = insert_rotation(plug, strip, layout.shape)
        seated = pose(rot, mouth + np.array([0.0, 0.0, HEAD_HALF[2] - PRESS]))
        above = pose(rot, seated.translation() + np.array([0.0, 0.0, HOVER]))
        in_tool = facts.in_tool(side, step.plug)
        tool_seated, tool_above = seated @ in_tool.inverse(), above @ in_tool.inverse()
        up = pose(tool_seated.rotation(), tool_seated.translation() + np.array([0.0, 0.0, RETREAT]))
        return [
            ("carry", ArmGoal(tool_above, 0.0)),
            ("settle", ArmGoal(tool_above, 0.0, speed=0.2)),
            ("descend", ArmGoal(tool_seated, 0.0, speed=DESCEND_SPEED)),
            ("release", ArmGoal(gripper=1.0)),
            ("retreat", ArmGoal(up, 1.0)),
            ("home", ArmGoal(self._home[side], 1.0)),
        ]

    @staticmethod
    def _one_arm(side: str, goals: list[tuple[str, ArmGoal]]) -> list[Waypoint]:
        waypoints = zip_goals(goals, []) if side == "left" else zip_goals([], goals)
        return [Waypoint(w.name, w.left, w.right, w.min_duration, SETTLE if "release" in w.name else w.dwell)
                for w in waypoints]  # fmt: skip


__all__ = [
    "DONE",
    "Attempt",
    "PlugStripPlanner",
    "grasp_side",
    "holding_side",
    "insert_rotation",
    "plug_grasp",
    "socket_of",
]
