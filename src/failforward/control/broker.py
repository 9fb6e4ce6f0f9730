"""Chunk broker: turns action chunks ``[H, A]`` into one action per tick.

Modes (``BrokerConfig.mode``):
- ``chunk``: infer a chunk, execute its first ``k = execute_steps`` actions, infer again.
- ``ensemble``: infer every tick; the action for tick ``t`` averages every stored chunk's
  prediction for ``t`` with weights ``w_i = exp(−m · i)``, ``i = 0`` the oldest (ACT's temporal
  ensembling, ``m = ensemble_decay``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from failforward.config import BrokerConfig
from failforward.types import ActionChunk

ChunkSource = Callable[[], ActionChunk]


class ChunkBroker:
    """Hands out one action ``[A]`` per tick, asking ``infer`` for a new chunk when it needs one."""

    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Drop queued actions (new episode, or a correction that invalidates the plan)."""
        self._queue: list[np.ndarray] = []
        self._ensemble: list[tuple[int, np.ndarray]] = []  # (tick the chunk starts, actions [H, A])
        self._tick = 0
        self.chunks_inferred = 0

    def needs_chunk(self) -> bool:
        return self.config.mode == "ensemble" or not self._queue

    def next_action(self, infer: ChunkSource) -> tuple[np.ndarray, ActionChunk | None]:
        """Return this tick's action ``[A]`` and the chunk inferred for it (``None`` if reused)."""
        chunk = None
        if self.needs_chunk():
            chunk = infer()
            self.chunks_inferred += 1
            self._accept(chunk)
        action = self._pop()
        self._tick += 1
        return action, chunk

    def _accept(self, chunk: ActionChunk) -> None:
        if self.config.mode == "chunk":
            steps = min(self.config.execute_steps, chunk.horizon)
            self._queue = [row for row in chunk.actions[:steps]]
        else:
            self._ensemble.append((self._tick, chunk.actions))
            self._ensemble = [(t0, a) for t0, a in self._ensemble if self._tick - t0 < a.shape[0]]

    def _pop(self) -> np.ndarray:
        if self.config.mode == "chunk":
            return self._queue.pop(0)
        predictions = np.stack([a[self._tick - t0] for t0, a in self._ensemble])
        weights = np.exp(-self.config.ensemble_decay * np.arange(len(predictions)))
        return (weights[:, None] * predictions).sum(axis=0) / weights.sum()
