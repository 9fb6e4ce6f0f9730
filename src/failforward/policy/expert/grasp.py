"""Top-down grasp of an object lying on the table: approach goals for one arm.

A grasp is a tool pose (fingertip centre, pointing down). The approach is: open the gripper and
move above the grasp (``PREGRASP_HEIGHT``), descend slowly, close. When the tool is already in the
column above the grasp with the gripper open (e.g. the expert took over mid-approach), the
pregrasp move is replaced by opening in place, so the arm does not back off for nothing.
"""

from __future__ import annotations

import numpy as np
from mink import SE3

from failforward.policy.expert.geometry import angle_between, pose
from failforward.policy.expert.waypoints import ArmGoal

PREGRASP_HEIGHT = 0.08  # [m] above the grasp pose
DESCEND_SPEED = 0.5  # fraction of the nominal tool speed while descending onto an object
COLUMN_RADIUS = 0.012  # [m] lateral tolerance to count as "already above the grasp"
COLUMN_ANGLE = 0.3  # [rad] orientation tolerance for the same
AT_GRASP_RADIUS = 0.008  # [m] tool this close to the grasp pose counts as "there"


def pregrasp(grasp: SE3, height: float = PREGRASP_HEIGHT) -> SE3:
    """``grasp`` moved up by ``height`` [m] (world z)."""
    return pose(grasp.rotation(), grasp.translation() + np.array([0.0, 0.0, height]))


def in_column(tool: SE3, grasp: SE3, gripper: float) -> bool:
    """Tool is open, oriented like ``grasp`` and between the grasp and pregrasp heights above it."""
    offset = tool.translation() - grasp.translation()
    return (
        gripper > 0.7
        and float(np.linalg.norm(offset[:2])) < COLUMN_RADIUS
        and -0.005 < offset[2] < PREGRASP_HEIGHT + 0.02
        and angle_between(tool.rotation(), grasp.rotation()) < COLUMN_ANGLE
    )


def at_grasp(tool: SE3, grasp: SE3) -> bool:
    """Tool is at the grasp pose (within ``AT_GRASP_RADIUS`` and ``COLUMN_ANGLE``): just close."""
    return (
        float(np.linalg.norm(tool.translation() - grasp.translation())) < AT_GRASP_RADIUS
        and angle_between(tool.rotation(), grasp.rotation()) < COLUMN_ANGLE
    )


def approach_goals(grasp: SE3, tool: SE3, gripper: float) -> list[tuple[str, ArmGoal]]:
    """Named goals ``pregrasp → descend → close`` for one arm, given its measured tool and gripper.

    Steps already done are left out: a tool at the grasp only closes (it may be mid-close), a tool
    in the open column above it skips the pregrasp.
    """
    close = ("close", ArmGoal(gripper=0.0))
    if at_grasp(tool, grasp):
        return [("grasp", ArmGoal(grasp)), close]
    first = ArmGoal(gripper=1.0) if in_column(tool, grasp, gripper) else ArmGoal(pregrasp(grasp), 1.0)
    return [("pregrasp", first), ("descend", ArmGoal(grasp, 1.0, speed=DESCEND_SPEED)), close]


def lift_goal(tool: SE3, height: float) -> ArmGoal:
    """Straight up to world height ``height`` [m], keeping the orientation and the gripper closed."""
    p = tool.translation().copy()
    p[2] = max(p[2], height)
    return ArmGoal(pose(tool.rotation(), p), 0.0)
