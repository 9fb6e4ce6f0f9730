"""Ring buffer of head-camera frames sampled at a fixed rate (the supervisor's view of the last seconds)."""

from __future__ import annotations

from collections import deque

import numpy as np


class FrameWindow:
    """Keeps the last ``round(window_s · fps)`` frames, at most one per ``1 / fps`` [s] of observation time.

    Frames are kept by reference (observations are immutable once published); offering a frame costs
    a comparison and an append, so it is safe on the control tick.
    """

    def __init__(self, window_s: float, fps: float) -> None:
        self.period = 1.0 / fps
        self.capacity = max(1, int(round(window_s * fps)))
        self._frames: deque[tuple[float, np.ndarray]] = deque(maxlen=self.capacity)
        self._latest: tuple[float, np.ndarray] | None = None

    def offer(self, timestamp: float, image: np.ndarray) -> bool:
        """Consider a frame taken at ``timestamp`` [s]; returns whether it was kept as a sample."""
        self._latest = (timestamp, image)
        if self._frames and timestamp - self._frames[-1][0] < self.period - 1e-9:
            return False
        self._frames.append((timestamp, image))
        return True

    def window(self) -> list[tuple[float, np.ndarray]]:
        """Up to ``capacity`` frames ``(timestamp [s], image)``, oldest first, ending with the newest frame seen;
        consecutive frames are at least about one period apart."""
        if self._latest is None:
            return []
        now, latest = self._latest
        earlier = [(t, f) for t, f in self._frames if t <= now - 0.5 * self.period]
        return [*earlier[-(self.capacity - 1) :], (now, latest)] if self.capacity > 1 else [(now, latest)]

    def clear(self) -> None:
        self._frames.clear()
        self._latest = None

    def __len__(self) -> int:
        return len(self.window())
