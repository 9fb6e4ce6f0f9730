"""One ALOHA arm to a tool pose: mink IK (``AlohaIK``) iterated to convergence, with a checked tolerance.

ALOHA action layout (14 joints, ``failforward.sim.aloha_scene.JOINT_NAMES``): left arm 0–5, left gripper 6,
right arm 7–12, right gripper 13. ``AlohaIK`` arm vectors ``[12]`` are the arm columns in that order.
"""

from __future__ import annotations

import numpy as np
from mink import SE3

from failforward.errors import ExpertError
from failforward.kinematics.aloha_ik import AlohaIK
from failforward.recovery.errors import UnreachableError

ARM_COLUMNS = np.r_[0:6, 7:13]
SIDE_ARM_COLUMNS = {"left": np.r_[0:6], "right": np.r_[7:13]}
GRIPPER_COLUMN = {"left": 6, "right": 13}


def pose_error(a: SE3, b: SE3) -> tuple[float, float]:
    """(position [m], rotation [rad]) distance between two poses."""
    position = float(np.linalg.norm(a.translation() - b.translation()))
    rotation = float(np.linalg.norm((a.rotation().inverse() @ b.rotation()).log()))
    return position, rotation


def reach(
    ik: AlohaIK, arms: np.ndarray, side: str, target: SE3, *, max_steps: int, tol_m: float, tol_rad: float
) -> np.ndarray:
    """``[12]`` arm joints [rad] that put ``side``'s tool at ``target`` (the other arm holds ``arms``).

    Raises:
        UnreachableError: the QP failed, or after ``max_steps`` the tool is further than ``tol_m`` / ``tol_rad``.
    """
    q = np.asarray(arms, dtype=np.float64)
    error = (np.inf, np.inf)
    try:
        for _ in range(max_steps):
            q = ik.step(q, {side: target})
            error = pose_error(ik.tool_poses(q)[side], target)
            if error[0] < 0.2 * tol_m and error[1] < 0.2 * tol_rad:
                break
    except ExpertError as exc:
        raise UnreachableError(f"IK failed for the {side} tool target: {exc}") from exc
    if error[0] > tol_m or error[1] > tol_rad:
        raise UnreachableError(
            f"the {side} tool cannot reach {np.round(target.translation(), 3).tolist()} (error {error[0]:.3f} m, "
            f"{error[1]:.2f} rad after {max_steps} IK steps): choose a target closer to the arm or raise "
            "PmcConfig.ik_tolerance_m / ik_tolerance_rad."
        )
    return q
