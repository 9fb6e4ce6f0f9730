"""What the expert knows about the scene at one instant, read from privileged simulator state.

Everything here is *measured* (simulator ``qpos``, contacts), never what was commanded: the
expert infers the task phase from facts, so it can take over from any policy at any tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from gym_aloha.constants import normalize_puppet_gripper_position
from mink import SE3

from failforward.kinematics.aloha_ik import SIDES, AlohaIK
from failforward.policy.expert.geometry import object_pose
from failforward.sim.aloha_scene import SimState

FINGERS = ("10_left_gripper_finger", "10_right_gripper_finger")
ROBOT_GEOM_PREFIX = "vx300s_"  # the arms' geoms, as named in the ALOHA scenes
STATIC_GEOMS = ("table",)  # geoms a gripper can press on without holding them
FINGER_QPOS = {"left": 6, "right": 14}  # qpos index of each arm's "left" finger slide joint
BLOCKED, OPEN = 0.2, 0.9  # normalized opening: below = closed on nothing, above = open
ON_OBJECT = 0.06  # normalized opening margin above "pads on the object" that still counts as closed on it
PAD_FACE = 0.0224  # [m] finger slide position minus the pad's distance from the tool axis
PAD_BOX_CENTRE = np.array([-0.025, 0.0, 0.0])  # [m] region between the pads, tool frame
PAD_BOX_HALF = np.array([0.05, 0.012, 0.04])  # [m] its half extents (x along the pads)


def closed_on(half_width: float) -> float:
    """Normalized gripper opening at which the pads touch an object ``half_width`` [m] wide per side."""
    return float(normalize_puppet_gripper_position(half_width + PAD_FACE))


def finger_geoms(side: str) -> tuple[str, str]:
    """Geom names of the two fingers of ``side``'s gripper."""
    return tuple(f"{ROBOT_GEOM_PREFIX}{side}/{f}" for f in FINGERS)  # type: ignore[return-value]


@dataclass(frozen=True)
class SceneFacts:
    """Measured scene at one instant.

    Attributes:
        tools: side → measured world tool pose (fingertip centre, see ``aloha_ik``).
        grippers: side → measured normalized gripper opening (0 closed, 1 open).
        objects: body name → world pose.
        contacts: geom-name pairs in contact (unordered).
        time: simulation time [s].
        variant: the episode's scene variant (``SimState.variant``; ``plug_strip``: its layout), or ``None``.
    """

    tools: dict[str, SE3]
    grippers: dict[str, float]
    objects: dict[str, SE3]
    contacts: frozenset[tuple[str, str]]
    time: float
    variant: Any = None

    def touching(self, geom_a: str, geoms_b: tuple[str, ...]) -> bool:
        """Whether ``geom_a`` touches any of ``geoms_b``."""
        return any((geom_a, b) in self.contacts or (b, geom_a) in self.contacts for b in geoms_b)

    def fingers_on(self, side: str, geoms: tuple[str, ...]) -> int:
        """How many of ``side``'s two fingers touch any of ``geoms`` (0, 1 or 2)."""
        return sum(self.touching(finger, geoms) for finger in finger_geoms(side))

    def holds(self, side: str, body: str, geoms: tuple[str, ...], half_width: float) -> bool:
        """``side`` grasps object ``body`` (made of ``geoms``, ``half_width`` [m] between the pads).

        Held means: the object's centre lies between the pads (``PAD_BOX`` in the tool frame) and
        either both fingers touch it or the gripper has closed onto it (opening between ``BLOCKED``
        and ``closed_on(half_width) + ON_OBJECT``). Contact flags flicker on the mesh fingers, so
        they are not required; the opening rules out a gripper still on its way in.
        """
        p = self.in_tool(side, body).translation()
        if not np.all(np.abs(p - PAD_BOX_CENTRE) <= PAD_BOX_HALF):
            return False
        closed = BLOCKED < self.grippers[side] < closed_on(half_width) + ON_OBJECT
        return closed or self.fingers_on(side, geoms) == 2

    def gripping(self, side: str) -> bool:
        """Whether ``side``'s gripper is closed on something: both fingers touch a geom that is neither the robot's
        nor the table's, with the opening between ``BLOCKED`` and ``OPEN`` (pads stopped by an object)."""
        if not BLOCKED < self.grippers[side] < OPEN:
            return False
        return all(
            any(o not in STATIC_GEOMS and not o.startswith(ROBOT_GEOM_PREFIX) for o in self._touching(finger))
            for finger in finger_geoms(side)
        )

    def _touching(self, geom: str) -> list[str]:
        return [b if a == geom else a for a, b in self.contacts if geom in (a, b)]

    def in_tool(self, side: str, body: str) -> SE3:
        """Pose of object ``body`` in ``side``'s measured tool frame."""
        return self.tools[side].inverse() @ self.objects[body]


def read_facts(state: SimState, ik: AlohaIK) -> SceneFacts:
    """Build :class:`SceneFacts` from a privileged ``SimState`` using ``ik`` for forward kinematics."""
    tools = ik.tool_poses(ik.arms_from_qpos(state.qpos))
    grippers = {s: float(normalize_puppet_gripper_position(state.qpos[FINGER_QPOS[s]])) for s in SIDES}
    objects = {name: object_pose(np.asarray(q)) for name, q in state.object_poses.items()}
    return SceneFacts(tools, grippers, objects, state.contacts, state.time, state.variant)
