"""The head-camera frames a supervisor may have been shown, kept to draw its answer's symbols on.

A :class:`~failforward.supervisor.scheduler.SupervisorReport` names its frames by observation timestamp only
(``frame_times``); the symbols are in pixels of frame ``symbol_frame`` of them. The scheduler samples one frame
per ``1 / fps`` [s] of observation time and adds the newest frame of the tick that launched the query (a tick
with a new chunk), so keeping the same samples and every new-chunk tick's frame keeps every frame it can send.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

from failforward.types import TickRecord


class HeadFrames:
    """Frames of ``camera`` by observation timestamp [s], by reference (observations are immutable).

    Keeps at most ``capacity`` frames, oldest dropped first: the scheduler's samples at ``fps`` [1/s] and the
    frame of every tick with a new chunk. Offering a frame costs a comparison and an append (control tick).
    """

    def __init__(self, camera: str, fps: float, capacity: int = 48) -> None:
        self.camera, self.period = camera, 1.0 / fps
        self._frames: deque[tuple[float, np.ndarray]] = deque(maxlen=capacity)
        self._last_sample: float | None = None
        self._lock = threading.Lock()

    def offer(self, tick: TickRecord) -> None:
        """Keep the tick's head frame if the scheduler could send it (a sample, or a new-chunk tick)."""
        image = tick.observation.images.get(self.camera)
        if image is None:
            return
        t = tick.observation.timestamp
        sample = self._last_sample is None or t - self._last_sample >= self.period - 1e-9
        if sample:
            self._last_sample = t
        if sample or tick.chunk is not None:
            with self._lock:
                self._frames.append((t, image))

    def find(self, stamp: float, tolerance_s: float = 0.0) -> np.ndarray | None:
        """The frame taken at ``stamp`` [s]; else the nearest within ``tolerance_s`` [s] (a frame stream that
        reached the supervisor by another path, the ROS graph); ``None`` when none is close enough."""
        with self._lock:
            frames = list(self._frames)
        if not frames:
            return None
        t, image = min(frames, key=lambda f: abs(f[0] - stamp))
        return image if abs(t - stamp) <= max(tolerance_s, 1e-9) else None

    def clear(self) -> None:
        """New episode: the simulated clock restarts, so earlier stamps would match wrong frames."""
        with self._lock:
            self._frames.clear()
        self._last_sample = None
