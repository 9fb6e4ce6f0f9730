"""What the supervisor's queries came to, each outcome counted apart (reports, the demo's printout, /diagnostics).

A dead endpoint must never read as "N answers, 0 flagged": only a :class:`Diagnosis` is an answer; timeouts,
unreachable or failing backends, queries without usable frames and unreadable answers are counted on their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields

from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, SupervisorResult, Unreadable


@dataclass(frozen=True)
class SupervisorTally:
    """Counts of supervisor query outcomes.

    Attributes:
        answers: readable diagnoses (``Diagnosis``), whatever they said.
        flagged: of those, the ones that diagnosed a failure.
        timeouts: queries whose backend did not answer in time.
        unreachable: connection refused, HTTP or protocol errors, failing or missing backends.
        no_frames: queries without usable head-camera frames.
        unreadable: answers that came back but could not be parsed.
    """

    answers: int = 0
    flagged: int = 0
    timeouts: int = 0
    unreachable: int = 0
    no_frames: int = 0
    unreadable: int = 0

    @property
    def queries(self) -> int:
        """Every query that came back, whatever it came to."""
        return self.answers + self.timeouts + self.unreachable + self.no_frames + self.unreadable

    @property
    def healthy(self) -> bool:
        """True when every query came back with a readable answer (or there were none)."""
        return self.queries == self.answers

    @classmethod
    def of(cls, results: Iterable[SupervisorResult]) -> SupervisorTally:
        counts = dict.fromkeys((f.name for f in fields(cls)), 0)
        for result in results:
            for name in _counted_as(result):
                counts[name] += 1
        return cls(**counts)

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> SupervisorTally:
        return cls(**{f.name: int(data.get(f.name, 0)) for f in fields(cls)})

    def __add__(self, other: SupervisorTally) -> SupervisorTally:
        return SupervisorTally(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def line(self) -> str:
        """One line for people, e.g. ``"6 queries: 4 answers (1 flagged a failure), 2 timeouts"``."""
        parts = [f"{self.answers} answers ({self.flagged} flagged a failure)"]
        for name, label in (
            ("timeouts", "timeouts"),
            ("unreachable", "unreachable"),
            ("no_frames", "without frames"),
            ("unreadable", "unreadable"),
        ):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {label}")
        return f"{self.queries} queries: " + ", ".join(parts)


def _counted_as(result: SupervisorResult) -> tuple[str, ...]:
    if isinstance(result, Diagnosis):
        return ("answers",) if result.success else ("answers", "flagged")
    if isinstance(result, Unreadable):
        return ("unreadable",)
    if isinstance(result, NoDiagnosis):
        if result.reason == "timeout":
            return ("timeouts",)
        if result.reason == "empty_frames":
            return ("no_frames",)
        return ("unreachable",)
    raise TypeError(f"not a supervisor result: {type(result).__name__}")
