"""Low-level commands: the ViFailback grammar parsed into typed values, and written back as text.

Grammar (paper, Figures 5 and 7): a target ``left gripper`` | ``right gripper``; actions
``Move`` (``upward, downward, left, right, forward, backward``, optional ``slightly`` | ``significantly``),
``Rotate`` (``clockwise`` | ``counter-clockwise``), ``Grasp`` (``open`` | ``close``), and "Hold still".

Directions are in the robot frame seen from the head camera: +x forward (towards the top of the image),
+y left, +z up (right-handed). ``Move.unit_vector`` gives the direction as ``[3]`` in that frame.

Example:
    >>> parse_commands("Move the right gripper to the right significantly and backward, and rotate it clockwise.")[0]
    Move(gripper='right', direction='right', magnitude='significantly')
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from failforward.supervisor.questions import Gripper

log = logging.getLogger(__name__)

Direction = Literal["upward", "downward", "left", "right", "forward", "backward"]
Magnitude = Literal["slightly", "significantly"]
Axis = Literal["x", "y", "z"]

DIRECTION_VECTORS: dict[Direction, tuple[float, float, float]] = {
    "forward": (1.0, 0.0, 0.0),
    "backward": (-1.0, 0.0, 0.0),
    "left": (0.0, 1.0, 0.0),
    "right": (0.0, -1.0, 0.0),
    "upward": (0.0, 0.0, 1.0),
    "downward": (0.0, 0.0, -1.0),
}
DIRECTION_AXIS: dict[Direction, Axis] = {
    "forward": "x",
    "backward": "x",
    "left": "y",
    "right": "y",
    "upward": "z",
    "downward": "z",
}
AXIS_COLOR = {"x": "red", "y": "green", "z": "blue"}


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Move(_Command):
    """Translate ``gripper`` in ``direction`` (robot frame), by an unspecified, small or large amount."""

    kind: Literal["move"] = "move"
    gripper: Gripper | None
    direction: Direction
    magnitude: Magnitude | None = None

    @property
    def unit_vector(self) -> np.ndarray:
        """``[3]`` unit direction in the head-camera robot frame (+x forward, +y left, +z up)."""
        return np.array(DIRECTION_VECTORS[self.direction])

    @property
    def axis(self) -> Axis:
        return DIRECTION_AXIS[self.direction]


class Rotate(_Command):
    """Rotate ``gripper`` clockwise or counter-clockwise (as seen in the head-camera image)."""

    kind: Literal["rotate"] = "rotate"
    gripper: Gripper | None
    direction: Literal["clockwise", "counter-clockwise"]


class Grasp(_Command):
    """Open or close ``gripper``."""

    kind: Literal["grasp"] = "grasp"
    gripper: Gripper | None
    state: Literal["open", "close"]


class HoldStill(_Command):
    """Keep ``gripper`` (or the whole robot when ``None``) still, e.g. until a human intervention ends."""

    kind: Literal["hold_still"] = "hold_still"
    gripper: Gripper | None = None


LowLevelCommand = Annotated[Move | Rotate | Grasp | HoldStill, Field(discriminator="kind")]

_GRIPPER = re.compile(r"\b(left|right)\s+(?:gripper|arm|hand|end[- ]effector)s?\b", re.I)
_PRONOUN_IT = re.compile(r"\b(it|its)\b", re.I)
_CLAUSE_SPLIT = re.compile(r"[.;\n]+|,?\s+\band\b\s+|,\s*(?:then\s+)?|\bthen\b", re.I)
_MAG = r"(slightly|significantly|a\s+little|a\s+lot|substantially)"
_DIR = r"(upwards?|up|downwards?|down|left|right|forwards?|backwards?|back)"
_MOVE_ITEM = re.compile(rf"(?:{_MAG}\s+)?(?:to\s+the\s+|towards?\s+the\s+)?\b{_DIR}\b(?:\s+{_MAG})?", re.I)
_ROTATE = re.compile(r"\b(counter[- ]?clockwise|anti[- ]?clockwise|clockwise)\b", re.I)
_HOLD = re.compile(r"\b(hold|keep|stay|remain)\b[^.]*?\bstill\b|\bhold\s+still\b|\bstop\b|\bpause\b", re.I)
_VERB = re.compile(
    r"\b(move|shift|lift|lower|raise|rotate|turn|twist|open|opened|release|close|closed|grasp|grip)\b", re.I
)

_DIRECTION_WORDS: dict[str, Direction] = {
    "up": "upward",
    "upward": "upward",
    "upwards": "upward",
    "down": "downward",
    "downward": "downward",
    "downwards": "downward",
    "left": "left",
    "right": "right",
    "forward": "forward",
    "forwards": "forward",
    "backward": "backward",
    "backwards": "backward",
    "back": "backward",
}
_MAGNITUDE_WORDS: dict[str, Magnitude] = {
    "slightly": "slightly",
    "a little": "slightly",
    "significantly": "significantly",
    "a lot": "significantly",
    "substantially": "significantly",
}
_VERB_KIND = {
    "move": "move",
    "shift": "move",
    "lift": "move",
    "lower": "move",
    "raise": "move",
    "rotate": "rotate",
    "turn": "rotate",
    "twist": "rotate",
    "open": "open",
    "opened": "open",
    "release": "open",
    "close": "close",
    "closed": "close",
    "grasp": "close",
    "grip": "close",
}


def _magnitude(*words: str | None) -> Magnitude | None:
    for word in words:
        if word:
            return _MAGNITUDE_WORDS[re.sub(r"\s+", " ", word.lower())]
    return None


def _clause_commands(clause: str, gripper: Gripper | None, verb: str | None) -> list[LowLevelCommand]:
    """Commands of one clause, given the gripper and verb in force (inherited from earlier clauses)."""
    body = _GRIPPER.sub(" ", clause)
    if verb == "rotate":
        found = _ROTATE.search(body)
        if found:
            word = found.group(1).lower()
            direction = "clockwise" if word == "clockwise" else "counter-clockwise"
            return [Rotate(gripper=gripper, direction=direction)]
        return []
    if verb in ("open", "close"):
        return [Grasp(gripper=gripper, state=verb)]
    moves: list[LowLevelCommand] = []
    for match in _MOVE_ITEM.finditer(body):
        before, word, after = match.group(1), match.group(2).lower(), match.group(3)
        moves.append(Move(gripper=gripper, direction=_DIRECTION_WORDS[word], magnitude=_magnitude(before, after)))
    if not moves and verb in ("lift", "raise", "lower"):
        amount = re.search(_MAG, body, re.I)
        direction = "downward" if verb == "lower" else "upward"
        moves.append(Move(gripper=gripper, direction=direction, magnitude=_magnitude(amount and amount.group(1))))
    return moves


def parse_commands(text: str) -> tuple[Move | Rotate | Grasp | HoldStill, ...]:
    """Parse a low-level command sentence into typed commands, in the order they were written.

    Tolerant: clauses without a recognizable action are skipped (logged at debug level). The gripper and
    the verb carry over from one clause to the next ("move the right gripper left and backward").
    """
    commands: list[LowLevelCommand] = []
    gripper: Gripper | None = None
    verb: str | None = None
    for clause in _CLAUSE_SPLIT.split(text[:4000]):
        if not clause or not clause.strip():
            continue
        named = _GRIPPER.search(clause)
        if named:
            gripper = "left" if named.group(1).lower() == "left" else "right"
        if _HOLD.search(clause):
            commands.append(HoldStill(gripper=gripper if named else None))
            continue
        verb_match = _VERB.search(_GRIPPER.sub(" ", clause))
        if verb_match:
            verb = _VERB_KIND[verb_match.group(1).lower()]
            if verb_match.group(1).lower() in ("lift", "raise", "lower"):
                verb = verb_match.group(1).lower()
        found = _clause_commands(clause, gripper, verb)
        if not found:
            log.debug("no low-level command in clause %r", clause)
        commands.extend(found)
    return tuple(commands)


def _gripper_phrase(gripper: Gripper | None) -> str:
    return f"the {gripper} gripper" if gripper else "the gripper"


def _move_words(move: Move) -> str:
    where = f"to the {move.direction}" if move.direction in ("left", "right") else move.direction
    return f"{where} {move.magnitude}" if move.magnitude else where


def _same_gripper_move(command: object, first: Move) -> bool:
    return isinstance(command, Move) and command.gripper == first.gripper


def format_commands(commands: tuple[Move | Rotate | Grasp | HoldStill, ...]) -> str:
    """Write commands as one ViFailback sentence, e.g. "Move the right gripper forward slightly and
    downward significantly, and open the right gripper." (consecutive moves of one gripper are joined)."""
    if not commands:
        return ""
    if all(isinstance(c, HoldStill) for c in commands):
        return "Hold still."
    parts: list[str] = []
    i = 0
    while i < len(commands):
        cmd = commands[i]
        if isinstance(cmd, Move):
            group = [cmd]
            while i + 1 < len(commands) and _same_gripper_move(commands[i + 1], cmd):
                i += 1
                group.append(commands[i])  # type: ignore[arg-type]
            parts.append(f"move {_gripper_phrase(cmd.gripper)} " + " and ".join(_move_words(m) for m in group))
        elif isinstance(cmd, Rotate):
            parts.append(f"rotate {_gripper_phrase(cmd.gripper)} {cmd.direction}")
        elif isinstance(cmd, Grasp):
            parts.append(f"{cmd.state} {_gripper_phrase(cmd.gripper)}")
        else:
            parts.append(f"hold {_gripper_phrase(cmd.gripper)} still" if cmd.gripper else "hold still")
        i += 1
    sentence = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]
    return sentence[0].upper() + sentence[1:] + "."
