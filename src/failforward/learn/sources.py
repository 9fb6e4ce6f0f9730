"""Training data of a pipeline round: demos, corrected failures (expert part) and raw failures.

A correction episode replays the failed rollout for ``P`` ticks and then the expert finishes; only the
expert's part (ticks ``P ..``) becomes success data, because the replayed prefix is what led to the
failure. Failed rollouts are kept whole and train the failure head.
"""

from __future__ import annotations

import math
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

    loaded: dict[EpisodeSlice, EpisodeArrays] = {}  # a slice listed twice (repeated demos) is read once
    for item in slices:
        if item not in loaded:
            episode = from_recorded(read_episode(item.path, load_images=load_images), action_source)
            loaded[item] = episode.tail(item.start)
    return [loaded[item] for item in slices]


def demo_repeats(demos: int, corrections: int, max_share: float | None) -> int:
    """How many times ``demos`` episodes enter a round's success data so that ``corrections`` are at most
    ``max_share`` of it (the paper's data: 1000 corrected of 2500 success trajectories, 0.4); 1 without a cap, a
    demo or a correction.

    Example:
        >>> demo_repeats(50, 117, 0.4)  # 50 x 4 = 200 demos + 117 corrections: 37 % corrections
        4
    """
    if max_share is None or demos == 0 or corrections == 0:
        return 1
    return max(1, math.ceil(corrections * (1 - max_share) / (max_share * demos)))
