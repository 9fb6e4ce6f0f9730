"""The oracle's diagnosis rules for the plug strip (VINE's task, :mod:`failforward.sim.plug_strip_status`).

The gym-aloha rules (:mod:`.rules`) follow fixed per-stage roles; on the plug strip the order of insertions is the
planner's choice, so these rules judge each plug on its own, from two consecutive snapshots:

1. every plug inserted (stage 4) → success;
2. **let go outside a socket**: a plug that is neither held nor inserted, that has left the pose it was set out at
   by more than ``MOVED_M``, and that lay within ``REST_M`` of the same place at the previous snapshot (at rest, not a
   plug dropping into its socket at the instant of the query) → ``'gripper state'``: the arm nearer the plug closes
   on it if it lies between that arm's open fingers, else opens and moves onto it (ON at the gripper, arrow,
   crosshair on the plug);
3. otherwise no failure → success (no correction).

The diagnosis goes to the loop, where VINE's planning step replans from the observed node on it (reason
``diagnosis``), and to recovery when a run enables it.

Example:
    >>> diagnose_plug_strip(history, near_m=0.03).failure_type
    <FailureType.GRIPPER_STATE: 'gripper state'>
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from failforward.sim.plug_strip_layout import PlugStripLayout
from failforward.sim.plug_strip_status import plug_geoms, plug_progress
from failforward.supervisor.answer_writer import AnswerContent
from failforward.supervisor.oracle.facts import ARMS, OracleFacts
from failforward.supervisor.oracle.rules import OPEN, Role, close_gripper, regrasp
from failforward.supervisor.questions import FailureType

MOVED_M = 0.02  # [m] a plug this far from where it was set out has been moved
REST_M = 0.005  # [m] a plug that moved less than this between two snapshots is at rest


def loose_plugs(history: Sequence[OracleFacts]) -> list[str]:
    """Plugs let go outside a socket (rule 2), in the layout's order; ``[]`` with fewer than two snapshots."""
    if len(history) < 2:
        return []
    before, now = history[-2], history[-1]
    layout = now.variant
    if not isinstance(layout, PlugStripLayout):
        return []
    progress = plug_progress(layout, now.poses, now.contacts)
    loose = []
    for plug in layout.plugs:
        state, position = progress[plug], now.poses[plug][:3]
        if state.inserted is not None or state.held_by is not None:
            continue
        moved = float(np.linalg.norm(position - layout.plug_poses[plug][:3])) > MOVED_M
        resting = float(np.linalg.norm(position - before.poses[plug][:3])) < REST_M
        if moved and resting:
            loose.append(plug)
    return loose


def nearer_arm(facts: OracleFacts, plug: str) -> str:
    """The arm whose tool point is nearer ``plug`` (the expert's rule: the arm nearer a plug handles it)."""
    return min(ARMS, key=lambda arm: float(np.linalg.norm(facts.grippers[arm] - facts.objects[plug])))


def diagnose_plug_strip(history: Sequence[OracleFacts], *, near_m: float) -> AnswerContent:
    """Apply the rules to ``history`` (oldest first; the last entry is now, its ``variant`` the layout)."""
    now = history[-1]
    if now.stage == 4:
        return AnswerContent(success=True)
    loose = loose_plugs(history)
    if not loose:
        return AnswerContent(success=True)
    plug = loose[0]
    role = Role(nearer_arm(now, plug), "gripper", plug, plug_geoms(plug), True)
    gripper = now.grippers[role.arm]
    if float(np.linalg.norm(now.objects[plug] - gripper)) < near_m and now.opening[role.arm] > OPEN:
        return close_gripper(now, role)  # it lies between the open fingers
    return regrasp(now, role, FailureType.GRIPPER_STATE)
