"""OpenCV camera capture on video files written by cv2.VideoWriter (no V4L2 device needed)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from failforward.config import CameraConfig
from failforward.robots.cameras import CameraError, OpenCVCamera, StaleFrameError


def write_video(path: Path, frames: int, fps: float = 30.0, size: tuple[int, int] = (64, 48)) -> Path:
    """A clip whose frame k is uniformly grey level 4k (BGR), so frames can be told apart."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for k in range(frames):
        writer.write(np.full((size[1], size[0], 3), 4 * k, dtype=np.uint8))
    writer.release()
    return path


def test_frames_arrive_in_order_with_timestamps_and_rgb_shape(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", 20)
    camera = OpenCVCamera(CameraConfig(name="top", device=str(video), width=64, height=48, fps=30.0))
    camera.open()
    try:
        seen = []
        for _ in range(6):
            frame = camera.read()
            seen.append((frame.index, frame.timestamp, int(frame.image.mean())))
            time.sleep(0.04)
    finally:
        camera.close()
    assert frame.image.shape == (48, 64, 3) and frame.image.dtype == np.uint8
    indices, stamps, levels = zip(*seen, strict=True)
    assert list(indices) == sorted(indices) and indices[-1] > indices[0]
    assert list(stamps) == sorted(stamps)
    assert levels[-1] > levels[0]  # later frames are brighter: we read the newest one
    assert frame.dropped == 0


def test_frame_drops_are_counted_from_source_timestamps(tmp_path: Path) -> None:
    video = write_video(tmp_path / "half_rate.avi", 10, fps=15.0)  # a 15 Hz stream from a "30 Hz" camera
    camera = OpenCVCamera(CameraConfig(name="top", device=str(video), width=64, height=48, fps=30.0))
    camera.open()
    try:
        deadline = time.monotonic() + 2.0
        while camera.read().index < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        frame = camera.read()
    finally:
        camera.close()
    assert frame.dropped == pytest.approx(frame.index, abs=1)  # one frame lost between each pair


def test_a_stalled_camera_raises_a_stale_frame_error(tmp_path: Path) -> None:
    video = write_video(tmp_path / "short.avi", 3)  # ends after 0.1 s: the camera "stalls"
    camera = OpenCVCamera(CameraConfig(name="left_wrist", device=str(video), width=64, height=48, stale_after_s=0.15))
    camera.open()
    try:
        camera.read()
        time.sleep(0.4)
        with pytest.raises(StaleFrameError, match=r"left_wrist.*old \(limit 0.15 s\)"):
            camera.read()
    finally:
        camera.close()


def test_missing_device_and_wrong_size_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="cannot open"):
        OpenCVCamera(CameraConfig(name="top", device=str(tmp_path / "missing.avi"))).open()
    video = write_video(tmp_path / "clip.avi", 5)
    camera = OpenCVCamera(CameraConfig(name="top", device=str(video), width=640, height=480))
    camera.open()
    try:
        time.sleep(0.1)
        with pytest.raises(CameraError, match="64x48"):
            camera.read()
    finally:
        camera.close()
