"""PMC, part 1: visual symbols and commands → tool goals in the world frame.

Rules, for the one arm the diagnosis addresses (its tool pose ``T0`` and gripper opening now):
1. Crosshair + an "open" instruction (``Grasp open`` / ON symbol), with ``grasp_on_target``: a grasp of the
   object under the crosshair (:class:`GraspEstimator`): open → above it (``pregrasp_height_m``) → down to
   the grasp → close.
2. Crosshair otherwise: move above its 3-D point (``pregrasp_height_m``), keeping the orientation.
3. Dual crosshair: translate the tool by ``P(end) − P(start)`` (the held object moves with it).
4. Move commands ("left significantly"…): translate along the head-camera robot axes by the configured
   distances. Straight arrow without any move command: its start and end back-projected at the start's
   depth give the horizontal displacement along its coloured axes (a vertical, blue, arrow needs the text).
5. Rotate commands / rotating arrows: turn the tool about the world vertical by ``rotate_rad`` each,
   clockwise as seen in the head image.
6. Open / close (commands, ON / OFF symbols): open first, close last.
Lock, hold-still and rewind belong to the hold and rewind modes; a diagnosis with nothing of the above is
refused. Every symbol point must lie in the image with a valid depth, every goal in the workspace box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mink import SE3, SO3

from failforward.config.recovery import PmcConfig
from failforward.policy.expert.geometry import closest_flip, frame, pose
from failforward.recovery.camera import backproject, clockwise_sign, depth_at, robot_axes
from failforward.recovery.errors import OccludedError, RecoveryError
from failforward.recovery.grasp import GraspEstimator
from failforward.supervisor.commands import Grasp as GraspCommand
from failforward.supervisor.commands import Move, Rotate
from failforward.supervisor.diagnosis import Diagnosis
from failforward.symbols.types import Crosshair, DualCrosshair, GripperState, RotatingArrow, StraightArrow

OPEN, CLOSED = 1.0, 0.0
_AXIS_OF_COLOR = {"red": 0, "green": 1, "blue": 2}


@dataclass(frozen=True)
class ToolGoal:
    """One waypoint: tool pose (world, fingertip centre) and normalized gripper opening; ``label`` for logs."""

    label: str
    tool: SE3
    gripper: float


@dataclass(frozen=True)
class DepthView:
    """The head camera at planning time: depth ``[H, W]`` [m], ``K [3, 3]``, ``world_from_camera [4, 4]``, and
    ``robot_mask`` ``bool [H, W]`` (pixels showing the robot itself, or ``None``). Robot pixels carry no depth of
    the scene: ``depth`` must already be NaN there (see :meth:`masked`)."""

    depth: np.ndarray
    K: np.ndarray
    world_from_camera: np.ndarray
    robot_mask: np.ndarray | None = None

    @classmethod
    def masked(
        cls,
        depth: np.ndarray,
        K: np.ndarray,  # noqa: N803 - the pinhole K
        world_from_camera: np.ndarray,
        robot_mask: np.ndarray | None,
    ) -> DepthView:
        """A view whose depth is NaN on robot pixels (the robot self-filter)."""
        if robot_mask is not None:
            depth = np.where(robot_mask, np.nan, depth).astype(np.float32)
        return cls(depth, K, world_from_camera, robot_mask)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.depth.shape[0]), int(self.depth.shape[1])

    def depth_of(self, uv: tuple[float, float], window: int) -> float:
        """[m] at symbol pixel ``uv``; raises ``RecoveryError`` outside the image or without a reading."""
        height, width = self.size
        if not (0.0 <= uv[0] <= width and 0.0 <= uv[1] <= height):
            raise RecoveryError(
                f"symbol point {tuple(round(c, 1) for c in uv)} lies outside the {width}x{height} head image"
            )
        if self.occluded_near(uv, 0):
            raise OccludedError(f"the robot hides symbol point {tuple(round(c, 1) for c in uv)} from the head camera")
        depth = depth_at(self.depth, uv, window)
        if not np.isfinite(depth):
            raise RecoveryError(f"no depth reading at symbol point {uv}")
        return depth

    def occluded_near(self, uv: tuple[float, float], radius: int) -> bool:
        """Whether a robot pixel lies within ``radius`` [px] (square window) of ``uv``."""
        if self.robot_mask is None:
            return False
        height, width = self.size
        col, row = int(np.clip(uv[0], 0, width - 1)), int(np.clip(uv[1], 0, height - 1))
        return bool(
            self.robot_mask[max(0, row - radius) : row + radius + 1, max(0, col - radius) : col + radius + 1].any()
        )

    def point(self, uv: tuple[float, float], window: int, depth: float | None = None) -> np.ndarray:
        """World point ``[3]`` [m] under pixel ``uv`` (at ``depth`` [m] if given, else the measured depth)."""
        d = self.depth_of(uv, window) if depth is None else depth
        return backproject(np.array([uv]), np.array([d]), self.K, self.world_from_camera)[0]


class GoalPlanner:
    """Turns a diagnosis into :class:`ToolGoal` s for one arm (rules in the module docstring)."""

    def __init__(self, config: PmcConfig, grasp_estimator: GraspEstimator | None) -> None:
        self.config, self.grasp_estimator = config, grasp_estimator

    def goals(self, diagnosis: Diagnosis, arm: str, tool: SE3, gripper: float, view: DepthView) -> list[ToolGoal]:
        opens, closes = self._gripper_intent(diagnosis, arm)
        crosshair = next((s for s in diagnosis.symbols if isinstance(s, Crosshair)), None)
        if crosshair is not None and opens and self.config.grasp_on_target:
            return self._grasp(crosshair, tool, view)
        goals = [ToolGoal("open", tool, OPEN)] if opens else []
        target = self._translated(diagnosis, arm, tool, view, crosshair)
        target = self._rotated(diagnosis, arm, target, view)
        if target is not tool:
            goals.append(ToolGoal("move", target, OPEN if opens else gripper))
        if closes:
            goals.append(ToolGoal("close", target, CLOSED))
        if not goals:
            kinds = sorted({s.kind for s in diagnosis.symbols} | {c.kind for c in diagnosis.commands})
            raise RecoveryError(
                f"PMC cannot follow {kinds or 'an empty diagnosis'}: it needs a crosshair, arrow, "
                "move, rotate or open/close for the addressed gripper"
            )
        for goal in goals:
            self._check_workspace(goal)
        return goals

    # ---------------------------------------------------------------- intents
    @staticmethod
    def _gripper_intent(diagnosis: Diagnosis, arm: str) -> tuple[bool, bool]:
        states = [c.state for c in diagnosis.commands if isinstance(c, GraspCommand) and c.gripper in (arm, None)]
        states += ["open" if s.state == "ON" else "close" for s in diagnosis.symbols if isinstance(s, GripperState)]
        return "open" in states, "close" in states

    def _grasp(self, crosshair: Crosshair, tool: SE3, view: DepthView) -> list[ToolGoal]:
        if self.grasp_estimator is None:
            raise RecoveryError("PMC was asked to grasp but has no grasp estimator")
        view.depth_of(crosshair.position, self.config.depth_window_px)  # in the image, with depth
        if view.occluded_near(crosshair.position, self.config.occlusion_radius_px):
            raise OccludedError(
                f"the robot is within {self.config.occlusion_radius_px} px of the object to grasp at "
                f"{crosshair.position}: its outline would be cut"
            )
        grasp = self.grasp_estimator.estimate(view.depth, view.K, view.world_from_camera, crosshair.position)
        rotation = closest_flip(frame(grasp.approach, grasp.finger_axis), tool.rotation())
        at = pose(rotation, grasp.position)
        above = pose(rotation, grasp.position - grasp.approach * self.config.pregrasp_height_m)
        goals = [
            ToolGoal("open", tool, OPEN),
            ToolGoal("pregrasp", above, OPEN),
            ToolGoal("grasp", at, OPEN),
            ToolGoal("close", at, CLOSED),
        ]
        for goal in goals:
            self._check_workspace(goal)
        return goals

    def _translated(
        self, diagnosis: Diagnosis, arm: str, tool: SE3, view: DepthView, crosshair: Crosshair | None
    ) -> SE3:
        window = self.config.depth_window_px
        if crosshair is not None:
            point = view.point(crosshair.position, window) + np.array([0.0, 0.0, self.config.pregrasp_height_m])
            return pose(tool.rotation(), point)
        dual = next((s for s in diagnosis.symbols if isinstance(s, DualCrosshair)), None)
        if dual is not None:
            shift = view.point(dual.end, window) - view.point(dual.start, window)
            return pose(tool.rotation(), tool.translation() + shift)
        moves = [c for c in diagnosis.commands if isinstance(c, Move) and c.gripper in (arm, None)]
        axes = robot_axes(view.world_from_camera)
        if moves:
            shift = sum((self.config.distance(m.magnitude) * (m.unit_vector @ axes) for m in moves), np.zeros(3))
            return pose(tool.rotation(), tool.translation() + shift)
        arrow = next((s for s in diagnosis.symbols if isinstance(s, StraightArrow)), None)
        if arrow is not None:
            return pose(tool.rotation(), tool.translation() + self._arrow_shift(arrow, view, axes))
        return tool

    def _arrow_shift(self, arrow: StraightArrow, view: DepthView, axes: np.ndarray) -> np.ndarray:
        if "blue" in arrow.colors:
            raise RecoveryError(
                "a vertical (blue) arrow without a move command has no metric length; PMC needs the textual magnitude"
            )
        depth = view.depth_of(arrow.start, self.config.depth_window_px)
        view.depth_of(arrow.end, self.config.depth_window_px)  # the end must lie in the image too
        delta = view.point(arrow.end, 0, depth) - view.point(arrow.start, 0, depth)
        keep = sorted({_AXIS_OF_COLOR[c] for c in arrow.colors})
        return sum((float(axes[i] @ delta) * axes[i] for i in keep), np.zeros(3))

    def _rotated(self, diagnosis: Diagnosis, arm: str, tool: SE3, view: DepthView) -> SE3:
        turns = [c.direction for c in diagnosis.commands if isinstance(c, Rotate) and c.gripper in (arm, None)]
        if not turns:
            turns = [s.direction for s in diagnosis.symbols if isinstance(s, RotatingArrow)]
        if not turns:
            return tool
        sign = clockwise_sign(view.world_from_camera)
        angle = sum(sign * (1.0 if t == "clockwise" else -1.0) * self.config.rotate_rad for t in turns)
        return pose(SO3.from_z_radians(angle) @ tool.rotation(), tool.translation())

    def _check_workspace(self, goal: ToolGoal) -> None:
        p = goal.tool.translation()
        lower, upper = np.array(self.config.workspace_lower_m), np.array(self.config.workspace_upper_m)
        if np.any(p < lower) or np.any(p > upper):
            raise RecoveryError(
                f"PMC {goal.label} target {np.round(p, 3).tolist()} m lies outside the workspace box "
                f"{lower.tolist()}–{upper.tolist()} m (PmcConfig.workspace_lower_m/upper_m)"
            )
