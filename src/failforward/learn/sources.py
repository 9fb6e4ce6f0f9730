"""Training data of a pipeline round: demos, corrected failures (expert part) and raw failures.

A correction episode replays the failed rollout for ``P`` ticks and then the expert finishes; only the
expert's part (ticks ``P ..``) becomes success data, because the replayed prefix is what led to the
failure. Failed rollouts are kept whole and train the failure head.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from failforward.learn.episodes import ActionSource, EpisodeArrays, from_recorded


@dataclass(frozen=True)
class EpisodeSlice:
    """Ticks ``start ..`` of the recorded episode at ``path``; ``success`` overrides nothing, it is checked."""

    path: Path
    start: int = 0


def load_slices(
    slices: list[EpisodeSlice], *, action_source: ActionSource = "sent", load_images: bool = False
) -> list[EpisodeArrays]:
    """Read each slice's episode and keep ticks ``start ..`` (every array, images included)."""
    from failforward.record.reader import read_episode

    out = []
    for item in slices:
        episode = from_recorded(read_episode(item.path, load_images=load_images), action_source)
        out.append(episode.tail(item.start))
    return out
