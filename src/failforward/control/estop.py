"""A latched software e-stop: once triggered, every command is refused until an explicit ``reset()``.

Any thread may trigger it (a GUI button, a ROS service, a supervisor); the control thread checks it
through the safety layer. It complements, never replaces, the hardware emergency stop.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)


class EStop:
    """Latched stop flag with the reason it was triggered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason: str | None = None

    @property
    def is_latched(self) -> bool:
        with self._lock:
            return self._reason is not None

    @property
    def reason(self) -> str | None:
        """Why it was triggered (the first reason while latched), or ``None``."""
        with self._lock:
            return self._reason

    def trigger(self, reason: str) -> None:
        """Latch the stop. Triggering again keeps the first reason."""
        with self._lock:
            if self._reason is None:
                self._reason = reason
                logger.critical("E-stop latched: %s", reason)

    def reset(self) -> None:
        """Release the stop (an operator's explicit decision, after checking the cell)."""
        with self._lock:
            if self._reason is not None:
                logger.warning("E-stop reset (was: %s)", self._reason)
            self._reason = None
