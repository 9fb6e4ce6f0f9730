"""Differential inverse kinematics for the two ViperX 300 S arms of the simulated ALOHA (mink).

The IK runs on its own copy of a task scene (``SimTaskSpec.xml_path``) with the free-floating
objects removed and one *tool site* added per arm, ``TOOL_OFFSET`` [m] ahead of ``gripper_link``
along its x axis: the centre line of the fingertips.

Tool frame (per arm, right-handed, rigidly attached to ``gripper_link``):
    x: approach direction (from the wrist through the fingertips),
    y: finger closing axis (the arm's "left" finger sits at +y),
    z: across the finger pads (pads are ~6 cm wide along z).

Arm joint vectors are ``float64 [12]``: left waist..wrist_rotate, then right waist..wrist_rotate [rad]
(the 14-joint driver order without the two grippers).

Example:
    >>> ik = AlohaIK(get_task("transfer_cube").xml_path)
    >>> q = ik.solve(START_ARMS, {"right": SE3.from_translation(np.array([0.1, 0.5, 0.2]))})
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import mink
import mujoco
import numpy as np
from mink import SE3

from failforward.errors import ExpertError

logger = logging.getLogger(__name__)

SIDES = ("left", "right")
ARM_JOINTS = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")
TOOL_OFFSET = 0.150  # [m] gripper_link origin → fingertip centre line, along gripper x
FINGER_LENGTH = 0.090  # [m] finger pads extend this far back from the tool point along -x
FINGER_QPOS = 0.04  # [m] finger slide position held fixed in the IK model (irrelevant to the tool)
CONTROL_DT = 0.02  # [s] one control tick
START_ARMS = np.array([0.0, -0.96, 1.16, 0.0, -0.3, 0.0] * 2)  # gym-aloha's start pose [rad]


def _ik_model(xml_path: str, tool_offset: float) -> mujoco.MjModel:
    """Scene without free objects or keyframes, plus ``left_tool``/``right_tool`` sites."""
    spec = mujoco.MjSpec.from_file(xml_path)
    for body in list(spec.bodies):
        if any(j.type == mujoco.mjtJoint.mjJNT_FREE for j in body.joints):
            spec.delete(body)
    for key in list(spec.keys):
        spec.delete(key)
    for side in SIDES:
        spec.body(f"vx300s_{side}/gripper_link").add_site(name=f"{side}_tool", pos=[tool_offset, 0.0, 0.0])
    return spec.compile()


class AlohaIK:
    """One-tick-at-a-time differential IK for both arms, with joint position and speed limits.

    Each :meth:`step` solves one QP (mink + ``solver``) that drives both tool sites towards their
    target poses within one control tick, never moving an arm joint more than
    ``max_joint_speed * dt`` [rad] and never leaving the joint range.

    Args:
        xml_path: MJCF of an ALOHA task scene (gym-aloha assets).
        tool_offset: [m] tool point ahead of ``gripper_link`` along its x axis.
        max_joint_speed: [rad/s] speed limit per arm joint within one step.
        dt: [s] duration of one step.
        solver: a QP solver name from ``qpsolvers.available_solvers``.
        orientation_cost: weight of orientation error [1/rad] against position error [1/m].
        posture_cost: weight pulling each arm towards ``START_ARMS`` (regularizes the wrist).
    """

    def __init__(
        self,
        xml_path: str,
        *,
        tool_offset: float = TOOL_OFFSET,
        max_joint_speed: float = 2.7,
        dt: float = CONTROL_DT,
        solver: str = "daqp",
        orientation_cost: float = 0.3,
        posture_cost: float = 1e-3,
    ) -> None:
        self.model = _ik_model(xml_path, tool_offset)
        self.dt = dt
        self.solver = solver
        self.configuration = mink.Configuration(self.model)
        self._arm_qpos = np.array([self.model.joint(f"vx300s_{s}/{j}").qposadr[0] for s in SIDES for j in ARM_JOINTS])
        fingers = [f"vx300s_{s}/{f}_finger" for s in SIDES for f in ("left", "right")]
        self._finger_qpos = np.array([self.model.joint(name).qposadr[0] for name in fingers])
        self._finger_sign = np.array([1.0, -1.0, 1.0, -1.0])
        speeds = {f"vx300s_{s}/{j}": max_joint_speed for s in SIDES for j in ARM_JOINTS}
        speeds.update({name: 1e-9 for name in fingers})  # fingers are not IK variables
        self.limits = [mink.ConfigurationLimit(self.model, gain=0.95), mink.VelocityLimit(self.model, speeds)]
        self.frame_tasks = {
            side: mink.FrameTask(f"{side}_tool", "site", position_cost=1.0, orientation_cost=orientation_cost)
            for side in SIDES
        }
        self.posture = mink.PostureTask(self.model, cost=posture_cost)
        self.posture.set_target(self.full_q(START_ARMS))

    # ------------------------------------------------------------------ state
    def full_q(self, arms: np.ndarray) -> np.ndarray:
        """``[12]`` arm joints → ``[nq]`` IK-model configuration (fingers at a fixed opening)."""
        q = np.zeros(self.model.nq)
        q[self._arm_qpos] = arms
        q[self._finger_qpos] = FINGER_QPOS * self._finger_sign
        return q

    def arms_from_qpos(self, qpos: np.ndarray) -> np.ndarray:
        """Full simulator ``qpos`` (arms first, as in gym-aloha scenes) → ``[12]`` arm joints [rad]."""
        return np.asarray(qpos, dtype=np.float64)[self._arm_qpos].copy()

    def tool_poses(self, arms: np.ndarray) -> dict[str, SE3]:
        """World-frame tool poses of both arms at joint angles ``arms [12]``."""
        self.configuration.update(self.full_q(arms))
        return {side: self.configuration.get_transform_frame_to_world(f"{side}_tool", "site") for side in SIDES}

    # -------------------------------------------------------------------- IK
    def step(self, arms: np.ndarray, targets: Mapping[str, SE3]) -> np.ndarray:
        """One speed-limited IK step from ``arms [12]`` towards ``targets`` (side → world tool pose).

        An arm without a target holds its joints. Returns the next ``[12]`` joint targets [rad].

        Raises:
            ExpertError: if the QP has no solution (e.g. ``arms`` outside the joint range).
        """
        arms = np.asarray(arms, dtype=np.float64)
        self.configuration.update(self.full_q(arms))
        tasks: list[mink.Task] = [self.posture]
        for side, task in self.frame_tasks.items():
            target = targets.get(side)
            if target is None:
                task.set_target_from_configuration(self.configuration)
            else:
                task.set_target(target)
            tasks.append(task)
        try:
            velocity = mink.solve_ik(self.configuration, tasks, self.dt, self.solver, damping=1e-6, limits=self.limits)
        except mink.NoSolutionFound as exc:
            raise ExpertError(
                f"IK found no solution from arm joints {np.round(arms, 3).tolist()}: the start is likely outside "
                "the joint range; clip the start configuration to the model's joint limits."
            ) from exc
        q_next = self.configuration.integrate(velocity, self.dt)
        return q_next[self._arm_qpos]

    def solve(
        self, arms: np.ndarray, targets: Mapping[str, SE3], *, max_steps: int = 200, tol: float = 1e-3
    ) -> np.ndarray:
        """Iterate :meth:`step` until every tool is within ``tol`` [m, rad] of its target; ``[12]`` joints.

        Raises:
            ExpertError: if the targets are not reached within ``max_steps`` (out of reach or at a limit).
        """
        q = np.asarray(arms, dtype=np.float64)
        for _ in range(max_steps):
            q = self.step(q, targets)
            if max(self.tool_error(q, targets).values(), default=0.0) < tol:
                return q
        errors = {side: round(err, 4) for side, err in self.tool_error(q, targets).items()}
        raise ExpertError(
            f"IK did not reach the tool targets within {max_steps} steps (errors {errors}): move the target "
            "closer to the arm's base or relax its orientation."
        )

    def tool_error(self, arms: np.ndarray, targets: Mapping[str, SE3]) -> dict[str, float]:
        """Per side: norm of the SE(3) error ``log(T_target⁻¹ T_tool)`` [m and rad mixed]."""
        poses = self.tool_poses(arms)
        return {side: float(np.linalg.norm((target.inverse() @ poses[side]).log())) for side, target in targets.items()}
