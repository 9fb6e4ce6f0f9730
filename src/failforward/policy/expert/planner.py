"""The task-planner interface: from measured scene facts to the waypoints that finish the task.

A planner is stateless: the phase is inferred from the scene every time ``plan`` is called, so
the same planner continues an expert episode, recovers a dropped object, or takes over from a
failed policy rollout.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import NamedTuple

from failforward.policy.expert.facts import SceneFacts
from failforward.policy.expert.waypoints import HOLD, ArmGoal, ToolState, Waypoint

CLOSE_DWELL = 0.12  # [s] let the fingers settle on an object after closing


class Plan(NamedTuple):
    """``phase``: readable name of the inferred task phase; ``waypoints``: the rest of the task."""

    phase: str
    waypoints: list[Waypoint]


class TaskPlanner(abc.ABC):
    """Plans the rest of one task from the current scene."""

    def reset(self) -> None:  # noqa: B027 (optional hook, not abstract)
        """Forget what an episode taught (a planner that remembers its attempts); stateless planners do nothing."""

    @abc.abstractmethod
    def plan(self, facts: SceneFacts, commanded: dict[str, ToolState]) -> Plan:
        """Waypoints from now to task completion.

        Args:
            facts: measured scene (tool poses, grippers, objects, contacts).
            commanded: side → tool pose and gripper the trajectory starts from (last command).
        """


def zip_goals(left: Sequence[tuple[str, ArmGoal]], right: Sequence[tuple[str, ArmGoal]]) -> list[Waypoint]:
    """Pair the i-th goal of each arm into one waypoint (the shorter list holds); closing goals dwell."""
    waypoints = []
    for i in range(max(len(left), len(right))):
        lname, lgoal = left[i] if i < len(left) else ("hold", HOLD)
        rname, rgoal = right[i] if i < len(right) else ("hold", HOLD)
        closes = any(g.gripper == 0.0 and g.tool is None for g in (lgoal, rgoal))
        waypoints.append(Waypoint(f"{lname}|{rname}", lgoal, rgoal, dwell=CLOSE_DWELL if closes else 0.0))
    return waypoints
