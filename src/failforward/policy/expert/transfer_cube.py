"""TransferCube: the right arm picks the cube from the table and hands it to the left arm.

Design (own numbers, not ACT's): the right arm grasps the cube from above with its fingertips
``TIP_ABOVE_CENTRE`` above the cube centre (pads cover the top ~1.6 cm), lifts it and turns the
gripper to point at the left arm (-x) so that the cube sits in front of its fingertips at
``HANDOVER``. The left arm comes straight along +x, fingers on the same two faces as the right's,
and stops ``LEFT_TIP_GAP`` short of the right fingertips, so the two pairs of pads never collide;
it closes, then the right opens and backs away.

Phases, inferred from the scene every call: ``secure`` (left holds the cube), ``handover`` (right
holds it), ``pick`` (nobody holds it: on the table, dropped or never touched).
"""

from __future__ import annotations

import numpy as np
from mink import SE3, SO3

from failforward.policy.expert.facts import SceneFacts
from failforward.policy.expert.geometry import (
    DOWN,
    angle_between,
    closest_flip,
    frame,
    horizontal_axes,
    pose,
    top_grasp,
)
from failforward.policy.expert.grasp import approach_goals, lift_goal
from failforward.policy.expert.planner import Plan, TaskPlanner, zip_goals
from failforward.policy.expert.waypoints import ArmGoal, ToolState

CUBE = ("red_box",)
CUBE_HALF = 0.02  # [m] half edge of the cube
RIGHT_BASE = np.array([0.469, 0.5])  # [m] world xy of the right arm's waist axis
HANDOVER = np.array([0.0, 0.5, 0.22])  # [m] cube centre during the handover
TIP_ABOVE_CENTRE = 0.004  # [m] right fingertips above the cube centre when picking
LEFT_TIP_GAP = 0.006  # [m] left fingertips stop this far before the right fingertips
LEFT_MIN_OVERLAP, LEFT_MAX_OVERLAP = 0.010, 0.024  # [m] of the cube between the left pads
PRE_HANDOVER = 0.09  # [m] left waits this far back along its approach
LIFT_HEIGHT = 0.10  # [m] tool height after picking
RETREAT = 0.10  # [m] right backs off along its approach after releasing
CORRIDOR_RADIUS = 0.012  # [m] left counts as "on its approach line" within this distance


def _right_handover_rotation(reference: SO3) -> SO3:
    return closest_flip(frame(np.array([-1.0, 0.0, 0.0]), np.array([0.0, -1.0, 0.0])), reference)


def _left_handover(right_tool: SE3, cube_centre: np.ndarray, reference: SO3) -> tuple[SE3, SE3]:
    """Left (pre-handover, handover) tool poses facing ``right_tool`` across the cube."""
    rotation = closest_flip(right_tool.rotation() @ SO3.from_z_radians(np.pi), reference)
    approach = rotation.as_matrix()[:, 0]
    right_tip = float(np.dot(right_tool.translation() - cube_centre, approach))
    depth = np.clip(right_tip - LEFT_TIP_GAP, LEFT_MIN_OVERLAP - 0.02, LEFT_MAX_OVERLAP - 0.02)
    tip = cube_centre + approach * depth
    return pose(rotation, tip - approach * PRE_HANDOVER), pose(rotation, tip)


def _on_corridor(tool: SE3, pre: SE3, goal: SE3) -> bool:
    """Tool lies on the segment ``pre → goal`` (within ``CORRIDOR_RADIUS``), oriented like ``goal``."""
    axis = goal.translation() - pre.translation()
    length = float(np.linalg.norm(axis))
    rel = tool.translation() - pre.translation()
    along = float(np.dot(rel, axis / length))
    lateral = float(np.linalg.norm(rel - along * axis / length))
    return (
        0.0 < along <= length + 0.005
        and lateral < CORRIDOR_RADIUS
        and angle_between(tool.rotation(), goal.rotation()) < 0.3
    )


