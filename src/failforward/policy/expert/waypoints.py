"""Waypoints (joint goals of both tools and grippers) and the timed trajectory through them.

A plan is a list of :class:`Waypoint`. Durations are not part of the plan: each segment takes as
long as its largest move needs at the given speeds, so a segment whose goal is already reached
takes only ``min_duration``. That is what lets the expert replan from any state with the same
list of goals: the steps already done cost (almost) nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from mink import SE3

from failforward.kinematics.aloha_ik import SIDES
from failforward.policy.expert.geometry import angle_between, lerp_pose, min_jerk

LINEAR_SPEED = 0.30  # [m/s] mean tool speed of a segment (min-jerk peak is 1.875x)
ANGULAR_SPEED = 2.0  # [rad/s] mean tool rotation speed
GRIPPER_SPEED = 2.5  # [1/s] mean normalized gripper speed (peak 4.7/s < 5/s safety limit)


@dataclass(frozen=True)
class ArmGoal:
    """Where one arm should be at the end of a segment.

    Attributes:
        tool: world tool pose to reach, or ``None`` to keep the previous goal.
        gripper: normalized opening to reach (0 closed, 1 open), or ``None`` to keep it.
        speed: scale on ``LINEAR_SPEED``/``ANGULAR_SPEED`` (< 1 for careful moves).
    """

    tool: SE3 | None = None
    gripper: float | None = None
    speed: float = 1.0


HOLD = ArmGoal()


@dataclass(frozen=True)
class Waypoint:
    """Goals of both arms for one segment, reached together; ``dwell`` [s] is added after arrival."""

    name: str
    left: ArmGoal = HOLD
    right: ArmGoal = HOLD
    min_duration: float = 0.06
    dwell: float = 0.0

    def goal(self, side: str) -> ArmGoal:
        return self.left if side == "left" else self.right


@dataclass(frozen=True)
class ToolState:
    """Commanded tool pose and gripper opening of one arm."""

    tool: SE3
    gripper: float


def _segment_time(start: ToolState, goal: ArmGoal) -> float:
    t = 0.0
    if goal.tool is not None:
        dist = float(np.linalg.norm(goal.tool.translation() - start.tool.translation()))
        angle = angle_between(goal.tool.rotation(), start.tool.rotation())
        t = max(dist / (LINEAR_SPEED * goal.speed), angle / (ANGULAR_SPEED * goal.speed))
    if goal.gripper is not None:
        t = max(t, abs(goal.gripper - start.gripper) / GRIPPER_SPEED)
    return t


def _reach(start: ToolState, goal: ArmGoal) -> ToolState:
    return ToolState(
        goal.tool if goal.tool is not None else start.tool,
        goal.gripper if goal.gripper is not None else start.gripper,
    )


class Segment(NamedTuple):
    """One timed move: from ``start`` at ``t0`` [s] to ``end`` in ``move`` [s], then ``dwell`` [s] still."""

    name: str
    t0: float
    move: float
    dwell: float
    start: dict[str, ToolState]
    end: dict[str, ToolState]


class Trajectory:
    """Min-jerk segments through ``waypoints`` from ``start`` (side → commanded :class:`ToolState`).

    ``sample(t)`` gives every side's tool pose and gripper opening at time ``t`` [s] after the
    start; after the last waypoint it holds the final goals.
    """

    def __init__(self, start: dict[str, ToolState], waypoints: Sequence[Waypoint]) -> None:
        self.segments: list[Segment] = []
        t0, current = 0.0, dict(start)
        for wp in waypoints:
            move = max(wp.min_duration, *(_segment_time(current[s], wp.goal(s)) for s in SIDES))
            end = {s: _reach(current[s], wp.goal(s)) for s in SIDES}
            self.segments.append(Segment(wp.name, t0, move, wp.dwell, current, end))
            t0 += move + wp.dwell
            current = end
        self.final = current
        self.duration = t0
        self.goals = {
            side: [(wp.name.split("|")[i] if "|" in wp.name else wp.name, wp.goal(side)) for wp in waypoints]
            for i, side in enumerate(SIDES)
        }

    def sample(self, t: float) -> dict[str, ToolState]:
        """Tool states at ``t`` [s]."""
        for seg in self.segments:
            if t < seg.t0 + seg.move:
                s = min_jerk((t - seg.t0) / seg.move)
                return {
                    side: ToolState(
                        lerp_pose(seg.start[side].tool, seg.end[side].tool, s),
                        (1.0 - s) * seg.start[side].gripper + s * seg.end[side].gripper,
                    )
                    for side in SIDES
                }
            if t < seg.t0 + seg.move + seg.dwell:
                return seg.end
        return self.final

    def segment_name(self, t: float) -> str:
        """Name of the waypoint being approached (or dwelt at) at ``t`` [s]; ``"done"`` after the end."""
        for seg in self.segments:
            if t < seg.t0 + seg.move + seg.dwell:
                return seg.name
        return "done"

    def agrees_with(self, other: Trajectory, position_tol: float = 0.004, angle_tol: float = 0.04) -> bool:
        """Every explicit tool goal of ``other`` matches this trajectory's goal of the same name and arm.

        Used to keep following a trajectory (and its velocity profile) when a replan only confirms it.
        """
        for side in SIDES:
            mine: dict[str, list[SE3]] = {}
            for name, goal in self.goals[side]:
                if goal.tool is not None:
                    mine.setdefault(name, []).append(goal.tool)
            for name, goal in other.goals[side]:
                if goal.tool is None or name not in mine:
                    continue
                if not any(
                    np.linalg.norm(goal.tool.translation() - t.translation()) < position_tol
                    and angle_between(goal.tool.rotation(), t.rotation()) < angle_tol
                    for t in mine[name]
                ):
                    return False
        return True
