"""Where recordings go: a fresh directory per run, files created exclusively, so nothing is ever overwritten.

Example:
    >>> from failforward.record.files import create_run_dir, open_exclusive
    >>> run_dir = create_run_dir(Path("runs"), "20261201-211402-sim_insertion")  # "...-1" if taken
    >>> stream = open_exclusive(run_dir / "episode_0000_seed0.mcap")  # RecordingError if it exists
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from failforward.errors import RecordingError

MAX_SUFFIX = 10_000  # run directories "<name>-1" ... "<name>-9999" are tried before giving up


def create_run_dir(parent: Path, name: str) -> Path:
    """Create and return ``parent/name``, or ``parent/name-1``, ``-2``, ... when it exists.

    ``mkdir`` without ``exist_ok`` is atomic, so two runs started in the same second (two processes, or two
    ``~/start`` calls) always get different directories; an existing directory is never reused. ``name`` may
    hold subdirectories (``round_0/rollouts``); those are created as needed, only the last part is exclusive.
    """
    base = Path(parent) / name
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordingError(
            f"Cannot create {base.parent} for recordings: {exc}. Set record.output_dir to a writable directory."
        ) from exc
    for suffix in range(MAX_SUFFIX):
        candidate = base if suffix == 0 else base.with_name(f"{base.name}-{suffix}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise RecordingError(
                f"Cannot create the run directory {candidate}: {exc}. Set record.output_dir to a writable directory."
            ) from exc
        return candidate
    raise RecordingError(
        f"{base} and {MAX_SUFFIX - 1} suffixed variants already exist; move old runs out of {base.parent}."
    )


def open_exclusive(path: Path) -> BinaryIO:
    """Create ``path`` for writing; an existing file is never replaced (``RecordingError`` saying what to do)."""
    try:
        return Path(path).open("xb")
    except FileExistsError as exc:
        raise RecordingError(
            f"{path} already exists and recordings are never overwritten: record into a fresh run directory "
            "(another run name or record.output_dir), or move the existing file away first."
        ) from exc
    except OSError as exc:
        raise RecordingError(f"Cannot create {path}: {exc}. Set record.output_dir to a writable directory.") from exc
