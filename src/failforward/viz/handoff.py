"""The control thread hands work to the live view's publisher thread here, never waiting for it.

One FIFO (a C ``queue.SimpleQueue``: a put costs a few microseconds and never blocks) keeps the order in which
things happened. The publisher keeps only the newest ``ticks`` ticks of a backlog: taking a tick that has
``ticks`` newer ones behind it, it drops it (counted), so a slow viewer or a busy CPU costs the viewer frames,
never loop time. Events (episode start and end, supervisor answers, recovery events) are never dropped for
ticks. Should the publisher stall altogether, the queue stays bounded: past ``4 · ticks`` waiting ticks or
``events`` waiting events, new ones are dropped at once (counted).

Counters have one writer each (puts: the control thread; takes: the publisher), so they need no lock.
"""

from __future__ import annotations

import queue
from typing import Generic, TypeVar

T = TypeVar("T")
_TICK, _EVENT = 0, 1


class Handoff(Generic[T]):
    """A FIFO whose :meth:`put` never blocks and whose :meth:`get` waits; see the module docstring."""

    def __init__(self, ticks: int, events: int = 256) -> None:
        self._queue: queue.SimpleQueue[tuple[int, T] | None] = queue.SimpleQueue()
        self._keep = ticks
        self._limits = (4 * ticks, events)
        self._put = [0, 0]  # ticks, events queued (control thread)
        self._taken = [0, 0]  # ticks, events taken (publisher thread)
        self._dropped_new = [0, 0]  # refused at put: the queue is full (control thread)
        self._dropped_stale = 0  # ticks skipped for newer ones (publisher thread)
        self._closed = False

    def put(self, item: T, *, tick: bool) -> None:
        """Queue ``item`` (``tick``: may be dropped for newer ticks); constant time, never blocks."""
        kind = _TICK if tick else _EVENT
        if self._put[kind] - self._taken[kind] >= self._limits[kind] or self._closed:
            self._dropped_new[kind] += 1
            return
        self._put[kind] += 1
        self._queue.put((kind, item))

    def get(self, timeout_s: float) -> T | None:
        """The oldest item worth publishing; ``None`` after ``timeout_s`` [s] with nothing queued, or once
        everything queued before :meth:`close` was taken."""
        while True:
            try:
                entry = self._queue.get(timeout=timeout_s)
            except queue.Empty:
                return None
            if entry is None:  # the close marker: everything before it was taken
                return None
            kind, item = entry
            self._taken[kind] += 1
            if kind == _TICK and self._put[_TICK] - self._taken[_TICK] >= self._keep:
                self._dropped_stale += 1  # ``keep`` newer ticks wait behind it
                continue
            return item

    def pending(self) -> int:
        """Items queued and not yet taken."""
        return sum(self._put) - sum(self._taken)

    def close(self) -> None:
        """Refuse new items and wake the consumer; what is queued can still be taken."""
        self._closed = True
        self._queue.put(None)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dropped_ticks(self) -> int:
        return self._dropped_new[_TICK] + self._dropped_stale

    @property
    def dropped_events(self) -> int:
        return self._dropped_new[_EVENT]
