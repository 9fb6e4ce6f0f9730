"""The failure-detector role: one cheap score per new action chunk, and whether it trips.

A :class:`FailureDetector` sees every newly inferred :class:`~failforward.types.ActionChunk` of an episode, in order,
and returns a :class:`Verdict`; a tripped verdict asks the supervisor at once
(:class:`~failforward.supervisor.detector.trigger.DetectorTrigger`). It never blocks and never raises on a chunk.

Example:
    >>> detector = make_detector(DualHeadDetectorConfig(threshold=0.04), DetectorContext(gamma=1.0))
    >>> detector.reset()
    >>> verdict = detector.observe(chunk)       # Verdict(score=0.013, tripped=False)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

from failforward.types import ActionChunk


class Verdict(NamedTuple):
    """One chunk's score and decision.

    Attributes:
        score: the detector's score of the chunk (dual head: ``(1 − cos) / 2`` ∈ [0, 1]), ``None`` when the chunk
            carries nothing to score (an unguided chunk).
        tripped: the supervisor should be asked now.
    """

    score: float | None
    tripped: bool


class FailureDetector(ABC):
    """Scores the chunks of one episode at a time."""

    @property
    @abstractmethod
    def threshold(self) -> float:
        """The score a chunk must exceed to count (same unit as :attr:`Verdict.score`)."""

    @abstractmethod
    def reset(self) -> None:
        """Forget the episode so far (debounce run, cooldown)."""

    @abstractmethod
    def observe(self, chunk: ActionChunk) -> Verdict:
        """Score ``chunk`` (the newest of the episode) and decide; constant time, never raises."""
