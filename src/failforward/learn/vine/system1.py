"""System 1's training data from recorded plug-strip episodes: one sample stream per subgoal, with done labels.

VINE's System 1 is a flow policy conditioned on the current edge (subgoal) and its successor node, with a done
head that says when the edge has ended. A recorded episode of the runtime holds every planning cycle
(``/planner/plan``: the tick it ran at, why, and the plan whose first subgoal became the prompt), so the ticks
between two cycles are one **subgoal segment**: the policy executing that subgoal. Per segment:

- prompt: the subgoal's text (``grasp plug_a``, ``insert plug_a socket_1``), what the planning step prompts at run
  time. The successor node is not a separate input: our subgoals are verifiable, so the successor's relations follow
  from the segment's scene (joints and object poses, the state input) and the edge.
- outcome: succeeded when the next cycle ran because the scene showed the subgoal's successor (``subgoal_done``),
  or the episode succeeded during it; failed when it ended in a deviation (a plug let go outside a socket), a
  diagnosis, a System-1 end of edge the scene did not confirm, or with a failed episode. Failed segments train the
  failure head (AFIL) and no done label.
- done labels (successful segments): 0 before the tick the successor was observed, 1 from it on; the segment is
  extended by ``done_tail`` ticks after it (what the robot did next, labelled 1), so the done head sees the edge
  ended, not only its last tick. Segments of the ``done`` subgoal (nothing left) are dropped.

Optionally the whole episode is also one sample stream with the task's prompt (``task_episodes``), so the same
model can run without a planner (System 1 alone, the Table 1 baseline).

Example:
    >>> recorded = read_episode(file, load_images=False)
    >>> segments = subgoal_segments(recorded, done_tail=25)     # [EpisodeArrays], prompt = the subgoal
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from failforward.errors import RecordingError
from failforward.learn.episodes import ActionSource, EpisodeArrays, from_recorded
from failforward.record.reader import RecordedEpisode, read_episode

DONE_TAIL = 25  # [ticks] 0.5 s at 50 Hz after the successor is observed, labelled "ended"
ENDED_BY = "subgoal_done"  # the planning reason that means the scene showed the subgoal's successor


@dataclass(frozen=True)
class Segment:
    """Ticks ``start .. stop − 1`` executing ``subgoal``; ``reached`` is the tick its successor was observed (``None``:
    never: a failed segment)."""

    subgoal: str
    start: int
    stop: int
    reached: int | None


def segments_of(recorded: RecordedEpisode) -> list[Segment]:
    """The subgoal segments of ``recorded`` from its planning cycles (see the module docstring)."""
    cycles = [plan for _, plan in recorded.plans]
    if not cycles:
        raise RecordingError(f"{recorded.path} has no planning cycles: record with a planner (runs with `planner:`).")
    success = recorded.outcome is not None and recorded.outcome.success
    out = []
    for k, cycle in enumerate(cycles):
        subgoals = cycle.get("subgoals") or []
        if not subgoals:
            continue
        start = _tick(recorded, cycle)
        following = cycles[k + 1] if k + 1 < len(cycles) else None
        stop = _tick(recorded, following) if following is not None else recorded.length
        if stop <= start:
            continue
        if following is not None:
            reached = stop if following.get("reason") == ENDED_BY else None
        else:
            reached = recorded.length - 1 if success else None
        out.append(Segment(str(subgoals[0]), start, stop, reached))
    return out


def subgoal_segments(
    recorded: RecordedEpisode, *, done_tail: int = DONE_TAIL, action_source: ActionSource = "sent"
) -> list[EpisodeArrays]:
    """One :class:`EpisodeArrays` per subgoal segment of ``recorded``: prompt = the subgoal, success = reached,
    ``done`` labels on successful segments (see the module docstring)."""
    whole = from_recorded(recorded, action_source)
    out = []
    for segment in segments_of(recorded):
        if segment.subgoal == "done":
            continue
        if segment.reached is None:
            piece = whole.window(segment.start, segment.stop)
            out.append(replace(piece, prompt=segment.subgoal, success=False, done=np.full(piece.length, np.nan)))
            continue
        stop = min(segment.reached + done_tail, whole.length)
        piece = whole.window(segment.start, max(stop, segment.reached + 1))
        labels = (np.arange(segment.start, segment.start + piece.length) >= segment.reached).astype(np.float64)
        out.append(replace(piece, prompt=segment.subgoal, success=True, done=labels))
    return out


def system1_episodes(
    files: Iterable[str | Path], *, done_tail: int = DONE_TAIL, task_episodes: bool = True
) -> list[EpisodeArrays]:
    """Training streams of System 1 from recorded episode files: every subgoal segment, plus (``task_episodes``) each
    whole episode under the task's prompt. Episodes without an outcome are skipped."""
    out: list[EpisodeArrays] = []
    for file in files:
        recorded = read_episode(file, load_images=False)
        if recorded.outcome is None or recorded.length == 0:
            continue
        out.extend(subgoal_segments(recorded, done_tail=done_tail))
        if task_episodes:
            out.append(from_recorded(recorded))
    return out


def _tick(recorded: RecordedEpisode, cycle: dict) -> int:
    """The recording row of a planning cycle: the tick whose observation time is the cycle's (clipped)."""
    row = int(np.searchsorted(recorded.timestamps, float(cycle["time"]) - 1e-6))
    return min(max(row, 0), recorded.length - 1)
