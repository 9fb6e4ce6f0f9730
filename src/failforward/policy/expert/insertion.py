"""Insertion: the left arm holds the socket, the right arm slides the peg in until it touches the pin.

Design (own numbers, not ACT's): both arms grasp from above with fingers across the object's long
axis, the left at the socket's centre, the right ``PEG_GRASP_OFFSET`` from the peg centre towards
the right arm, so the free end of the peg points at the socket. The socket is presented at
``SOCKET_STAGE`` with its axis along world x. The peg is lined up with the socket's *measured*
axis, ``PRE_INSERT`` from its centre, then pushed in along that axis to ``INSERTED``, past the
pin's face (the pin stops it: success is peg-pin contact).

Held objects are planned through their measured pose in the tool frame, so slip in the grasp is
corrected at every replan. Phases: ``pick`` (one or both objects not held), ``align`` (both held),
``insert`` (peg already on the socket axis at its mouth).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from mink import SE3, SO3

from failforward.policy.expert.facts import SceneFacts
from failforward.policy.expert.geometry import DOWN, angle_between, frame, horizontal_axes, pose, top_grasp
from failforward.policy.expert.grasp import approach_goals, lift_goal
from failforward.policy.expert.planner import Plan, TaskPlanner, zip_goals
from failforward.policy.expert.waypoints import ArmGoal, ToolState

PEG = ("red_peg",)
SOCKET = ("socket-1", "socket-2", "socket-3", "socket-4")
PEG_HALF, SOCKET_HALF = 0.01, 0.022  # [m] half widths across the grasp
BASES = {"left": np.array([-0.469, 0.5]), "right": np.array([0.469, 0.5])}  # [m] waist axes, world xy
SOCKET_STAGE = np.array([-0.07, 0.5, 0.20])  # [m] socket centre while the peg goes in
PEG_GRASP_OFFSET = 0.025  # [m] grasp point from the peg centre along its axis, towards the right arm
PEG_TIP_BELOW_CENTRE = 0.004  # [m] right fingertips below the peg centre
SOCKET_TIP_BELOW_CENTRE = 0.006  # [m] left fingertips below the socket centre
PRE_INSERT = 0.15  # [m] peg centre from socket centre along the socket axis, before insertion
INSERTED = 0.085  # [m] the same at the end of insertion (peg end 1.5 cm past the pin face)
LIFT_HEIGHT = 0.10  # [m] tool height after picking
INSERT_SPEED = 0.3  # fraction of the nominal tool speed while inserting
SETTLE = 0.2  # [s] wait at the pre-insert pose so both arms stop lagging before the push
MOUTH_RADIUS = 0.005  # [m] peg axis within this of the socket axis counts as lined up
MOUTH_ANGLE = 0.08  # [rad]
ENTERED = 0.015  # [m] past the pre-insert point the peg is "on its way in" (tolerances double)


def _top_grasp_along(obj: SE3, side: str, offset: float, below: float) -> SE3:
    """Top-down grasp of a long box ``obj``: fingers across its long (x) axis, ``offset`` [m] along
    the axis towards the arm's side of the table, fingertips ``below`` [m] under the centre."""
    axis = obj.rotation().as_matrix()[:, 0] * np.array([1.0, 1.0, 0.0])
    if np.linalg.norm(axis) < 0.3:  # standing on its end: grasp across any horizontal axis
        axis = horizontal_axes(obj.rotation())[0]
    axis /= np.linalg.norm(axis)
    if np.dot(axis[:2], BASES[side] - obj.translation()[:2]) < 0.0:
        axis = -axis
    centre = obj.translation() + axis * offset - np.array([0.0, 0.0, below])
    reach = centre[:2] - BASES[side]
    natural = np.array([-reach[1], reach[0], 0.0]) / np.linalg.norm(reach)
    return top_grasp(centre, np.array([-axis[1], axis[0], 0.0]), frame(DOWN, natural))


def peg_grasp(peg: SE3) -> SE3:
    return _top_grasp_along(peg, "right", PEG_GRASP_OFFSET, PEG_TIP_BELOW_CENTRE)


def socket_grasp(socket: SE3) -> SE3:
    return _top_grasp_along(socket, "left", 0.0, SOCKET_TIP_BELOW_CENTRE)


def _yaw_aligned(current: SO3, candidates: tuple[SO3, ...]) -> SO3:
    return min(candidates, key=lambda r: angle_between(r, current))


def _square_symmetries(rotation: SO3) -> tuple[SO3, ...]:
    """``rotation`` composed with the 8 symmetries of a long square box that keep its axis's line:
    quarter turns about its own x axis, and a half turn about z (ends swapped)."""
    return tuple(
        rotation @ SO3.from_z_radians(a) @ SO3.from_x_radians(b)
        for a in (0.0, np.pi)
        for b in (0.0, 0.5 * np.pi, np.pi, 1.5 * np.pi)
    )


