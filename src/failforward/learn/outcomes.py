"""Which outcome a recorded episode trains as, by a stated precedence, and which of its ticks are training data.

Precedence (the first that knows wins):

1. **label**: an operator's label (``learn.labels``, ``failforward label``).
2. **simulator**: the outcome the simulator judged, recorded in the ``episode`` metadata of a file on the ``sim``
   clock; an ``aborted: …`` episode (interrupted, starved, a driver error), ``outcome unavailable`` or a driver
   without a success judge (hardware) gives none.
3. **supervisor**: the supervisor's verdict from the recorded answers (``/supervisor/diagnosis``) and recovery events
   (``/recovery/event``): the last readable answer says failure → failure (diagnosed and not rescued); it says
   success after a failure diagnosis and a correction that finished (``completed``/``succeeded``) → success, rescued;
   no failure diagnosed at all and a last answer of success → success.

Otherwise the episode has no outcome and is skipped (counted, never guessed).

Training ticks: a failure trains the failure head whole. A success trains the success head from tick 0, except an
episode the recovery machine corrected (a ``planned`` event, whatever source gave the outcome): its success data
starts where the first correction started, since the ticks before it led to the diagnosed failure (as the learning
pipeline keeps only the expert's part of a correction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from failforward.learn.labels import Label
from failforward.record.reader import RecordedEpisode

OutcomeSource = Literal["label", "simulator", "supervisor"]
NO_JUDGE = ("aborted", "outcome unavailable", "ended after max_steps; this driver has no success judge")
CORRECTION_END = ("completed", "succeeded")


@dataclass(frozen=True)
class Resolved:
    """The outcome an episode trains as: ``success``, who said so (``source``), ``start`` (first training tick) and
    whether a correction made it (``corrected``)."""

    success: bool
    source: OutcomeSource
    start: int = 0
    corrected: bool = False


@dataclass(frozen=True)
class Unresolved:
    """No source knows the episode's outcome; ``reason`` says why (for the skipped count)."""

    reason: str


def resolve(episode: RecordedEpisode, label: Label | None) -> Resolved | Unresolved:
    """The episode's training outcome by the module's precedence (label, simulator, supervisor)."""
    start = correction_start(episode)
    if label is not None:
        return _with_start(label.success, "label", start)
    simulated = simulator_outcome(episode)
    if simulated is not None:
        return _with_start(simulated, "simulator", start)
    verdict = supervisor_verdict(episode)
    if verdict is not None:
        return _with_start(verdict, "supervisor", start)
    return Unresolved(_why_unknown(episode))


def simulator_outcome(episode: RecordedEpisode) -> bool | None:
    """The simulator's judged success, or ``None`` when the file holds no judged outcome (see the module docstring)."""
    outcome, meta = episode.outcome, episode.metadata
    if outcome is None:
        return None
    on_sim = meta.get("clock") == "sim" or ("clock" not in meta and meta.get("robot", "").startswith("sim"))
    if not on_sim or outcome.reason.startswith(NO_JUDGE):
        return None
    return outcome.success


def supervisor_verdict(episode: RecordedEpisode) -> bool | None:
    """The supervisor's verdict (see the module docstring), ``None`` when it never answered readably."""
    answers = [(t, d["result"]) for t, d in episode.diagnoses if d.get("result", {}).get("kind") == "diagnosis"]
    if not answers:
        return None
    last_time, last = answers[-1]
    if not last["success"]:
        return False
    failures = [t for t, result in answers if not result["success"]]
    if not failures:
        return True
    return any(first >= failures[0] and end <= last_time for first, end in _corrections(episode.recovery_events))


def correction_start(episode: RecordedEpisode) -> int:
    """Tick where the first correction started (``planned`` event), 0 when the recovery machine never corrected."""
    starts = [t for t, event in episode.recovery_events if event.get("kind") == "planned"]
    if not starts or episode.length == 0:
        return 0
    tick = int(np.searchsorted(episode.timestamps, min(starts)))
    return min(tick, episode.length - 1)


def _corrections(events: list[tuple[float, dict[str, Any]]]) -> list[tuple[float, float]]:
    """``(start, end)`` times [s] of corrections that finished (``planned`` … ``completed``/``succeeded``)."""
    out, started = [], None
    for t, event in events:
        kind = event.get("kind")
        if kind == "planned" and started is None:
            started = t
        elif kind in CORRECTION_END and started is not None:
            out.append((started, t))
            started = None
        elif kind in ("exhausted", "timeout", "reset"):
            started = None
    return out


def _with_start(success: bool, source: OutcomeSource, start: int) -> Resolved:
    if success:
        return Resolved(True, source, start, corrected=start > 0)
    return Resolved(False, source)


def _why_unknown(episode: RecordedEpisode) -> str:
    if episode.outcome is None:
        return "no recorded outcome (cut off), no label and no supervisor answer"
    return f"recorded outcome {episode.outcome.reason!r} is not a judged one, no label and no supervisor answer"
