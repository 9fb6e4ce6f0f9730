"""PMC mode: symbol → 3-D target (pixel + metric depth + camera pose) → tool goals → mink IK → joint trajectory.

Part 1 (symbols → tool goals) is :mod:`failforward.recovery.pmc_goals`. Here each goal is solved with
:func:`~failforward.recovery.arm_ik.reach` (warm-started from the previous one), and the joint waypoints are
joined by min-jerk segments within ``PmcConfig.max_joint_speed`` / ``gripper_speed`` (the loop's safety layer
still clamps every row). Only the addressed arm's joints and gripper change; the other arm holds.
ALOHA only (14-joint layout of :mod:`failforward.recovery.arm_ik`).
"""

from __future__ import annotations

import numpy as np

from failforward.config.recovery import CorrectiveModeName, RecoveryConfig
from failforward.errors import ConfigError
from failforward.recovery.arm_ik import ARM_COLUMNS, GRIPPER_COLUMN, SIDE_ARM_COLUMNS, reach
from failforward.recovery.context import PlanContext
from failforward.recovery.correction import PlanResult, Refusal, TrajectoryCorrection
from failforward.recovery.errors import OccludedError
from failforward.recovery.modes.arm_choice import addressed_arm
from failforward.recovery.modes.base import CorrectiveMode, ModeResources, register_mode
from failforward.recovery.pmc_goals import DepthView, GoalPlanner, ToolGoal
from failforward.recovery.trajectory import speed_limits, through_waypoints
from failforward.supervisor.diagnosis import Diagnosis

IK_ARM_SLICE = {"left": slice(0, 6), "right": slice(6, 12)}  # the side's joints within AlohaIK's [12]


class PmcMode(CorrectiveMode):
    """Point-based motion control for the simulated or real ALOHA (needs depth and a camera model)."""

    name = CorrectiveModeName.PMC

    def __init__(self, config: RecoveryConfig, resources: ModeResources) -> None:
        if resources.ik is None:
            raise ConfigError("PMC needs arm IK: pass ModeResources(ik=AlohaIK(task.xml_path), ...).")
        self.config, self.ik = config.pmc, resources.ik
        self.goals = GoalPlanner(config.pmc, resources.grasp_estimator)
        self.max_speed = speed_limits(resources.features, self.config.max_joint_speed, self.config.gripper_speed)
        self.dt = resources.control_dt
        self.settle_ticks = int(round(self.config.settle_s / resources.control_dt))

    def _plan(self, diagnosis: Diagnosis, context: PlanContext) -> PlanResult:
        if context.depth is None or context.camera is None:
            return Refusal(
                self.name,
                f"PMC needs depth and a camera model of {self.config.camera!r}; give the "
                "recovery controller a depth source (or a depth camera in the observation)",
            )
        arm = addressed_arm(diagnosis)
        height, width = context.depth.shape
        if context.image_size is not None and tuple(context.image_size) != (height, width):
            return Refusal(
                self.name,
                f"depth is {width}x{height} but the symbols refer to a "
                f"{context.image_size[1]}x{context.image_size[0]} image; render both alike",
            )
        view = DepthView.masked(
            context.depth,
            context.camera.intrinsics(height, width),
            context.camera.world_from_camera(),
            context.robot_mask,
        )
        start = np.asarray(context.hold_positions, dtype=np.float64)
        arms = start[ARM_COLUMNS]
        tool = self.ik.tool_poses(arms)[arm]
        try:
            goals = self.goals.goals(diagnosis, arm, tool, float(start[GRIPPER_COLUMN[arm]]), view)
        except OccludedError as exc:
            return self._clear_view(arm, start, str(exc))
        waypoints = self._waypoints(goals, arm, start)
        targets = through_waypoints(start, waypoints, self.max_speed, self.dt, self.settle_ticks)
        return TrajectoryCorrection(self.name, targets, arm, " → ".join(g.label for g in goals))

    def _clear_view(self, arm: str, start: np.ndarray, why: str) -> PlanResult:
        """Move ``arm`` (and the idle arm, by config) to ``clear_pose_rad``, open ``arm``'s gripper, and ask to be
        planned again; or refuse when clearing the view is disabled."""
        if not self.config.clear_view:
            return Refusal(self.name, f"{why}; enable PmcConfig.clear_view to move the arm out of the view first")
        goal = start.copy()
        for side in SIDE_ARM_COLUMNS if self.config.clear_both_arms else (arm,):
            goal[SIDE_ARM_COLUMNS[side]] = self.config.clear_pose_rad
        goal[GRIPPER_COLUMN[arm]] = 1.0
        targets = through_waypoints(start, [goal], self.max_speed, self.dt, self.settle_ticks)
        return TrajectoryCorrection(self.name, targets, arm, f"clear the view ({why})", then_replan=True)

    def _waypoints(self, goals: list[ToolGoal], arm: str, start: np.ndarray) -> list[np.ndarray]:
        """Joint rows ``[A]`` for each goal (IK warm-started from the previous goal's solution)."""
        arms, side = start[ARM_COLUMNS].copy(), IK_ARM_SLICE[arm]
        cfg, rows, previous = self.config, [], None
        for goal in goals:
            if previous is None or goal.tool is not previous:
                solved = reach(
                    self.ik,
                    arms,
                    arm,
                    goal.tool,
                    max_steps=cfg.ik_max_steps,
                    tol_m=cfg.ik_tolerance_m,
                    tol_rad=cfg.ik_tolerance_rad,
                )
                arms[side] = solved[side]  # the other arm keeps its joints exactly
            previous = goal.tool
            row = start.copy()
            row[SIDE_ARM_COLUMNS[arm]] = arms[side]
            row[GRIPPER_COLUMN[arm]] = goal.gripper
            rows.append(row)
        return rows


@register_mode(CorrectiveModeName.PMC)
def build_pmc(config: RecoveryConfig, resources: ModeResources) -> PmcMode:
    return PmcMode(config, resources)
