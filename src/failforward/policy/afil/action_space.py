"""What a model's action rows are: joint targets, or the ALOHA's tool poses (``AfilModelConfig.action_space``).

A joint-space policy that must bring a gripper to an object has to learn the arm's inverse kinematics from
demonstrations. On the plug strip it does not: a regressor fitted to the expert's joint targets ignores where the plug
is, while the same regressor fitted to the tool's motion follows it (``bench/vine_system1_probe.py``). In tool space
the model predicts where each tool goes; the runtime turns each row into joint targets by differential IK from the
measured joints, and training turns the recorded joint targets into tool poses by forward kinematics.

- ``joints`` (default): a row is the robot's ``A`` joint targets.
- ``aloha_tool``: a row of :data:`TOOL_ACTION_DIM` = 20 numbers for the 14-joint ALOHA, per side (left, then right):
  the tool point [m, world frame] (:data:`failforward.kinematics.aloha_ik.TOOL_OFFSET` ahead of ``gripper_link``),
  the tool frame's orientation as its rotation matrix's first two columns (6 numbers, world frame; the continuous
  "6D" representation of Zhou et al. 2019), and the gripper command as the robot takes it.

:class:`AlohaToolIK` is the run-time half: ``[H, 20]`` → ``[H, 14]`` joint targets, one speed-limited IK step per row
(:class:`failforward.kinematics.aloha_ik.AlohaIK`, mink), each from the previous row's solution.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from failforward.errors import ShapeError

ActionSpace = Literal["joints", "aloha_tool"]
ALOHA_JOINTS = 14
TOOL_ACTION_DIM = 20  # per side: position 3 + rotation 6D 6 + gripper 1
SIDE_COLUMNS = ((0, 1, 2, 3, 4, 5), (7, 8, 9, 10, 11, 12))  # the ALOHA's arm joints per side
GRIPPER_COLUMNS = (6, 13)  # in joint rows
TOOL_GRIPPER_COLUMNS = (9, 19)  # in tool rows
TOOL_POSITION_COLUMNS = (0, 1, 2, 10, 11, 12)  # in tool rows: the left then right tool point [m]
JOINT_MARGIN = 1e-3  # [rad] IK starts this far inside each arm joint's range


def robot_action_dim(space: ActionSpace, action_dim: int) -> int:
    """Joints per row the robot receives for a model of ``action_dim`` in ``space``."""
    return ALOHA_JOINTS if space == "aloha_tool" else action_dim


def aloha_tool_actions(joints: np.ndarray) -> np.ndarray:
    """Joint targets ``[..., 14]`` → tool rows ``[..., 20]`` (see the module docstring) by forward kinematics."""
    from failforward.policy.afil.state_features import aloha_tool_frames

    joints = np.asarray(joints, dtype=np.float64)
    if joints.shape[-1] != ALOHA_JOINTS:
        raise ShapeError(f"aloha_tool actions come from the ALOHA's 14 joints, got rows of {joints.shape[-1]}.")
    rows = joints.reshape(-1, ALOHA_JOINTS)
    points, rotations = aloha_tool_frames(rows[:, [*SIDE_COLUMNS[0], *SIDE_COLUMNS[1]]])
    columns = rotations[:, :, :, :2].transpose(0, 1, 3, 2).reshape(len(rows), 2, 6)  # per side: column 0, column 1
    grippers = rows[:, list(GRIPPER_COLUMNS)][:, :, None]
    out = np.concatenate([points, columns, grippers], axis=2)  # [T, 2 sides, 10]
    return out.reshape(*joints.shape[:-1], TOOL_ACTION_DIM)


def rotation_from_6d(six: np.ndarray) -> np.ndarray:
    """``[6]`` (two columns, not necessarily orthonormal) → ``[3, 3]`` rotation by Gram–Schmidt."""
    a, b = six[:3], six[3:]
    x = a / max(float(np.linalg.norm(a)), 1e-9)
    b = b - x * float(x @ b)
    y = b / max(float(np.linalg.norm(b)), 1e-9)
    return np.stack([x, y, np.cross(x, y)], axis=1)


class AlohaToolIK:
    """Tool rows ``[H, 20]`` → joint targets ``[H, 14]`` from the measured joints (one per model backend: it keeps an
    IK configuration, so one inference at a time)."""

    def __init__(self) -> None:
        from failforward.kinematics.aloha_ik import ARM_JOINTS, SIDES, AlohaIK
        from failforward.sim.tasks import get_task

        self.ik = AlohaIK(get_task("transfer_cube").xml_path)
        ranges = np.array([self.ik.model.joint(f"vx300s_{s}/{j}").range for s in SIDES for j in ARM_JOINTS])
        self.lower, self.upper = ranges[:, 0] + JOINT_MARGIN, ranges[:, 1] - JOINT_MARGIN  # [12] each, rad

    def to_joints(self, tool: np.ndarray, joints: np.ndarray) -> np.ndarray:
        """``tool [H, 20]`` sampled at measured ``joints [14]`` → ``[H, 14]``: per row one IK step toward both tool
        poses from the previous row's arm joints (the first from ``joints``); grippers as predicted."""
        import mink

        if tool.ndim != 2 or tool.shape[1] != TOOL_ACTION_DIM or joints.shape != (ALOHA_JOINTS,):
            raise ShapeError(f"need tool rows [H, 20] and joints [14], got {list(tool.shape)}, {list(joints.shape)}.")
        # IK starts inside the model's joint range: a measured joint past it (the simulator lets a roll joint run
        # a little beyond) would leave the QP without a solution; the first row then pulls it back in, and the safety
        # layer bounds that step like any other
        measured = np.asarray(joints, dtype=np.float64)[[*SIDE_COLUMNS[0], *SIDE_COLUMNS[1]]]
        arms = np.clip(measured, self.lower, self.upper)
        out = np.empty((len(tool), ALOHA_JOINTS))
        for k, row in enumerate(tool):
            targets = {
                name: mink.SE3.from_rotation_and_translation(
                    mink.SO3.from_matrix(rotation_from_6d(row[10 * side + 3 : 10 * side + 9])),
                    row[10 * side : 10 * side + 3],
                )
                for side, name in enumerate(("left", "right"))
            }
            arms = self.ik.step(arms, targets)
            out[k, list(SIDE_COLUMNS[0])], out[k, list(SIDE_COLUMNS[1])] = arms[:6], arms[6:]
            out[k, list(GRIPPER_COLUMNS)] = row[list(TOOL_GRIPPER_COLUMNS)]
        return out
