"""What a corrective mode decides: a :class:`Correction` (intent only) or a typed :class:`Refusal`.

Modes never touch a driver. A correction is either a joint trajectory of absolute targets that the
control loop sends through the safety layer, a prompt plus observation transform for the policy (VSF), or
"hold still". Joint vectors are ``float64 [A]`` in the driver's joint order (``failforward.types``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from failforward.errors import ShapeError
from failforward.types import Observation


@dataclass(frozen=True)
class TrajectoryCorrection:
    """Follow ``targets [T, A]`` (absolute joint targets, one row per control tick), then resume the policy.

    Attributes:
        mode: the mode that planned it (``"pmc"``, ``"rewind"``).
        targets: ``float64 [T, A]`` joint targets in the driver's units.
        arm: the arm it moves (``"left"`` / ``"right"``).
        description: readable summary of the steps (for logs and the episode record).
        then_replan: when done, plan the same diagnosis again (the move only cleared the camera's view).
    """

    mode: str
    targets: np.ndarray
    arm: str
    description: str = ""
    then_replan: bool = False

    def __post_init__(self) -> None:
        targets = np.asarray(self.targets, dtype=np.float64)
        if targets.ndim != 2 or targets.shape[0] == 0 or not np.all(np.isfinite(targets)):
            raise ShapeError(f"TrajectoryCorrection.targets must be finite [T, A] with T >= 1, got {targets.shape}.")
        targets = targets.copy()
        targets.setflags(write=False)
        object.__setattr__(self, "targets", targets)


@dataclass(frozen=True)
class PolicyCorrection:
    """Run the policy on ``transform(observation)`` with ``prompt`` until the supervisor reports success (VSF).

    Attributes:
        mode: ``"vsf"``.
        prompt: the textual correction given to the policy instead of the task prompt.
        transform: observation → observation the policy sees (symbols drawn, ROI mask, idle wrist zeroed).
        arms: the arms the guidance addresses.
    """

    mode: str
    prompt: str
    transform: Callable[[Observation], Observation]
    arms: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class HoldCorrection:
    """Hold every joint at ``positions [A]`` until the supervisor reports the failure cleared."""

    mode: str
    positions: np.ndarray
    description: str = ""


Correction = TrajectoryCorrection | PolicyCorrection | HoldCorrection


@dataclass(frozen=True)
class Refusal:
    """The mode cannot follow the diagnosis; ``reason`` says why (logged and recorded, never raised)."""

    mode: str
    reason: str


PlanResult = Correction | Refusal
"""What ``CorrectiveMode.plan`` returns."""
