"""Failure detectors registered by name; ``supervisor.detector.kind`` selects one.

A builder receives the detector config and a :class:`DetectorContext` (what it needs to know of the policy).

Example:
    >>> detector = make_detector(config.supervisor.detector, DetectorContext(gamma=1.0))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from failforward.registry import Registry
from failforward.supervisor.detector.base import FailureDetector


@dataclass(frozen=True)
class DetectorContext:
    """What a detector builder may know.

    Attributes:
        gamma: γ of the policy's adaptive guidance, so that ``λ_t / γ = (1 − cos) / 2`` [dimensionless].
    """

    gamma: float = 1.0


DetectorBuilder = Callable[[Any, DetectorContext], FailureDetector]
DETECTORS: Registry[DetectorBuilder] = Registry(
    "failure detector", {"dual_head": "failforward.supervisor.detector.dual_head"}
)


def register_detector(kind: str) -> Callable[[DetectorBuilder], DetectorBuilder]:
    """Decorator registering ``builder(config, context) -> FailureDetector`` under ``kind``."""
    return DETECTORS.register(kind)


def make_detector(config: Any, context: DetectorContext) -> FailureDetector:
    """The detector ``config.kind`` names, built for ``context``."""
    return DETECTORS.get(config.kind)(config, context)
