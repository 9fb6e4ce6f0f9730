"""Writes a LeRobot v3.0 dataset episode by episode: frames into data and video files, metadata at the end.

Each episode is appended to the current data file and to each camera's current video file; a file that reached
its size limit is closed after the episode and the next episode starts the next file (:class:`~.layout.FileSlot`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from failforward.record.lerobot import layout, stats, tables
from failforward.record.lerobot.frames import EpisodeFrames
from failforward.record.lerobot.spec import DatasetSpec, features
from failforward.record.lerobot.video import VideoFile, even_size, video_info


class DatasetWriter:
    """A dataset under ``root`` for episodes of one :class:`DatasetSpec`.

    Args:
        data_files_size_in_mb / video_files_size_in_mb: a data / video file is closed once it is this large [MB].
    """

    def __init__(
        self,
        root: Path,
        spec: DatasetSpec,
        *,
        data_files_size_in_mb: float = layout.DATA_FILES_SIZE_MB,
        video_files_size_in_mb: float = layout.VIDEO_FILES_SIZE_MB,
    ) -> None:
        self.root, self.spec = root, spec
        self.limits = {"data": data_files_size_in_mb, "video": video_files_size_in_mb}
        self.tasks: dict[str, int] = {}
        self.episodes: list[dict[str, Any]] = []
        self.episode_stats: dict[str, list[stats.Stats]] = {}
        self.frames = 0
        self._data_slot, self._data = layout.FileSlot(), tables.DataFile(root / layout.FileSlot().data_path())
        self._video_slots = {camera.key: layout.FileSlot() for camera in spec.cameras}
        self._videos = {camera.key: self._open_video(camera.key, layout.FileSlot()) for camera in spec.cameras}

    def task_index(self, task: str) -> int:
        """The index of ``task`` (a new task gets the next one)."""
        return self.tasks.setdefault(task, len(self.tasks))

    def add(self, episode: EpisodeFrames, task: str, extra: dict[str, Any]) -> None:
        """Append one episode (numbered ``len(self.episodes)``, frames from ``self.frames``); ``extra`` are its own
        episode columns (outcome, source)."""
        row: dict[str, Any] = {"episode_index": len(self.episodes), "tasks": [task], "length": episode.length}
        row.update(self._append_data(episode))
        for key, frames in episode.images.items():
            row.update(self._append_video(key, frames))
        row.update(extra)
        row.update(self._stats_columns(episode))
        row.update({"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0})
        self.episodes.append(row)
        self.frames += episode.length

    def finish(self, export_meta: dict[str, Any]) -> dict[str, Any]:
        """Close the files and write ``meta/``; returns ``info.json``'s content."""
        self._data.close()
        for video in self._videos.values():
            video.close()
        tables.write_tasks(self.root / layout.TASKS_PATH, list(self.tasks))
        tables.write_episodes(self.root / layout.FileSlot().episodes_path(), self.episodes)
        dataset_stats = {key: stats.to_lists(stats.aggregate(value)) for key, value in self.episode_stats.items()}
        self._write_json(layout.STATS_PATH, dataset_stats)
        info = self._info()
        self._write_json(layout.INFO_PATH, info)
        self._write_json(layout.EXPORT_PATH, export_meta)
        return info

    # -------------------------------------------------------------- episodes
    def _append_data(self, episode: EpisodeFrames) -> dict[str, Any]:
        start = self.frames
        self._data.append(tables.frame_table(episode.columns))
        row = {
            "data/chunk_index": self._data_slot.chunk_index,
            "data/file_index": self._data_slot.file_index,
            "dataset_from_index": start,
            "dataset_to_index": start + episode.length,
        }
        if self._data.size_mb() >= self.limits["data"]:
            self._data.close()
            self._data_slot = self._data_slot.next()
            self._data = tables.DataFile(self.root / self._data_slot.data_path())
        return row

    def _append_video(self, key: str, frames: np.ndarray) -> dict[str, Any]:
        video, slot = self._videos[key], self._video_slots[key]
        start = video.duration_s
        video.append(frames)
        row = {
            f"videos/{key}/chunk_index": slot.chunk_index,
            f"videos/{key}/file_index": slot.file_index,
            f"videos/{key}/from_timestamp": start,
            f"videos/{key}/to_timestamp": video.duration_s,
        }
        if video.size_mb() >= self.limits["video"]:
            video.close()
            self._video_slots[key] = slot.next()
            self._videos[key] = self._open_video(key, slot.next())
        return row

    def _open_video(self, key: str, slot: layout.FileSlot) -> VideoFile:
        camera = next(camera for camera in self.spec.cameras if camera.key == key)
        return VideoFile(self.root / slot.video_path(key), camera.height, camera.width, self.spec.fps)

    def _stats_columns(self, episode: EpisodeFrames) -> dict[str, Any]:
        per_feature = {key: stats.column_stats(values) for key, values in episode.columns.items()}
        per_feature.update({key: stats.image_stats(frames) for key, frames in episode.images.items()})
        columns = {}
        for key, value in per_feature.items():
            self.episode_stats.setdefault(key, []).append(value)
            columns.update({f"stats/{key}/{name}": data for name, data in stats.to_lists(value).items()})
        return columns

    # -------------------------------------------------------------- metadata
    def _info(self) -> dict[str, Any]:
        videos = {c.key: video_info(*even_size(c.height, c.width), self.spec.fps) for c in self.spec.cameras}
        feature_dict = features(self.spec, videos)
        for camera in self.spec.cameras:  # the decoded size: odd sizes are padded to even ones
            feature_dict[camera.key]["shape"] = [*even_size(camera.height, camera.width), 3]
        return {
            "codebase_version": layout.CODEBASE_VERSION,
            "robot_type": self.spec.robot or None,
            "total_episodes": len(self.episodes),
            "total_frames": self.frames,
            "total_tasks": len(self.tasks),
            "chunks_size": layout.CHUNKS_SIZE,
            "data_files_size_in_mb": self.limits["data"],
            "video_files_size_in_mb": self.limits["video"],
            "fps": self.spec.fps,
            "splits": {"train": f"0:{len(self.episodes)}"},
            "data_path": layout.DATA_PATH,
            "video_path": layout.VIDEO_PATH if self.spec.cameras else None,
            "features": feature_dict,
        }

    def _write_json(self, relative: str, content: dict[str, Any]) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2) + "\n")
