"""A background thread that runs policy inference requests one at a time, off the control tick.

The loop's :class:`~failforward.control.async_broker.AsyncChunkBroker` submits a request (a zero-argument callable
that runs the policy on one observation) and polls for its result; it never waits here except for an episode's
first chunk. One request is in flight at a time: a policy is never called concurrently by this worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from failforward.types import ActionChunk

logger = logging.getLogger(__name__)

Request = Callable[[], ActionChunk]
"""Runs the policy on the observation it closes over; returns a chunk ``[H, A]`` or raises."""


@dataclass(frozen=True)
class InferenceResult:
    """What one request produced.

    Attributes:
        ticket: the number the broker gave the request (stale tickets are ignored after a reset).
        chunk: the chunk, or ``None`` when the policy raised.
        error: the exception the policy raised, or ``None``.
        latency_s: wall time [s] the policy call took.
    """

    ticket: int
    chunk: ActionChunk | None
    error: BaseException | None
    latency_s: float


class InferenceWorker:
    """One daemon thread, one request at a time (``busy`` until its result is taken)."""

    def __init__(self, name: str = "failforward-inference") -> None:
        self._cond = threading.Condition()
        self._pending: tuple[int, Request] | None = None
        self._result: InferenceResult | None = None
        self._busy = False
        self._started_at = 0.0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        """True from :meth:`submit` until the result is taken with :meth:`take`."""
        with self._cond:
            return self._busy

    @property
    def started_at(self) -> float:
        """``time.perf_counter()`` [s] when the current request was submitted."""
        with self._cond:
            return self._started_at

    def submit(self, ticket: int, request: Request) -> None:
        """Start ``request``; the worker must not be busy."""
        with self._cond:
            if self._busy or self._closed:
                raise RuntimeError("InferenceWorker.submit while busy or closed (the broker submits one at a time)")
            self._pending, self._result, self._busy = (ticket, request), None, True
            self._started_at = time.perf_counter()
            self._cond.notify_all()

    def wait(self, timeout_s: float) -> bool:
        """Wait at most ``timeout_s`` [s] for the current request to finish; True when its result is ready."""
        deadline = time.perf_counter() + max(timeout_s, 0.0)
        with self._cond:
            while self._busy and self._result is None:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._result is not None

    def take(self) -> InferenceResult | None:
        """The finished request's result (then the worker is free), or ``None`` while it runs."""
        with self._cond:
            result, self._result = self._result, None
            if result is not None:
                self._busy = False
            return result

    def close(self) -> None:
        """Stop the thread after its current request (it is a daemon: a hung policy call cannot block exit)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                if self._pending is None:
                    return
                (ticket, request), self._pending = self._pending, None
            start = time.perf_counter()
            chunk, error = None, None
            try:
                chunk = request()
            except Exception as exc:  # reported to the broker, which holds the robot and may abort the episode
                error = exc
            result = InferenceResult(ticket, chunk, error, time.perf_counter() - start)
            with self._cond:
                self._result = result
                self._cond.notify_all()
