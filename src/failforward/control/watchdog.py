"""A deadman watchdog: the command source must ``feed()`` it; without a fresh command for
``timeout_s`` [s] it expires and the safety layer holds the last safe command.

Feed it where commands are *produced* (a teleoperation reader, a remote policy client, a ROS
command subscriber), not where they are consumed, so a silent producer is noticed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class DeadmanWatchdog:
    """Expires ``timeout_s`` [s] after the last ``feed()`` (or after construction/``reset()``).

    ``clock`` returns seconds (monotonic); injectable for tests.
    """

    def __init__(self, timeout_s: float = 0.2, clock: Callable[[], float] = time.monotonic) -> None:
        if timeout_s <= 0:
            raise ValueError(f"watchdog timeout must be positive [s], got {timeout_s}")
        self.timeout_s, self._clock = timeout_s, clock
        self._lock = threading.Lock()
        self._last = clock()

    def feed(self) -> None:
        """A fresh command arrived."""
        with self._lock:
            self._last = self._clock()

    reset = feed

    def age(self) -> float:
        """Seconds since the last fresh command."""
        with self._lock:
            return self._clock() - self._last

    @property
    def expired(self) -> bool:
        return self.age() > self.timeout_s
