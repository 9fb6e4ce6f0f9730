"""Camera frames → mp4 files (MPEG-4 Part 2 through OpenCV's FFmpeg writer; decodes in FFmpeg, PyAV, torchcodec).

Episodes are appended to a file one after another at ``fps``: frame ``k`` of the file is shown at ``k / fps`` [s],
so an episode starting at file frame ``F`` spans ``[F / fps, (F + T) / fps)`` (its ``from_timestamp`` /
``to_timestamp``). YUV 4:2:0 needs even sizes: an odd height or width is padded by repeating the last row/column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from failforward.record.lerobot.spec import LeRobotExportError

FOURCC = "mp4v"
CODEC = "mpeg4"  # FFmpeg's name of what FOURCC writes
PIX_FMT = "yuv420p"


def even_size(height: int, width: int) -> tuple[int, int]:
    """The encoded size of ``height x width`` frames (rounded up to even numbers)."""
    return height + height % 2, width + width % 2


def video_info(height: int, width: int, fps: int) -> dict[str, Any]:
    """The ``info`` of a video feature in ``info.json`` (LeRobot's ``video.*`` keys)."""
    return {
        "video.height": height,
        "video.width": width,
        "video.codec": CODEC,
        "video.pix_fmt": PIX_FMT,
        "video.is_depth_map": False,
        "video.fps": fps,
        "video.channels": 3,
        "has_audio": False,
    }


class VideoFile:
    """One mp4 file being written: RGB ``uint8 [H, W, 3]`` frames appended episode after episode."""

    def __init__(self, path: Path, height: int, width: int, fps: int) -> None:
        self.path, self.fps, self.frames = path, fps, 0
        self._size = even_size(height, width)
        self._writer: cv2.VideoWriter | None = None  # opened by the first frames: no empty file is left behind

    def _open(self) -> cv2.VideoWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*FOURCC), float(self.fps), self._size[::-1])
        if not writer.isOpened():
            raise LeRobotExportError(
                f"OpenCV cannot write {FOURCC} video to {self.path}: install opencv-python-headless with FFmpeg "
                "(the default PyPI wheel) and check the directory is writable."
            )
        return writer

    @property
    def duration_s(self) -> float:
        """[s] of video written so far: the next frame's time."""
        return self.frames / self.fps

    def size_mb(self) -> float:
        """Bytes on disk so far [MB] (FFmpeg writes as it goes; the index comes at close)."""
        return self.path.stat().st_size / 2**20 if self.path.exists() else 0.0

    def append(self, frames: np.ndarray) -> None:
        """Add ``uint8 [T, H, W, 3]`` RGB frames."""
        if self._writer is None:
            self._writer = self._open()
        height, width = self._size
        for frame in frames:
            padded = np.pad(frame, ((0, height - frame.shape[0]), (0, width - frame.shape[1]), (0, 0)), mode="edge")
            self._writer.write(np.ascontiguousarray(padded[:, :, ::-1]))  # OpenCV takes BGR
        self.frames += len(frames)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
