"""Recorded episodes → a LeRobot v3.0 dataset, failures included (see ``docs/lerobot_export.md``).

The dataset is built in ``<out>.partial`` next to ``out`` and renamed to ``out`` once complete, so ``out`` is
either absent or a whole dataset; an existing ``out`` is never written into.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from failforward.record.lerobot import layout
from failforward.record.lerobot.frames import episode_frames
from failforward.record.lerobot.sources import Skipped, episode_files, load
from failforward.record.lerobot.spec import (
    DatasetSpec,
    LeRobotExportError,
    control_hz,
    default_fps,
    frame_stride,
    spec_of,
)
from failforward.record.lerobot.writer import DatasetWriter
from failforward.record.reader import RecordedEpisode


@dataclass
class ExportResult:
    """What was exported: ``episodes`` (``successes`` of them successful) with ``frames`` frames at ``fps``."""

    out: Path
    repo_id: str
    fps: int = 0
    frames: int = 0
    successes: int = 0
    exported: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def episodes(self) -> int:
        return len(self.exported)

    def __str__(self) -> str:
        failed = self.episodes - self.successes
        return (
            f"LeRobot v3.0 dataset {self.out}: {self.episodes} episodes ({self.successes} succeeded, {failed} failed), "
            f"{self.frames} frames at {self.fps} fps; {len(self.skipped)} files skipped"
        )


def export_lerobot(
    sources: Iterable[Path],
    out: Path,
    *,
    fps: int | None = None,
    repo_id: str | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
    **file_limits: float,
) -> ExportResult:
    """Export the episodes in ``sources`` (files or directories) to a new dataset directory ``out``.

    Args:
        fps: dataset frames per second; default the first episode's control rate (every tick a frame). It must
            divide each recording's rate (every ``control_hz / fps``-th tick becomes a frame).
        repo_id: the dataset's Hub name, stored in ``meta/failforward.json`` (default ``failforward/<out name>``).
        on_skip: told of each file left out, as it happens.
        file_limits: ``data_files_size_in_mb`` / ``video_files_size_in_mb`` (see :class:`DatasetWriter`).

    Raises:
        LeRobotExportError: ``out`` exists, or no episode could be exported.
    """
    out = Path(out)
    partial = _claim(out)
    result = ExportResult(out, repo_id or f"failforward/{out.name}")
    try:
        writer = _export_into(
            partial, episode_files(sources), fps, result, on_skip or (lambda skipped: None), file_limits
        )
        writer.finish(_export_meta(result))
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return result


def _export_into(
    root: Path,
    files: list[Path],
    fps: int | None,
    result: ExportResult,
    on_skip: Callable[[Skipped], None],
    file_limits: dict[str, float],
) -> DatasetWriter:
    writer: DatasetWriter | None = None
    for path in files:
        loaded = load(path)
        if isinstance(loaded, RecordedEpisode):
            if writer is None:  # the first episode sets the dataset's spec; a bad --fps fails here, not per file
                hz = control_hz(loaded)
                spec = spec_of(loaded, fps or default_fps(hz))
                frame_stride(hz, spec.fps)
                writer = DatasetWriter(root, spec, **file_limits)
            skipped = _add(writer, loaded, result)
        else:
            skipped = loaded
        if skipped is not None:
            result.skipped.append(skipped)
            on_skip(skipped)
    if writer is None or not result.exported:
        reasons = "; ".join(str(s) for s in result.skipped)
        raise LeRobotExportError(f"No episode could be exported ({reasons}). Pass complete recordings.")
    return writer


def _add(writer: DatasetWriter, episode: RecordedEpisode, result: ExportResult) -> Skipped | None:
    """Append ``episode``; a :class:`Skipped` if it does not fit the dataset."""
    spec: DatasetSpec = writer.spec
    differences = spec.differences(spec_of(episode, spec.fps))
    if differences:
        return Skipped(
            episode.path, f"does not match the dataset: {'; '.join(differences)}; export it to another --out"
        )
    try:
        stride = frame_stride(control_hz(episode), spec.fps)
    except LeRobotExportError as exc:
        return Skipped(episode.path, str(exc))
    task = episode.prompt or episode.metadata.get("prompt") or episode.metadata.get("task", "")
    frames = episode_frames(
        episode,
        spec,
        stride,
        episode_index=result.episodes,
        first_index=writer.frames,
        task_index=writer.task_index(task),
    )
    writer.add(frames, task, _episode_columns(episode))
    result.exported.append(episode.path)
    result.frames += frames.length
    result.successes += frames.outcome.success
    result.fps = spec.fps
    return None


def _episode_columns(episode: RecordedEpisode) -> dict[str, Any]:
    """Our per-episode columns: the outcome, and where the episode came from."""
    assert episode.outcome is not None
    meta = episode.metadata
    return {
        "success": episode.outcome.success,
        "stage": episode.outcome.stage,
        "reason": episode.outcome.reason,
        "failforward/source_file": episode.path.name,
        "failforward/task": meta.get("task", ""),
        "failforward/seed": int(meta.get("seed", -1)),
        "failforward/episode_id": meta.get("episode_id", ""),
        "failforward/clock": meta.get("clock", ""),
        "failforward/repaired": meta.get("repaired") == "true",
    }


def _claim(out: Path) -> Path:
    """The build directory ``<out>.partial``; refuses an existing ``out`` (or a leftover build)."""
    if out.exists():
        raise LeRobotExportError(f"{out} already exists and a dataset is never written into: pass a new --out.")
    partial = out.with_name(out.name + ".partial")
    try:
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.mkdir()
    except FileExistsError as exc:
        raise LeRobotExportError(
            f"{partial} exists: another export into {out} is running or was killed; remove it, or pass a new --out."
        ) from exc
    except OSError as exc:
        raise LeRobotExportError(f"Cannot create {partial}: {exc}. Pass an --out in a writable directory.") from exc
    return partial


def _export_meta(result: ExportResult) -> dict[str, Any]:
    return {
        "repo_id": result.repo_id,
        "exporter": "failforward export-lerobot",
        "episodes": result.episodes,
        "successes": result.successes,
        "failures": result.episodes - result.successes,
        "sources": [str(path) for path in result.exported],
        "skipped": [{"file": str(s.path), "reason": s.reason} for s in result.skipped],
        "codebase_version": layout.CODEBASE_VERSION,
    }
