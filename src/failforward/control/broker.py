"""Chunk broker: turns action chunks ``[H, A]`` into one action per tick, inferring inside the tick.

Modes (``BrokerConfig.mode``):
- ``chunk``: infer a chunk, execute its first ``k = execute_steps`` actions, infer again.
- ``ensemble``: infer every tick; the action for tick ``t`` averages every stored chunk's
  prediction for ``t`` with weights ``w_i = exp(−m · i)``, ``i = 0`` the oldest (ACT's temporal
  ensembling, ``m = ensemble_decay``).

This is ``BrokerConfig.inference="synchronous"``: the tick waits for every chunk. The asynchronous broker
(:mod:`failforward.control.async_broker`) keeps the tick free of inference.
"""

from __future__ import annotations

import time

import numpy as np

from failforward.config import BrokerConfig
from failforward.control.chunks import InferenceStats, PrefixInfer, chunk_problem
from failforward.errors import PolicyError
from failforward.types import ActionChunk


class ChunkBroker:
    """Hands out one action ``[A]`` per tick, asking ``infer`` for a new chunk when it needs one.

    Args:
        config: mode and execute steps.
        action_dim: the robot's joint count; chunks of another width are refused (``None``: not checked).
        step_limit: ``[A]`` the safety layer's per-tick limit, to measure splice jumps against (optional).
    """

    def __init__(
        self, config: BrokerConfig, action_dim: int | None = None, step_limit: np.ndarray | None = None
    ) -> None:
        self.config, self.action_dim, self.step_limit = config, action_dim, step_limit
        self.reset()

    def reset(self) -> None:
        """New episode: drop queued actions and start new statistics."""
        self.stats = InferenceStats(step_limit=self.step_limit)
        self.flush()

    def flush(self) -> None:
        """Drop queued actions (a correction that invalidates the plan)."""
        self._queue: list[np.ndarray] = []
        self._ensemble: list[tuple[int, np.ndarray]] = []  # (tick the chunk starts, actions [H, A])
        self._tick = 0
        self._last: np.ndarray | None = None
        self.chunks_inferred = 0

    def needs_chunk(self) -> bool:
        return self.config.mode == "ensemble" or not self._queue

    def next_action(self, infer: PrefixInfer, tick: int | None = None) -> tuple[np.ndarray, ActionChunk | None]:
        """Return this tick's action ``[A]`` and the chunk inferred for it (``None`` if reused).

        ``tick`` is accepted for the asynchronous broker's signature; this broker counts its own calls.
        Raises :class:`PolicyError` for a chunk of the wrong width; non-finite rows go on to the safety layer,
        which holds on them.
        """
        chunk = None
        if self.needs_chunk():
            start = time.perf_counter()
            chunk = infer(None)
            if self._last is not None:  # an episode's first chunk (a cold start) stays out of the statistics
                self.stats.latencies_s.append(time.perf_counter() - start)
            problem = chunk_problem(chunk, self.action_dim, finite=False)  # NaN rows: the safety layer holds
            if problem is not None:
                self.stats.rejected_chunks += 1
                raise PolicyError(f"Refused a chunk: {problem}. Check the policy's output against the robot.")
            self.chunks_inferred += 1
            self._accept(chunk)
        action = self._pop()
        if chunk is not None and self.config.mode == "chunk":
            self.stats.record_splice(self._last, action)
        self._last, self._tick = action, self._tick + 1
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
