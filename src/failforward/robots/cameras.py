"""Camera capture with OpenCV: a grabber thread per camera, timestamps, frame-drop count, stale-frame error.

A device path (``/dev/video0``, ``/dev/v4l/by-id/...``) opens through V4L2; anything else (a video
file) opens through OpenCV's default backend and is paced at the file's frame rate, like a camera.

Frame drops are counted from the source's own timestamps (``CAP_PROP_POS_MSEC``: the V4L2 buffer
time or the file's media time): a gap of ``k / fps`` between consecutive frames means ``k − 1`` frames
were dropped. A frame older than ``stale_after_s`` on ``read()`` raises :class:`StaleFrameError`.

Example:
    >>> cam = OpenCVCamera(CameraConfig(name="top", device="/dev/video0"))
    >>> cam.open(); frame = cam.read(); cam.close()
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import cv2
import numpy as np

from failforward.config import CameraConfig
from failforward.errors import DriverError

logger = logging.getLogger(__name__)


class CameraError(DriverError):
    """A camera could not be opened or delivers frames of the wrong size."""


class StaleFrameError(CameraError):
    """The newest frame is older than the camera's ``stale_after_s``: the camera stalled or was unplugged."""


@dataclass(frozen=True)
class Frame:
    """One image: ``image`` uint8 [H, W, 3] RGB, ``timestamp`` [s] host monotonic time when grabbed,
    ``source_ms`` the source's timestamp [ms], ``index`` frames grabbed before it, ``dropped`` total drops so far."""

    image: np.ndarray
    timestamp: float
    source_ms: float
    index: int
    dropped: int


class OpenCVCamera:
    """One camera; ``read()`` returns the newest frame without blocking the control tick."""

    def __init__(self, config: CameraConfig) -> None:
        self.config = config
        self._capture: cv2.VideoCapture | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._opened_at = 0.0
        self._error: str | None = None
        self.dropped = 0

    @property
    def is_open(self) -> bool:
        return self._capture is not None

    def open(self) -> None:
        """Open the device or file and start grabbing; raises :class:`CameraError` if it cannot."""
        device = self.config.device
        is_device = device.startswith("/dev/")
        capture = cv2.VideoCapture(device, cv2.CAP_V4L2 if is_device else cv2.CAP_ANY)
        if not capture.isOpened():
            raise CameraError(
                f"Camera {self.config.name}: cannot open {device!r}. Check that it exists "
                "(v4l2-ctl --list-devices), is not used by another process, and you are in group video."
            )
        if is_device:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.config.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.config.height)
            capture.set(cv2.CAP_PROP_FPS, self.config.fps)
        pace = 0.0 if is_device else 1.0 / (capture.get(cv2.CAP_PROP_FPS) or self.config.fps)
        self._capture, self._opened_at = capture, time.monotonic()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._grab_loop, args=(capture, pace), daemon=True, name=f"camera-{self.config.name}"
        )
        self._thread.start()

    def _grab_loop(self, capture: cv2.VideoCapture, pace: float) -> None:
        index, previous_ms, next_time = 0, None, time.monotonic()
        expected_ms = 1000.0 / self.config.fps
        while not self._stop.is_set():
            ok, bgr = capture.read()
            if not ok:
                logger.warning(
                    "camera %s: no frame from %s (end of stream or unplugged)", self.config.name, self.config.device
                )
                return
            source_ms = float(capture.get(cv2.CAP_PROP_POS_MSEC))
            if previous_ms is not None:
                self.dropped += max(int(round((source_ms - previous_ms) / expected_ms)) - 1, 0)
            previous_ms = source_ms
            if bgr.shape[:2] != (self.config.height, self.config.width):
                self._error = (
                    f"camera {self.config.name} delivers {bgr.shape[1]}x{bgr.shape[0]}, config asks "
                    f"{self.config.width}x{self.config.height}: fix the config or the device mode"
                )
                return
            frame = Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), time.monotonic(), source_ms, index, self.dropped)
            with self._lock:
                self._latest = frame
            index += 1
            if pace:
                next_time += pace
                self._stop.wait(max(next_time - time.monotonic(), 0.0))

    def read(self) -> Frame:
        """The newest frame; raises :class:`StaleFrameError` if it is older than ``stale_after_s``."""
        if self._capture is None:
            raise CameraError(f"Camera {self.config.name} is not open; call open() first.")
        if self._error is not None:
            raise CameraError(self._error)
        startup_deadline = self._opened_at + max(1.0, self.config.stale_after_s)
        while True:
            with self._lock:
                frame = self._latest
            now = time.monotonic()
            if frame is None and now < startup_deadline:
                time.sleep(0.005)  # still starting up: wait (bounded) for the first frame
                continue
            age = now - (frame.timestamp if frame is not None else self._opened_at)
            if frame is None or age > self.config.stale_after_s:
                raise StaleFrameError(
                    f"Camera {self.config.name} ({self.config.device}): newest frame is {age:.3f} s old "
                    f"(limit {self.config.stale_after_s} s). Check its cable and USB bandwidth; the arms are held."
                )
            return frame

    def close(self) -> None:
        """Stop grabbing and release the device. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            if self._thread.is_alive():
                logger.warning("camera %s grabber thread did not stop", self.config.name)
        if self._capture is not None:
            self._capture.release()
        self._capture, self._thread, self._latest = None, None, None
