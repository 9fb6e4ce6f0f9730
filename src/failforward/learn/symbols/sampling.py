"""Random atomic corrective commands in the ViFailback grammar (what the supervisor would say).

One sample is one atomic motion of one gripper: a ``Move`` in one of the six head-camera robot directions,
"slightly" or "significantly"; a ``Rotate`` clockwise or counter-clockwise; or ``open`` / ``close``. With
``SymbolDataConfig.composition_probability`` a move becomes a two-command correction of the shapes the oracle
supervisor writes (``supervisor/oracle/rules.py``): a move along a second axis ("move the right gripper
forward slightly and downward significantly") or "open" first ("open the left gripper, and move it …").

Example:
    >>> rng = np.random.default_rng(0)
    >>> format_commands(sample_commands(rng, SymbolDataConfig()))
    'Open the right gripper, and move the right gripper downward slightly.'
"""

from __future__ import annotations

from typing import TypeVar, get_args

import numpy as np

from failforward.learn.symbols.config import SymbolDataConfig
from failforward.supervisor.commands import DIRECTION_AXIS, Direction, Grasp, Magnitude, Move, Rotate
from failforward.supervisor.questions import Gripper

Command = Move | Rotate | Grasp
GRIPPERS: tuple[Gripper, ...] = get_args(Gripper)
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)
MAGNITUDES: tuple[Magnitude, ...] = get_args(Magnitude)


T = TypeVar("T")


def _pick(rng: np.random.Generator, options: tuple[T, ...]) -> T:
    return options[int(rng.integers(len(options)))]


def _move(rng: np.random.Generator, gripper: Gripper | None, directions: tuple[Direction, ...] = DIRECTIONS) -> Move:
    return Move(gripper=gripper, direction=_pick(rng, directions), magnitude=_pick(rng, MAGNITUDES))


def _composed(rng: np.random.Generator, first: Move) -> tuple[Command, ...]:
    if rng.random() < 0.5:
        others = tuple(d for d in DIRECTIONS if DIRECTION_AXIS[d] != first.axis)
        return first, _move(rng, first.gripper, others)
    return Grasp(gripper=first.gripper, state="open"), first


def sample_commands(rng: np.random.Generator, config: SymbolDataConfig) -> tuple[Command, ...]:
    """One or two commands for one gripper (see the module docstring), drawn with ``rng``."""
    kinds = tuple(config.kind_weights)
    weights = np.array([config.kind_weights[k] for k in kinds], dtype=np.float64)
    kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
    gripper = _pick(rng, GRIPPERS)
    if kind == "rotate":
        return (Rotate(gripper=gripper, direction=_pick(rng, ("clockwise", "counter-clockwise"))),)
    if kind == "grasp":
        return (Grasp(gripper=gripper, state=_pick(rng, ("open", "close"))),)
    move = _move(rng, gripper)
    return _composed(rng, move) if rng.random() < config.composition_probability else (move,)


def sample_prelude_ticks(rng: np.random.Generator, config: SymbolDataConfig) -> int:
    """[ticks] the expert runs before the corrective motion, uniform in ``config.prelude_ticks``."""
    lo, hi = config.prelude_ticks
    return int(rng.integers(lo, hi + 1))
