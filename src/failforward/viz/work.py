"""One piece of work handed from the control thread to the live view's publisher thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

ItemKind = Literal["start", "tick", "report", "event", "end"]


@dataclass(frozen=True)
class Item:
    """``kind``, the wall-clock time [ns since the epoch] it was handed over, the value (an ``EpisodeInfo``,
    ``TickRecord``, ``SupervisorReport``, ``RecoveryEvent`` or ``EpisodeOutcome``) and, for a report, the head
    frame (``uint8 [H, W, 3]`` RGB) its symbols refer to."""

    kind: ItemKind
    ns: int
    value: Any
    frame: np.ndarray | None = None
