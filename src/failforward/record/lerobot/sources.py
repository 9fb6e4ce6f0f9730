"""Which episode files to export, and reading each (or the reason it is skipped).

Directories are searched recursively for ``*.mcap``. A file is skipped, with its reason, when it cannot be read,
was cut off by a crash (no recorded outcome: ``failforward record repair`` it first), has no ticks, or does not
match the dataset (other joints, objects or cameras than the first exported episode).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from failforward.record.lerobot.spec import LeRobotExportError
from failforward.record.reader import NO_TICKS, RecordedEpisode, read_episode


@dataclass(frozen=True)
class Skipped:
    """A file left out of the dataset and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.path}: {self.reason}"


def episode_files(sources: Iterable[Path]) -> list[Path]:
    """``sources`` with directories expanded to their ``*.mcap`` files (sorted, recursively), duplicates dropped."""
    files: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            files.extend(sorted(source.rglob("*.mcap")))
        elif source.is_file():
            files.append(source)
        else:
            raise LeRobotExportError(f"{source} does not exist: pass episode .mcap files or directories holding them.")
    unique = list(dict.fromkeys(path.resolve() for path in files))
    if not unique:
        raise LeRobotExportError(f"No .mcap files in {', '.join(map(str, sources))}: pass recorded episodes.")
    return unique


def load(path: Path) -> RecordedEpisode | Skipped:
    """The episode with its images, or why it is skipped."""
    try:
        episode = read_episode(path)
    except Exception as exc:  # a corrupt file: errors of the mcap, ROS and JPEG decoders, or ours
        return Skipped(path, f"unreadable ({type(exc).__name__}: {exc})")
    if episode.outcome is None:
        return Skipped(
            path,
            "cut off (no recorded outcome: the recorder was killed); run `failforward record repair "
            f"{path}` and export the .repaired.mcap it writes",
        )
    if episode.length == 0:
        return Skipped(path, NO_TICKS)
    short = [name for name, frames in episode.images.items() if len(frames) < episode.length]
    if short:
        return Skipped(path, f"camera {', '.join(short)} has fewer frames than the {episode.length} ticks")
    return episode
