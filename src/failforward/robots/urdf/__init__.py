"""The URDF of each robot kind, for ``robot_state_publisher`` (TF) and viewers (RViz, Foxglove).

The files are generated from the MuJoCo models the robots are simulated with (``tools/write_urdf.py``), and
``tests/test_urdf_kinematics.py`` checks their forward kinematics against MuJoCo (≤ 1 mm, ≤ 0.5°). In each:

- the root link is ``world``: the frame of object poses, camera poses and the chunk preview (for the ALOHA the
  table frame of gym-aloha's scene, z up, metres);
- the movable joints are named as ``joint_states`` names them; a normalized gripper (0 closed, 1 open) is a
  drive joint the finger slides follow as mimic joints, so the joint states the driver publishes are valid;
- each camera MuJoCo holds on a body is a link named like the camera, the ``frame_id`` of its images, in the
  optical convention (x right, y down, z forward).

The ALOHA files model the simulated cell; ``aloha.urdf`` (the real cell) has no cameras: a real cell's camera
frames come from its calibration. Kinds without a URDF (``fake``, ``maniskill``) get none.

Example:
    >>> urdf_path("sim_aloha").name
    'sim_aloha.urdf'
    >>> "left_arm_waist" in robot_description("aloha")
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

URDF_DIR = Path(__file__).resolve().parent
URDF_OF_KIND: Mapping[str, str] = MappingProxyType(
    {"sim_aloha": "sim_aloha.urdf", "aloha": "aloha.urdf", "franka": "franka.urdf"}
)
"""Robot kind (``RobotConfig.kind``) → URDF file in :data:`URDF_DIR`."""


def urdf_path(kind: str) -> Path | None:
    """The URDF of robot kind ``kind``; ``None`` for a kind without one."""
    name = URDF_OF_KIND.get(kind)
    return URDF_DIR / name if name is not None else None


def robot_description(kind: str) -> str | None:
    """The URDF text of robot kind ``kind`` (the ``robot_description`` parameter); ``None`` without one."""
    path = urdf_path(kind)
    return path.read_text() if path is not None else None


def urdf_of_preset(preset: str) -> Path | None:
    """The URDF of the robot of core preset ``preset``; raises ``UnknownNameError`` for an unknown preset."""
    from failforward.config import get_preset

    return urdf_path(get_preset(preset).robot.kind)
