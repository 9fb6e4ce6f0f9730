"""Rewind mode: return the named arm (joints and gripper) to the command it had before the failure.

"Before the failure" is the time of the diagnosis' keyframe when it has one, else the oldest frame of the
supervisor's query window (paper deployment: the last 5 s), else the oldest joint history. The arm moves
there on a min-jerk trajectory within ``PmcConfig`` speed limits; the other arm holds.
"""

from __future__ import annotations

import numpy as np

from failforward.config.recovery import CorrectiveModeName, RecoveryConfig
from failforward.recovery.arm_ik import GRIPPER_COLUMN, SIDE_ARM_COLUMNS
from failforward.recovery.context import PlanContext
from failforward.recovery.correction import PlanResult, Refusal, TrajectoryCorrection
from failforward.recovery.modes.arm_choice import addressed_arm
from failforward.recovery.modes.base import CorrectiveMode, ModeResources, register_mode
from failforward.recovery.trajectory import speed_limits, through_waypoints
from failforward.supervisor.diagnosis import Diagnosis

MIN_CHANGE_RAD = 0.01  # [rad] an arm closer than this to its rewind pose is already there


def reference_time(diagnosis: Diagnosis, context: PlanContext) -> float:
    """[s] the pose to return to was commanded at (keyframe, else the query window's first frame)."""
    report = context.report
    if report is None or not report.frame_times:
        return -np.inf
    times = report.frame_times
    if diagnosis.keyframe is not None and 1 <= diagnosis.keyframe <= len(times):
        return times[diagnosis.keyframe - 1]
    return times[0]


class RewindMode(CorrectiveMode):
    """Plans the return trajectory from the episode's joint history."""

    name = CorrectiveModeName.REWIND

    def __init__(self, config: RecoveryConfig, resources: ModeResources) -> None:
        pmc = config.pmc
        self.max_speed = speed_limits(resources.features, pmc.max_joint_speed, pmc.gripper_speed)
        self.dt, self.settle_ticks = resources.control_dt, int(round(pmc.settle_s / resources.control_dt))

    def _plan(self, diagnosis: Diagnosis, context: PlanContext) -> PlanResult:
        arm = addressed_arm(diagnosis)
        past = context.history.sent_at(reference_time(diagnosis, context))
        if past is None:
            return Refusal(self.name, "no joint history to rewind to (the episode just started)")
        columns = [*SIDE_ARM_COLUMNS[arm], GRIPPER_COLUMN[arm]]
        start = context.hold_positions
        goal = start.copy()
        goal[columns] = past[columns]
        if np.max(np.abs(goal - start)) < MIN_CHANGE_RAD:
            return Refusal(self.name, f"the {arm} arm is already at its pre-failure pose")
        targets = through_waypoints(start, [goal], self.max_speed, self.dt, self.settle_ticks)
        return TrajectoryCorrection(self.name, targets, arm, f"rewind the {arm} arm to its pre-failure pose")


@register_mode(CorrectiveModeName.REWIND)
def build_rewind(config: RecoveryConfig, resources: ModeResources) -> RewindMode:
    return RewindMode(config, resources)
