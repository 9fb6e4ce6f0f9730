"""What the recovery controller hands the control loop for one tick, instead of (or around) the policy.

- :class:`JointOverride`: send ``positions [A]`` (through the safety layer) instead of the broker's action;
  do not ask the policy for a chunk this tick. While holding, every ``RecoveryConfig.hold_chunk_ticks`` ticks
  it carries a hold ``chunk`` for the tick record, so that the supervisor (which is asked every K new chunks)
  keeps looking and can report the failure cleared.
- :class:`PolicyOverride`: ask the policy with ``prompt`` on ``transform(observation)`` (VSF); when
  ``restart`` is true, drop the broker's queued actions first (they were planned for the old prompt).
- :class:`ResumePolicy`: a correction just ended; drop the queued actions and run the policy normally.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from failforward.types import ActionChunk, Observation


@dataclass(frozen=True)
class JointOverride:
    """Absolute joint targets ``[A]`` for this tick; ``mode`` names who planned them; ``chunk`` (or ``None``)
    is what the tick record reports as this tick's new chunk."""

    positions: np.ndarray
    mode: str
    chunk: ActionChunk | None = None


@dataclass(frozen=True)
class PolicyOverride:
    """The policy runs on ``transform(observation)`` with ``prompt``; ``restart``: reset the broker first."""

    prompt: str
    transform: Callable[[Observation], Observation]
    restart: bool
    mode: str = "vsf"


@dataclass(frozen=True)
class ResumePolicy:
    """Reset the broker, then infer with the task prompt as usual."""

    restart: bool = True


Override = JointOverride | PolicyOverride | ResumePolicy
