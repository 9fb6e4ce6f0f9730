"""Recovery states and the transition events the control loop can record.

States: ``NOMINAL`` → ``DIAGNOSED`` → ``CORRECTING`` (PMC or VSF) → ``NOMINAL``, plus ``HOLD`` (hold still
until the supervisor reports the failure cleared) and ``REWIND`` (return an arm to its pre-failure pose).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Literal


class RecoveryState(str, Enum):
    NOMINAL = "nominal"
    DIAGNOSED = "diagnosed"
    CORRECTING = "correcting"
    HOLD = "hold"
    REWIND = "rewind"


EventKind = Literal[
    "diagnosed",  # a failure diagnosis arrived in NOMINAL
    "planned",  # a mode accepted it; the machine starts the correction
    "refused",  # the mode could not follow it (reason given)
    "exhausted",  # max_attempts used up
    "completed",  # a trajectory correction finished
    "succeeded",  # the supervisor reported success during a correction
    "cleared",  # HOLD ended by a report
    "timeout",  # a correction or HOLD ran past its timeout
    "replanned",  # a new failure diagnosis during VSF started another attempt
    "reset",  # new episode
]


@dataclass(frozen=True)
class RecoveryEvent:
    """One transition ``source`` → ``target`` at ``time`` [s] (driver clock).

    Attributes:
        kind: what caused it (see :data:`EventKind`).
        mode: the corrective mode involved (``""`` if none).
        reason: readable detail (refusal reason, failure type, command text).
        attempt: corrections started since the last success report, after this event.
    """

    time: float
    kind: EventKind
    source: RecoveryState
    target: RecoveryState
    mode: str = ""
    reason: str = ""
    attempt: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (for an MCAP JSON channel)."""
        data = asdict(self)
        data["source"], data["target"] = self.source.value, self.target.value
        return data
