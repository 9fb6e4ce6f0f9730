"""Recorded episodes as training data, read from their MCAP files directly (no conversion step).

Point it at recordings of ``failforward demo``, of a deployment loop or of the ROS policy node (files or
directories, searched recursively); each episode's outcome comes from ``learn.outcomes`` (operator label, else the
simulator, else the supervisor), failures train the failure head whole and successes the success head (from the first
correction's start when the recovery machine corrected them). Episodes without an outcome, unreadable or empty files
are skipped and counted, never guessed.

Example:
    >>> selection = select_recorded([Path("runs/20261202-030750-sim_transfer_cube_afil")])
    >>> print(selection.summary())
    >>> episodes = load_selection(selection)            # EpisodeArrays for ``learn.trainer.train``
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from failforward.errors import RecordingError
from failforward.learn.episodes import ActionSource, EpisodeArrays, from_recorded
from failforward.learn.labels import read_label
from failforward.learn.outcomes import Resolved, Unresolved, resolve
from failforward.record.reader import NO_TICKS, read_episode

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chosen:
    """One episode file that trains: its resolved outcome (``outcome.start`` = first training tick)."""

    path: Path
    outcome: Resolved

    def row(self) -> dict[str, Any]:
        """JSON-compatible description (for state files and reports)."""
        o = self.outcome
        return {
            "file": str(self.path),
            "success": o.success,
            "source": o.source,
            "start": o.start,
            "corrected": o.corrected,
        }


@dataclass(frozen=True)
class Selection:
    """What a set of recordings gives: episodes that train and files skipped with their reasons."""

    chosen: list[Chosen] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def successes(self) -> list[Chosen]:
        return [c for c in self.chosen if c.outcome.success]

    @property
    def failures(self) -> list[Chosen]:
        return [c for c in self.chosen if not c.outcome.success]

    def counts(self) -> dict[str, int]:
        """Episodes per role and outcome source, corrected successes and skipped files."""
        by = Counter(f"{'success' if c.outcome.success else 'failure'}_{c.outcome.source}" for c in self.chosen)
        return {
            "successes": len(self.successes),
            "failures": len(self.failures),
            "corrected": sum(c.outcome.corrected for c in self.chosen),
            "skipped": len(self.skipped),
            **dict(sorted(by.items())),
        }

    def summary(self) -> str:
        """One line: how many episodes train as what, and how many were skipped."""
        c = self.counts()
        sources = ", ".join(f"{k} {v}" for k, v in c.items() if k.startswith(("success_", "failure_")))
        return (
            f"{c['successes']} successes ({c['corrected']} corrected), {c['failures']} failures ({sources}); "
            f"{c['skipped']} skipped"
        )


def episode_files(sources: Iterable[Path]) -> list[Path]:
    """``sources`` with directories expanded to their ``*.mcap`` files (recursively, sorted), duplicates dropped."""
    files: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            files.extend(sorted(source.rglob("*.mcap")))
        elif source.is_file() and source.suffix == ".mcap":
            files.append(source)
        else:
            raise RecordingError(f"{source} is neither a directory nor an .mcap file: pass recordings (runs/<run>).")
    unique = list(dict.fromkeys(files))
    if not unique:
        raise RecordingError(f"No .mcap episodes under {', '.join(map(str, sources))}; record some with the demo.")
    return unique


def select_recorded(sources: Iterable[Path]) -> Selection:
    """Resolve every episode under ``sources`` (see the module docstring); reads no camera frames."""
    chosen, skipped = [], []
    for path in episode_files(sources):
        try:
            episode = read_episode(path, load_images=False)
        except Exception as exc:  # errors of the mcap/ROS decoders on a corrupt file, or ours
            skipped.append((path, f"unreadable ({type(exc).__name__}: {exc})"))
            continue
        if episode.length == 0:
            skipped.append((path, NO_TICKS))
            continue
        outcome = resolve(episode, read_label(path))
        if isinstance(outcome, Unresolved):
            skipped.append((path, outcome.reason))
        else:
            chosen.append(Chosen(path, outcome))
    for path, reason in skipped:
        logger.info("skipped %s: %s", path, reason)
    return Selection(chosen, skipped)


def load_selection(
    selection: Selection, *, action_source: ActionSource = "sent", load_images: bool = False
) -> list[EpisodeArrays]:
    """The chosen episodes as training arrays, each from its first training tick, with its resolved outcome."""
    out = []
    for item in selection.chosen:
        recorded = read_episode(item.path, load_images=load_images)
        arrays = from_recorded(recorded, action_source, success=item.outcome.success)
        out.append(arrays.tail(item.outcome.start))
    return out