def socket_goal(socket: SE3) -> SE3:
    """Socket pose at the stage: axis along world x; of the equivalent poses of the square tube, the
    one closest to how it is held now (so the left wrist turns as little as possible)."""
    return pose(_yaw_aligned(socket.rotation(), _square_symmetries(SO3.identity())), SOCKET_STAGE)


def peg_goal(peg: SE3, socket: SE3, along: float) -> SE3:
    """Peg pose on ``socket``'s axis, centre ``along`` [m] from the socket centre on the +x-world side."""
    rot = socket.rotation()
    axis = rot.as_matrix()[:, 0]
    mouth = axis if axis[0] >= 0.0 else -axis
    return pose(_yaw_aligned(peg.rotation(), _square_symmetries(rot)), socket.translation() + mouth * along)


def _lined_up(peg: SE3, socket: SE3) -> bool:
    """Peg on the socket axis (mouth side towards the right arm), between inserted and pre-insert."""
    target = peg_goal(peg, socket, 0.0)
    axis = peg_goal(peg, socket, 1.0).translation() - socket.translation()
    rel = peg.translation() - socket.translation()
    along = float(np.dot(rel, axis))
    lateral = float(np.linalg.norm(rel - along * axis))
    entered = along < PRE_INSERT - ENTERED  # once on its way in, keep pushing unless far off
    radius, angle = (2 * MOUTH_RADIUS, 2 * MOUTH_ANGLE) if entered else (MOUTH_RADIUS, MOUTH_ANGLE)
    return (
        INSERTED - 0.01 < along < PRE_INSERT + 0.01
        and lateral < radius
        and angle_between(peg.rotation(), target.rotation()) < angle
    )


class InsertionPlanner(TaskPlanner):
    """Pick both objects, present the socket, line the peg up with the socket's axis, push."""

    def plan(self, facts: SceneFacts, commanded: dict[str, ToolState]) -> Plan:
        peg, socket = facts.objects["peg"], facts.objects["socket"]
        holds_peg = facts.holds("right", "peg", PEG, PEG_HALF)
        holds_socket = facts.holds("left", "socket", SOCKET, SOCKET_HALF)
        if holds_peg and holds_socket:
            return self._align(facts)
        left: list[tuple[str, ArmGoal]] = []
        right: list[tuple[str, ArmGoal]] = []
        if holds_socket:
            socket_in_left = facts.in_tool("left", "socket")
        else:
            grasp = socket_grasp(socket)
            left = [
                *approach_goals(grasp, facts.tools["left"], facts.grippers["left"]),
                ("lift", lift_goal(grasp, LIFT_HEIGHT)),
            ]
            socket_in_left = grasp.inverse() @ socket
        if holds_peg:
            peg_in_right = facts.in_tool("right", "peg")
        else:
            grasp = peg_grasp(peg)
            right = [
                *approach_goals(grasp, facts.tools["right"], facts.grippers["right"]),
                ("lift", lift_goal(grasp, LIFT_HEIGHT)),
            ]
            peg_in_right = grasp.inverse() @ peg
        stage_socket = socket_goal(socket)
        stage = zip_goals(
            [("stage", ArmGoal(stage_socket @ socket_in_left.inverse(), 0.0))],
            [("pre_insert", ArmGoal(peg_goal(peg, stage_socket, PRE_INSERT) @ peg_in_right.inverse(), 0.0))],
        )
        return Plan("pick", zip_goals(left, right) + stage)

    def _align(self, facts: SceneFacts) -> Plan:
        peg, socket = facts.objects["peg"], facts.objects["socket"]
        socket_in_left, peg_in_right = facts.in_tool("left", "socket"), facts.in_tool("right", "peg")
        staged = socket_goal(socket)
        settled = (
            np.linalg.norm(socket.translation() - SOCKET_STAGE) < 0.02
            and angle_between(socket.rotation(), staged.rotation()) < 0.1
        )
        reference = socket if settled else staged
        left = ArmGoal(staged @ socket_in_left.inverse(), 0.0)
        pre = ArmGoal(peg_goal(peg, reference, PRE_INSERT) @ peg_in_right.inverse(), 0.0)
        push = ArmGoal(peg_goal(peg, reference, INSERTED) @ peg_in_right.inverse(), 0.0, speed=INSERT_SPEED)
        if settled and _lined_up(peg, socket):
            return Plan("insert", zip_goals([("hold", left)], [("insert", push)]))
        waypoints = zip_goals([("stage", left)], [("pre_insert", pre), ("insert", push)])
        waypoints[0] = replace(waypoints[0], dwell=SETTLE)
        return Plan("align", waypoints)
