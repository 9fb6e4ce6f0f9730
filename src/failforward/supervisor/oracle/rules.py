"""The oracle's diagnosis rules: simulator facts (and their history) → an :class:`AnswerContent`.

Per task, each stage names *roles*: which arm should bring which point (its gripper, or an object it
holds) to which target. The rules, checked in order over the current snapshot and the history of
earlier ones in this episode:

1. stage 4 → success.
2. wrong arm: an arm touches an object that is the other arm's job (insertion: the left gripper on the
   peg or the right one on the socket before both are lifted) → ``'task planning'``: lift that gripper
   away (rewind icon, arrow up).
3. dropped: the task had reached stage ≥ 2 (at any tick, when a progress source is given) and is back
   below 2 with the gripper off the object → ``'gripper state'``: close the gripper if the object lies
   between its open fingers, else open it and move it back to the object.
4. missed grasp: a gripper that should grasp is at its target but closed without touching it →
   ``'gripper 6d-pose'``; open it and move onto the target.
5. no progress for ``stall_s`` [s] (same stage since the last snapshot at least ``stall_s`` old, the
   role's distance not shrinking by 1 cm): a gripper touching its target is told to lift it
   (``'gripper 6d-pose'``); a gripper at the target but still open → ``'gripper state'`` (close it);
   otherwise ``'gripper 6d-pose'`` with moves along the robot axes towards the target.
6. otherwise no failure → success (no correction).

Directions are the head-camera robot axes (+x forward, +y left, +z up); a component counts when it
exceeds ``max(1 cm, 30 %)`` of the displacement; below 5 cm it is "slightly", else "significantly".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from failforward.supervisor.answer_writer import AnswerContent
from failforward.supervisor.commands import Grasp, Move
from failforward.supervisor.oracle.arrows import clip_pixel, straight_arrow
from failforward.supervisor.oracle.facts import OracleFacts
from failforward.supervisor.questions import FailureType
from failforward.symbols.types import Crosshair, DualCrosshair, GripperState, Rewind, Symbol

CLOSED = 0.25  # normalized opening below which a gripper is closed
OPEN = 0.5
SIGNIFICANT_M = 0.05  # [m]
MIN_COMPONENT_M = 0.01  # [m]
PROGRESS_M = 0.01  # [m]
LIFT_M = 0.1  # [m]
_AXES = (("forward", "backward"), ("left", "right"), ("upward", "downward"))


@dataclass(frozen=True)
class Role:
    """``arm`` should bring ``mover`` (``"gripper"`` or an object body) to ``target`` (an object body), and
    grasp there when ``grasp`` is true. ``target_geoms`` are the geoms a successful grasp touches."""

    arm: str
    mover: str
    target: str
    target_geoms: tuple[str, ...]
    grasp: bool


TASK_ROLES: dict[str, dict[int, tuple[Role, ...]]] = {
    "transfer_cube": {
        0: (Role("right", "gripper", "box", ("red_box",), True),),
        1: (Role("right", "gripper", "box", ("red_box",), True),),
        2: (Role("left", "gripper", "box", ("red_box",), True),),
        3: (Role("left", "gripper", "box", ("red_box",), True),),
    },
    "insertion": {
        0: (
            Role("right", "gripper", "peg", ("red_peg",), True),
            Role("left", "gripper", "socket", ("socket-1", "socket-2", "socket-3", "socket-4"), True),
        ),
        1: (
            Role("right", "gripper", "peg", ("red_peg",), True),
            Role("left", "gripper", "socket", ("socket-1", "socket-2", "socket-3", "socket-4"), True),
        ),
        2: (Role("right", "peg", "socket", ("pin",), False),),
        3: (Role("right", "peg", "socket", ("pin",), False),),
    },
}


@dataclass(frozen=True)
class WrongTouch:
    """Before stage ``until_stage``, ``arm`` touching ``geoms`` means the plan went wrong (the other arm's job)."""

    arm: str
    body: str
    geoms: tuple[str, ...]
    until_stage: int


_SOCKET = ("socket-1", "socket-2", "socket-3", "socket-4")
WRONG_TOUCHES: dict[str, tuple[WrongTouch, ...]] = {
    # transfer_cube has none: by gym-aloha's reward the left arm holding the cube in the air is success,
    # whichever arm picked it up.
    "transfer_cube": (),
    "insertion": (WrongTouch("left", "peg", ("red_peg",), 2), WrongTouch("right", "socket", _SOCKET, 2)),
}


def _mover(facts: OracleFacts, role: Role) -> np.ndarray:
    return facts.grippers[role.arm] if role.mover == "gripper" else facts.objects[role.mover]


def distance(facts: OracleFacts, role: Role) -> float:
    """[m] between the role's mover and its target."""
    return float(np.linalg.norm(facts.objects[role.target] - _mover(facts, role)))


def moves_towards(facts: OracleFacts, arm: str, displacement: np.ndarray) -> tuple[Move, ...]:
    """Move commands along the robot axes for a world ``displacement [3]`` [m], largest component first."""
    components = facts.camera.robot_axes() @ displacement
    threshold = max(MIN_COMPONENT_M, 0.3 * float(np.linalg.norm(displacement)))
    order = np.argsort(-np.abs(components))
    moves = []
    for axis in order:
        c = float(components[axis])
        if abs(c) >= threshold:
            direction = _AXES[axis][0 if c > 0 else 1]
            magnitude = "slightly" if abs(c) < SIGNIFICANT_M else "significantly"
            moves.append(Move(gripper=arm, direction=direction, magnitude=magnitude))
    return tuple(moves)


def _clip(facts: OracleFacts, uv: np.ndarray) -> tuple[float, float]:
    return clip_pixel(facts.camera, uv)


def _arrow(facts: OracleFacts, start_world: np.ndarray, displacement: np.ndarray, moves: Sequence[Move]) -> Symbol:
    return straight_arrow(facts.camera, start_world, displacement, moves)


def _point(facts: OracleFacts, world: np.ndarray) -> tuple[float, float]:
    return _clip(facts, facts.camera.project(world)[0])


def regrasp(facts: OracleFacts, role: Role, failure_type: FailureType) -> AnswerContent:
    """Open the gripper and move it onto the target (ON at the gripper, arrow, crosshair on the target)."""
    gripper, target = facts.grippers[role.arm], facts.objects[role.target]
    moves = moves_towards(facts, role.arm, target - gripper)
    symbols: list[Symbol] = [GripperState(position=_point(facts, gripper), state="ON")]
    if moves:
        symbols.append(_arrow(facts, gripper, target - gripper, moves))
    symbols.append(Crosshair(position=_point(facts, target)))
    commands = (Grasp(gripper=role.arm, state="open"), *moves)
    return AnswerContent(False, failure_type, commands, tuple(symbols))  # type: ignore[arg-type]


def approach(facts: OracleFacts, role: Role) -> AnswerContent:
    """Move the mover towards the target (arrow; dual crosshair when aligning a held object)."""
    mover, target = _mover(facts, role), facts.objects[role.target]
    moves = moves_towards(facts, role.arm, target - mover)
    symbols: list[Symbol] = [_arrow(facts, mover, target - mover, moves)] if moves else []
    if role.mover != "gripper":
        symbols.append(DualCrosshair(start=_point(facts, mover), end=_point(facts, target)))
    return AnswerContent(False, FailureType.GRIPPER_6D_POSE, moves, tuple(symbols))


def close_gripper(facts: OracleFacts, role: Role) -> AnswerContent:
    """Close the gripper that sits open at its target (OFF at the gripper)."""
    symbol = GripperState(position=_point(facts, facts.grippers[role.arm]), state="OFF")
    return AnswerContent(False, FailureType.GRIPPER_STATE, (Grasp(gripper=role.arm, state="close"),), (symbol,))


def withdraw(facts: OracleFacts, wrong: WrongTouch) -> AnswerContent:
    """The wrong arm touched an object: lift it away and return it (rewind icon, arrow up)."""
    up = np.array([0.0, 0.0, LIFT_M])
    moves = moves_towards(facts, wrong.arm, up)
    gripper = facts.grippers[wrong.arm]
    symbols = (Rewind(position=_point(facts, gripper)), _arrow(facts, gripper, up, moves))
    return AnswerContent(False, FailureType.TASK_PLANNING, moves, symbols)


def lift(facts: OracleFacts, role: Role) -> AnswerContent:
    """Lift the gripper that holds its target but makes no progress (blue arrow up)."""
    up = np.array([0.0, 0.0, LIFT_M])
    moves = moves_towards(facts, role.arm, up)
    symbols = (_arrow(facts, facts.grippers[role.arm], up, moves),)
    return AnswerContent(False, FailureType.GRIPPER_6D_POSE, moves, symbols)


def diagnose_facts(task: str, history: Sequence[OracleFacts], *, stall_s: float, near_m: float) -> AnswerContent:
    """Apply the rules to ``history`` (oldest first; the last entry is now)."""
    now = history[-1]
    if now.stage == 4:
        return AnswerContent(success=True)
    roles = TASK_ROLES[task][now.stage]
    for wrong in WRONG_TOUCHES[task]:
        if now.stage < wrong.until_stage and now.arm_touches(wrong.arm, wrong.geoms):
            return withdraw(now, wrong)
    first = roles[0]
    if max(f.max_stage for f in history) >= 2 and now.stage < 2 and not now.arm_touches(first.arm, first.target_geoms):
        if distance(now, first) < near_m and now.opening[first.arm] > OPEN:
            return close_gripper(now, first)  # the object fell back between the open fingers
        return regrasp(now, first, FailureType.GRIPPER_STATE)
    for role in roles:
        if role.grasp and role.mover == "gripper" and distance(now, role) < 2 * near_m:
            if now.opening[role.arm] < CLOSED and not now.arm_touches(role.arm, role.target_geoms):
                return regrasp(now, role, FailureType.GRIPPER_6D_POSE)
    older = [f for f in history if f.time <= now.time - stall_s]
    if not older or any(f.stage != now.stage for f in history if f.time >= older[-1].time):
        return AnswerContent(success=True)
    reference = older[-1]
    for role in roles:
        if distance(reference, role) - distance(now, role) > PROGRESS_M:
            continue
        if role.grasp and role.mover == "gripper" and now.arm_touches(role.arm, role.target_geoms):
            return lift(now, role)
        if distance(now, role) < near_m and role.grasp and now.opening[role.arm] > OPEN:
            return close_gripper(now, role)
        if distance(now, role) >= near_m:
            return approach(now, role)
    return AnswerContent(success=True)
