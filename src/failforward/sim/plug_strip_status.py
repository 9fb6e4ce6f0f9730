"""Where the plug-strip task stands: which plug is held, lifted or inserted, measured from the simulator's state.

"Inserted" is geometric: the plug's prong tip lies inside a socket's well (within the well's half width of its axis,
in the strip frame) at least ``INSERT_DEPTH`` below the rim, with the plug upright (tilt below ``MAX_TILT``). Held
and lifted read contacts: both fingers of one gripper on the plug, and (lifted) the plug touching neither table nor
strip.

Stages (``SimState.stage``, 0–4): 0 nothing; 1 a gripper touches a plug; 2 a plug is held in the air; 3 a plug's prong
is at a socket's mouth or (two plugs) one plug is inserted; 4 every plug is inserted (success).

Example:
    >>> inserted_socket(layout, poses["plug_a"], poses["strip"])
    'socket_1'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import mujoco
import numpy as np

from failforward.sim.plug_strip_layout import HOLE_HALF, PRONG_TIP_Z, RIM_Z, SLOT_X, PlugStripLayout

ContactSet = frozenset[tuple[str, str]]
INSERT_DEPTH = 0.008  # [m] the prong tip at least this far below the rim counts as inserted
MOUTH_HEIGHT = 0.02  # [m] a tip within this above the rim and over the well is "at the mouth"
MAX_TILT = 0.35  # [rad] of the plug's z axis from the strip's
LATERAL_SLACK = 0.001  # [m] added to the well's half width (the tip can sit in the well's corner, penetrating a bit)
FINGERS = {
    side: (f"vx300s_{side}/10_left_gripper_finger", f"vx300s_{side}/10_right_gripper_finger")
    for side in ("left", "right")
}
FAILURE_REASONS = (
    "no gripper touched a plug",
    "a plug was touched but never held in the air",
    "a plug was held but never reached a socket's mouth",
    "a plug reached a socket but not every plug was inserted",
)


@dataclass(frozen=True)
class PlugProgress:
    """One plug at one instant: ``held_by`` (``"left"``/``"right"`` or ``None``), ``lifted`` (held and touching
    neither table nor strip), ``inserted`` (socket name or ``None``), ``at_mouth`` (the socket whose mouth the
    prong tip is at, or ``None``)."""

    held_by: str | None
    lifted: bool
    inserted: str | None
    at_mouth: str | None


def rotation(quat: np.ndarray) -> np.ndarray:
    """``[3, 3]`` rotation matrix of a quaternion ``[4]`` (w, x, y, z; normalized here), by MuJoCo."""
    unit = np.asarray(quat, dtype=np.float64) / np.linalg.norm(quat)
    matrix = np.empty(9)
    mujoco.mju_quat2Mat(matrix, unit)
    return matrix.reshape(3, 3)


def prong_tip(plug_pose: np.ndarray) -> np.ndarray:
    """``[3]`` world position [m] of the prong tip of a plug at ``plug_pose [7]``."""
    return plug_pose[:3] + rotation(plug_pose[3:7]) @ np.array([0.0, 0.0, PRONG_TIP_Z])


def socket_mouth(strip_pose: np.ndarray, index: int) -> np.ndarray:
    """``[3]`` world position [m] of socket ``index``'s mouth centre (rim height, on its axis)."""
    return strip_pose[:3] + rotation(strip_pose[3:7]) @ np.array([SLOT_X[index], 0.0, RIM_Z])


def tip_in_socket(plug_pose: np.ndarray, strip_pose: np.ndarray, index: int) -> np.ndarray:
    """``[3]`` prong tip [m] relative to socket ``index``'s mouth centre, in the strip frame (z < 0: in the well)."""
    r = rotation(strip_pose[3:7])
    return r.T @ (prong_tip(plug_pose) - socket_mouth(strip_pose, index))


def _upright(plug_pose: np.ndarray, strip_pose: np.ndarray) -> bool:
    cos = float(rotation(plug_pose[3:7])[:, 2] @ rotation(strip_pose[3:7])[:, 2])
    return cos > np.cos(MAX_TILT)


def _over_well(rel: np.ndarray, index: int) -> bool:
    return bool(np.all(np.abs(rel[:2]) < HOLE_HALF[index] + LATERAL_SLACK))


def inserted_socket(layout: PlugStripLayout, plug_pose: np.ndarray, strip_pose: np.ndarray) -> str | None:
    """The socket the plug is inserted in (see the module docstring), or ``None``."""
    if not _upright(plug_pose, strip_pose):
        return None
    for index, socket in enumerate(layout.sockets):
        rel = tip_in_socket(plug_pose, strip_pose, index)
        if _over_well(rel, index) and rel[2] < -INSERT_DEPTH:
            return socket
    return None


def mouth_socket(layout: PlugStripLayout, plug_pose: np.ndarray, strip_pose: np.ndarray) -> str | None:
    """The socket whose mouth the prong tip is at (over the well, less than ``MOUTH_HEIGHT`` above the rim)."""
    for index, socket in enumerate(layout.sockets):
        rel = tip_in_socket(plug_pose, strip_pose, index)
        if _over_well(rel, index) and rel[2] < MOUTH_HEIGHT:
            return socket
    return None


def _touch(contacts: ContactSet, a: str, b: str) -> bool:
    return (a, b) in contacts or (b, a) in contacts


def plug_geoms(plug: str) -> tuple[str, str, str]:
    return (f"{plug}_head", f"{plug}_prong_box", f"{plug}_prong_cylinder")


def holder(contacts: ContactSet, plug: str) -> str | None:
    """The arm both of whose fingers touch ``plug``, or ``None``."""
    for side, fingers in FINGERS.items():
        if all(any(_touch(contacts, f, g) for g in plug_geoms(plug)) for f in fingers):
            return side
    return None


def touched(contacts: ContactSet, plug: str) -> bool:
    """Whether any finger touches ``plug``."""
    return any(_touch(contacts, f, g) for fs in FINGERS.values() for f in fs for g in plug_geoms(plug))


def _on_support(contacts: ContactSet, plug: str) -> bool:
    return any(a in plug_geoms(plug) or b in plug_geoms(plug) for a, b in contacts if "table" in (a, b)) or any(
        (a in plug_geoms(plug) and (b.startswith(("socket_", "strip_"))))
        or (b in plug_geoms(plug) and a.startswith(("socket_", "strip_")))
        for a, b in contacts
    )


def plug_progress(
    layout: PlugStripLayout, poses: Mapping[str, np.ndarray], contacts: ContactSet
) -> dict[str, PlugProgress]:
    """Present plug → its :class:`PlugProgress`, from object poses (``SimState.object_poses``) and contacts."""
    strip = poses["strip"]
    out = {}
    for plug in layout.plugs:
        side = holder(contacts, plug)
        out[plug] = PlugProgress(
            held_by=side,
            lifted=side is not None and not _on_support(contacts, plug),
            inserted=inserted_socket(layout, poses[plug], strip),
            at_mouth=mouth_socket(layout, poses[plug], strip),
        )
    return out


def plug_strip_stage(layout: PlugStripLayout, poses: Mapping[str, np.ndarray], contacts: ContactSet) -> int:
    """Stage 0–4 (module docstring) of the scene."""
    progress = plug_progress(layout, poses, contacts)
    if all(p.inserted for p in progress.values()):
        return 4
    if any(p.inserted or p.at_mouth for p in progress.values()):
        return 3
    if any(p.lifted for p in progress.values()):
        return 2
    return 1 if any(touched(contacts, plug) for plug in layout.plugs) else 0
