"""The LeRobot v3.0 dataset layout: version, file paths and file-size limits.

A v3.0 dataset concatenates episodes into files: ``data/chunk-CCC/file-FFF.parquet`` holds the frames of several
episodes, ``videos/<key>/chunk-CCC/file-FFF.mp4`` their frames of one camera; ``meta/episodes/...parquet`` says
where each episode lies in them (``dataset_from_index``, ``videos/<key>/from_timestamp``, ...). A chunk directory
holds at most ``CHUNKS_SIZE`` files; a file is closed once it reaches its size limit [MB].
"""

from __future__ import annotations

from dataclasses import dataclass

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000  # files per chunk directory
DATA_FILES_SIZE_MB = 100  # a data parquet file is closed once it is this large
VIDEO_FILES_SIZE_MB = 200  # an mp4 file is closed once it is this large

INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
EXPORT_PATH = "meta/failforward.json"  # ours: sources, skipped files, outcome counts (LeRobot ignores it)
CHUNK_FILE = "chunk-{chunk_index:03d}/file-{file_index:03d}"
EPISODES_PATH = "meta/episodes/" + CHUNK_FILE + ".parquet"
DATA_PATH = "data/" + CHUNK_FILE + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE + ".mp4"


@dataclass(frozen=True)
class FileSlot:
    """Where a file goes: ``chunk-<chunk_index>/file-<file_index>``."""

    chunk_index: int = 0
    file_index: int = 0

    def next(self) -> FileSlot:
        """The following file: the next file index, or file 0 of the next chunk once a chunk is full."""
        if self.file_index + 1 >= CHUNKS_SIZE:
            return FileSlot(self.chunk_index + 1, 0)
        return FileSlot(self.chunk_index, self.file_index + 1)

    def data_path(self) -> str:
        return DATA_PATH.format(chunk_index=self.chunk_index, file_index=self.file_index)

    def video_path(self, video_key: str) -> str:
        return VIDEO_PATH.format(video_key=video_key, chunk_index=self.chunk_index, file_index=self.file_index)

    def episodes_path(self) -> str:
        return EPISODES_PATH.format(chunk_index=self.chunk_index, file_index=self.file_index)
