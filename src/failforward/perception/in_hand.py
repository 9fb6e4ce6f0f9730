"""An object hidden in a gripper moves with it: the grippers' poses from the measured joints (forward kinematics).

A gripper that closes over an object hides it from a camera above. While an object is out of view, the estimator
asks :class:`Grippers` where each tool point is and how far each gripper is open; once a gripper's tool point is
within ``radius_m`` of the object's last position and that gripper is closed below ``max_opening``, the object is
*held*: its centre keeps its offset in that tool's frame, so lifting the gripper lifts the estimate. The caller
names the candidate grippers (the estimator: one that was at the object when it was last seen, or one that opened while
it was out of view and so may have closed on it, and none that carries another object), so a closed gripper passing
over an object does not pick it up.

Tool frame: ``failforward.kinematics.aloha_ik`` (the centre line of the fingertips). Openings are the driver's
normalized gripper joints (0 closed, 1 open).

Example:
    >>> grippers = AlohaGrippers(get_task("transfer_cube").xml_path)
    >>> grasp = find_grasp(last_position, grippers(observation.joint_positions), radius_m=0.04, max_opening=0.8)
    >>> position = carried(grasp, grippers(observation.joint_positions))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

ALOHA_GRIPPER_JOINTS = {"left": 6, "right": 13}
"""Index of each arm's normalized gripper in the ALOHA's 14 joints."""


@dataclass(frozen=True)
class Tool:
    """One gripper now: ``world_from_tool`` ``[4, 4]`` [m] and ``opening`` (0 closed, 1 open)."""

    world_from_tool: np.ndarray
    opening: float


class Grippers(Protocol):
    """The robot's grippers at measured joints ``[A]`` (driver order and units): name → :class:`Tool`."""

    def __call__(self, joints: np.ndarray) -> dict[str, Tool]: ...


RELEASE_OPENING = 0.1
"""A held object is let go once its gripper opens this much (normalized) beyond its opening when it took hold."""


@dataclass(frozen=True)
class Grasp:
    """An object held by ``gripper``, its centre at ``offset`` ``[3]`` [m] in that gripper's tool frame, taken with
    the gripper ``opening`` (0 closed, 1 open) it closed to."""

    gripper: str
    offset: np.ndarray
    opening: float = 0.0

    def holds(self, tools: dict[str, Tool], max_opening: float) -> bool:
        """Whether the gripper still holds: closed below ``max_opening`` and not opened ``RELEASE_OPENING`` beyond
        the tightest it has closed since it took hold."""
        opening = tools[self.gripper].opening
        return opening < max_opening and opening <= self.opening + RELEASE_OPENING

    def tightened(self, tools: dict[str, Tool]) -> Grasp:
        """This grasp with the gripper's opening now, if tighter (a gripper still closing on the object)."""
        opening = tools[self.gripper].opening
        return Grasp(self.gripper, self.offset, opening) if opening < self.opening else self


def find_grasp(
    position: np.ndarray,
    tools: dict[str, Tool],
    radius_m: float,
    max_opening: float,
    candidates: frozenset[str] | None = None,
) -> Grasp | None:
    """The closed gripper whose tool point is nearest ``position`` ``[3]`` [m], within ``radius_m``, of
    ``candidates`` (``None``: any); else ``None``."""
    best: tuple[float, str] | None = None
    for name, tool in tools.items():
        distance = float(np.linalg.norm(tool.world_from_tool[:3, 3] - position))
        free = (candidates is None or name in candidates) and tool.opening < max_opening and distance <= radius_m
        if free and (best is None or distance < best[0]):
            best = (distance, name)
    if best is None:
        return None
    pose = tools[best[1]].world_from_tool
    return Grasp(best[1], pose[:3, :3].T @ (position - pose[:3, 3]), tools[best[1]].opening)


def carried(grasp: Grasp, tools: dict[str, Tool]) -> np.ndarray:
    """``[3]`` [m]: where ``grasp``'s object is now that its gripper is at ``tools[grasp.gripper]``."""
    pose = tools[grasp.gripper].world_from_tool
    return pose[:3, :3] @ grasp.offset + pose[:3, 3]


class AlohaGrippers:
    """Both ALOHA grippers by forward kinematics of the task scene's arms (``AlohaIK`` tool sites)."""

    def __init__(self, xml_path: str) -> None:
        from failforward.kinematics.aloha_ik import AlohaIK  # mink: the sim extra

        self._ik = AlohaIK(xml_path)

    def __call__(self, joints: np.ndarray) -> dict[str, Tool]:
        arms = np.concatenate([joints[0:6], joints[7:13]])
        poses = self._ik.tool_poses(arms)
        return {
            side: Tool(poses[side].as_matrix(), float(joints[index])) for side, index in ALOHA_GRIPPER_JOINTS.items()
        }
