"""Did the corrective motion happen? The simulated tool measured against what the commands requested.

A motion succeeds when, at its last tick (settle included), the measured tool point lies within
``position_tolerance_m`` of :attr:`SymbolPlan.requested` and its rotation within ``rotation_tolerance_rad``; with an
open/close command the measured opening must also be within ``gripper_tolerance`` of 1 / 0, or, for a close,
have fallen by at least ``gripper_tolerance`` (fingers stopped by the object they grasp).

Frames: world (table) frame, metres and radians; the tool is the fingertip centre on ``gripper_link``'s x axis
(``failforward.supervisor.oracle.facts.tool_point``), the same point PMC's IK targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from failforward.learn.symbols.config import SymbolDataConfig
from failforward.learn.symbols.plan import SymbolPlan, ToolState
from failforward.recovery.arm_ik import GRIPPER_COLUMN
from failforward.supervisor.commands import Grasp
from failforward.supervisor.oracle.facts import tool_point


def measure_tool(scene: Any, arm: str) -> ToolState:
    """``arm``'s tool as the simulator has it now (``AlohaScene``: its MuJoCo data after the last step)."""
    body = scene.data.body(f"vx300s_{arm}/gripper_link")
    opening = float(scene.joint_positions()[GRIPPER_COLUMN[arm]])
    return ToolState(tool_point(scene.data, arm).copy(), body.xmat.reshape(3, 3).copy(), opening)


def rotation_angle(a: np.ndarray, b: np.ndarray) -> float:
    """[rad] angle of the rotation taking ``a [3, 3]`` to ``b [3, 3]``."""
    cos = (np.trace(a.T @ b) - 1.0) / 2.0
    return float(np.arccos(np.clip(cos, -1.0, 1.0)))


@dataclass(frozen=True)
class MotionVerdict:
    """The measured outcome of one corrective motion (vectors ``[3]`` world [m])."""

    success: bool
    reason: str
    position_error_m: float
    rotation_error_rad: float
    opening_error: float | None
    requested_shift_m: np.ndarray
    measured_shift_m: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (state files, reports)."""
        return {
            "success": self.success,
            "reason": self.reason,
            "position_error_m": self.position_error_m,
            "rotation_error_rad": self.rotation_error_rad,
            "opening_error": self.opening_error,
            "requested_shift_m": [round(float(x), 4) for x in self.requested_shift_m],
            "measured_shift_m": [round(float(x), 4) for x in self.measured_shift_m],
        }


def _opening_ok(plan: SymbolPlan, start: ToolState, end: ToolState, tolerance: float) -> tuple[bool, float | None]:
    if not any(isinstance(c, Grasp) for c in plan.commands):
        return True, None
    error = abs(end.opening - plan.requested.opening)
    blocked = plan.requested.opening < plan.start.opening and start.opening - end.opening >= tolerance
    return error <= tolerance or blocked, error


def judge_motion(plan: SymbolPlan, start: ToolState, end: ToolState, config: SymbolDataConfig) -> MotionVerdict:
    """Compare the measured tool at the hand-over (``start``) and at the motion's end with ``plan.requested``."""
    position_error = float(np.linalg.norm(end.position - plan.requested.position))
    rotation_error = rotation_angle(end.rotation, plan.requested.rotation)
    opening_ok, opening_error = _opening_ok(plan, start, end, config.gripper_tolerance)
    misses = []
    if position_error > config.position_tolerance_m:
        misses.append(
            f"tool {position_error:.3f} m from the requested point (tolerance {config.position_tolerance_m} m)"
        )
    if rotation_error > config.rotation_tolerance_rad:
        misses.append(f"rotation off by {rotation_error:.2f} rad (tolerance {config.rotation_tolerance_rad} rad)")
    if not opening_ok:
        misses.append(f"opening {end.opening:.2f}, requested {plan.requested.opening:.0f}")
    requested = plan.requested.position - plan.start.position
    measured = end.position - start.position
    reason = ("followed: " if not misses else "missed: ") + (
        "; ".join(misses) if misses else f"tool {position_error:.3f} m, {rotation_error:.2f} rad from the request"
    )
    return MotionVerdict(
        not misses, f"{reason} ({plan.prompt})", position_error, rotation_error, opening_error, requested, measured
    )
