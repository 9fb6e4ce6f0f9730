"""The server's request queue: FIFO per robot, round-robin across robots, bounded in items and bytes.

With ``k`` robots each waiting for a chunk, a request waits behind at most ``k − 1`` other robots' requests (one
each), whatever their rates: a fast client cannot starve a slow one. Past the bounds a request is refused at
once (the server answers ``busy``), so memory stays bounded whatever peers send.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class QueueLimits:
    """Bounds of the server's queue.

    Attributes:
        max_items: requests queued in all.
        max_bytes: [bytes] message bytes queued in all.
        max_per_client: requests queued per client (a robot has one in flight; more is a misbehaving peer).
    """

    max_items: int = 64
    max_bytes: int = 64 << 20
    max_per_client: int = 4


DEFAULT_QUEUE = QueueLimits()


class FairQueue(Generic[T]):
    """Per-client FIFO queues served round-robin (see the module docstring)."""

    def __init__(self, limits: QueueLimits = DEFAULT_QUEUE) -> None:
        self.limits = limits
        self._clients: OrderedDict[bytes, deque[tuple[T, int]]] = OrderedDict()
        self._items = 0
        self._bytes = 0

    def __len__(self) -> int:
        return self._items

    def push(self, client: bytes, item: T, size: int) -> bool:
        """Queue ``item`` (``size`` [bytes]) for ``client``; ``False`` (not queued) when a bound would be passed."""
        queue = self._clients.get(client)
        full = self._items >= self.limits.max_items or self._bytes + size > self.limits.max_bytes
        if full or (queue is not None and len(queue) >= self.limits.max_per_client):
            return False
        if queue is None:
            queue = self._clients[client] = deque()
        queue.append((item, size))
        self._items, self._bytes = self._items + 1, self._bytes + size
        return True

    def pop(self) -> tuple[bytes, T] | None:
        """The oldest request of the client served least recently; ``None`` when empty."""
        if not self._clients:
            return None
        client, queue = next(iter(self._clients.items()))
        item, size = queue.popleft()
        self._items, self._bytes = self._items - 1, self._bytes - size
        del self._clients[client]
        if queue:
            self._clients[client] = queue  # back of the line
        return client, item