def cube_grasp(cube: SE3) -> SE3:
    """Top-down right-arm grasp of ``cube``: fingers on the pair of faces most across the arm's reach."""
    centre = cube.translation()
    reach = centre[:2] - RIGHT_BASE
    natural = np.array([-reach[1], reach[0], 0.0]) / np.linalg.norm(reach)
    a, b = horizontal_axes(cube.rotation())
    finger = a if abs(np.dot(a, natural)) >= abs(np.dot(b, natural)) else b
    reference = frame(DOWN, natural)
    return top_grasp(centre + np.array([0.0, 0.0, TIP_ABOVE_CENTRE]), finger, reference)


class TransferCubePlanner(TaskPlanner):
    """Right picks, hands over to the left (see the module docstring for the geometry)."""

    def plan(self, facts: SceneFacts, commanded: dict[str, ToolState]) -> Plan:
        if facts.holds("left", "box", CUBE, CUBE_HALF):
            return self._secure(facts, commanded)
        if facts.holds("right", "box", CUBE, CUBE_HALF):
            return self._handover(facts, commanded, facts.in_tool("right", "box").translation())
        return self._pick(facts, commanded)

    def _secure(self, facts: SceneFacts, commanded: dict[str, ToolState]) -> Plan:
        right = commanded["right"].tool
        back = right.translation() - right.rotation().as_matrix()[:, 0] * RETREAT
        return Plan(
            "secure",
            zip_goals(
                [("hold", ArmGoal(gripper=0.0))],
                [("release", ArmGoal(gripper=1.0)), ("retreat", ArmGoal(pose(right.rotation(), back)))],
            ),
        )

    def _handover_goals(
        self, cube_in_right: np.ndarray, left_now: SE3, right_reference: SO3, commanded: dict[str, ToolState]
    ) -> tuple[list[tuple[str, ArmGoal]], list[tuple[str, ArmGoal]]]:
        rot = _right_handover_rotation(right_reference)
        right_tool = pose(rot, HANDOVER - rot.apply(cube_in_right))
        pre, grip = _left_handover(right_tool, HANDOVER, commanded["left"].tool.rotation())
        left_first = ArmGoal(gripper=1.0) if _on_corridor(left_now, pre, grip) else ArmGoal(pre, 1.0)
        back = pose(rot, right_tool.translation() - rot.as_matrix()[:, 0] * RETREAT)
        left = [("pre_handover", left_first), ("reach", ArmGoal(grip, speed=0.45)), ("grip", ArmGoal(gripper=0.0))]
        right = [
            ("carry", ArmGoal(right_tool, 0.0)),
            ("wait", ArmGoal()),
            ("wait", ArmGoal()),
            ("release", ArmGoal(gripper=1.0)),
            ("retreat", ArmGoal(back)),
        ]
        return left, right

    def _handover(self, facts: SceneFacts, commanded: dict[str, ToolState], cube_in_right: np.ndarray) -> Plan:
        left, right = self._handover_goals(
            cube_in_right, facts.tools["left"], commanded["right"].tool.rotation(), commanded
        )
        return Plan("handover", zip_goals(left, right))

    def _pick(self, facts: SceneFacts, commanded: dict[str, ToolState]) -> Plan:
        grasp = cube_grasp(facts.objects["box"])
        right = [
            *approach_goals(grasp, facts.tools["right"], facts.grippers["right"]),
            ("lift", lift_goal(grasp, LIFT_HEIGHT)),
        ]
        predicted = np.array([TIP_ABOVE_CENTRE, 0.0, 0.0])  # cube centre in the tool frame once grasped
        left_after, right_after = self._handover_goals(predicted, facts.tools["left"], grasp.rotation(), commanded)
        left = [left_after[0]]  # the left waits at pre-handover while the right picks
        return Plan("pick", zip_goals(left, right) + zip_goals([], right_after[:1]) + zip_goals(left_after[1:], []))
