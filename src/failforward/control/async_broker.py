"""Asynchronous chunk broker: the next chunk is inferred in a worker while the robot executes the current one.

Per tick ``t`` (``BrokerConfig.inference="asynchronous"``):

1. collect a finished request: its chunk, inferred from the observation of tick ``t₀``, takes over at row
   ``d = t − t₀`` (the actions consumed since that observation); the rows before ``d`` ran already;
2. the queue is keyed by tick: actions of ticks that went by (a correction drove the robot) are dropped;
3. an episode's first chunk is waited for (the only wait); after a correction's flush the robot holds instead;
4. when at most ``refill_threshold`` actions are queued and nothing is in flight, a request is submitted with a
   :class:`~failforward.types.ChunkPrefix` (real-time chunking) when the policy supports one: the queued actions
   from ``t`` on and the estimated delay ``d̂ = ⌊L̂ / period⌋ + 1`` with ``L̂`` the largest of the recent warm
   latencies, clamped to the horizon; a prefix shorter than ``d̂`` is padded with its last action (what the robot
   repeats when it holds), never zeros; past the policy's largest trained delay the request goes without a
   prefix (a plain switch, counted as a fallback);
5. the action of tick ``t`` is handed out, or ``None`` when the queue ran out: the loop holds the last safe
   command (a starvation, counted); a hold longer than ``max_starvation_s`` aborts the episode.

A chunk that arrives after its whole horizon, has the wrong width or non-finite values never reaches the driver.

Time: with ``LoopConfig.realtime`` the result is collected on the first tick after it finished (wall clock).
Without it (simulation as fast as the machine allows) the broker keeps the loop's robot time honest: a result
whose wall-clock latency was ``L`` is collected ``max(1, ⌈L / period⌉)`` ticks after its request, the loop waiting
for the worker when it runs ahead of it, so a simulated run sees the delays a real-time run would.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from failforward.config import BrokerConfig
from failforward.control.chunks import InferenceStats, PrefixInfer, chunk_problem
from failforward.control.worker import InferenceResult, InferenceWorker
from failforward.errors import PolicyError, PolicyStarvedError
from failforward.policy.base import NO_RTC, RtcSupport
from failforward.types import ActionChunk, ChunkPrefix

logger = logging.getLogger(__name__)

FIRST_CHUNK_TIMEOUT_S = 60.0
"""[s] the longest an episode's first chunk is waited for (a cold GPU, a remote server's first call)."""
STALE_REQUEST_TIMEOUT_S = 5.0
"""[s] how long a new episode waits for the previous episode's request to finish before abandoning its worker."""


@dataclass(frozen=True)
class _InFlight:
    """A submitted request: its ticket, the tick of its observation, whether it is an episode's first."""

    ticket: int
    tick: int
    cold: bool


class AsyncChunkBroker:
    """Hands out one action ``[A]`` per tick (or ``None``: hold) while a worker infers the next chunk.

    Args:
        config: refill threshold, RTC, starvation limit, latency window (see :class:`BrokerConfig`).
        period_s: control period [s].
        realtime: whether the loop paces ticks by the wall clock (see the module docstring).
        rtc: what the policy does with a prefix.
        action_dim: the robot's joint count; chunks of another width are refused (``None``: not checked).
        step_limit: ``[A]`` the safety layer's per-tick limit, to measure splice jumps against (optional).
    """

    def __init__(
        self,
        config: BrokerConfig,
        period_s: float,
        *,
        realtime: bool,
        rtc: RtcSupport = NO_RTC,
        action_dim: int | None = None,
        step_limit: np.ndarray | None = None,
    ) -> None:
        self.config, self.period, self.realtime, self.rtc, self.action_dim = config, period_s, realtime, rtc, action_dim
        self.step_limit = step_limit
        self._worker = InferenceWorker()
        self._ticket = 0
        self._inflight: _InFlight | None = None
        self._ready: InferenceResult | None = None
        self._cold_latency: float | None = None
        self._recent: deque[float] = deque(maxlen=config.latency_window)
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    def reset(self) -> None:
        """New episode: drop the queue and any request in flight; the first chunk will be waited for."""
        self._release_worker()
        self.stats = InferenceStats(step_limit=self.step_limit)
        self._horizon: int | None = None
        self._cold, self._restarting = True, False
        self._last_error = ""
        self._starved_since: int | None = None
        self._clear_queue()

    def flush(self) -> None:
        """A correction voided the plan: drop the queue and ignore the request in flight; hold until a new chunk."""
        self._ticket += 1  # a result with an older ticket is dropped when it arrives
        self._restarting = True
        self._clear_queue()

    def close(self) -> None:
        """Stop the worker thread (after its current request)."""
        self._worker.close()

    def _clear_queue(self) -> None:
        self._queue: list[np.ndarray] = []
        self._start = 0  # tick of self._queue[0]
        self._last: np.ndarray | None = None

    def _release_worker(self) -> None:
        self._ticket += 1
        self._ready = None
        if self._inflight is not None and not self._worker.wait(STALE_REQUEST_TIMEOUT_S):
            logger.warning("The previous episode's inference request is still running; starting a new worker.")
            self._worker.close()
            self._worker = InferenceWorker()
        self._worker.take()
        self._inflight = None

    # ------------------------------------------------------------------ per tick
    def next_action(self, infer: PrefixInfer, tick: int) -> tuple[np.ndarray | None, ActionChunk | None]:
        """This tick's action ``[A]`` (``None``: hold, the queue ran out) and the chunk that took over on this tick.

        Args:
            infer: the policy on this tick's observation (called in the worker thread; waited for on the first chunk).
            tick: the loop's tick index in the episode (0, 1, …; it may jump while a correction drives).

        Raises:
            PolicyStarvedError: the robot has held longer than ``max_starvation_s``.
            PolicyError: the episode's first chunk failed or was refused.
        """
        delivered = self._collect(tick)
        self._drop_past(tick)
        if self._cold:
            delivered = self._first_chunk(infer, tick)
        if self._should_request():
            self._submit(infer, tick)
        return self._pop(tick), delivered

    def _first_chunk(self, infer: PrefixInfer, tick: int) -> ActionChunk:
        self._submit(infer, tick)
        if not self._worker.wait(FIRST_CHUNK_TIMEOUT_S):
            raise PolicyStarvedError(
                f"The episode's first chunk took longer than {FIRST_CHUNK_TIMEOUT_S:.0f} s; is the policy (server) up?"
            )
        self._ready = self._worker.take()
        chunk = self._collect(tick)
        if chunk is None:
            raise PolicyError(f"The episode's first chunk failed: {self._last_error}")
        self._cold = False
        return chunk

    def _should_request(self) -> bool:
        if self._inflight is not None:
            return False
        if self._restarting:
            return True
        threshold = self.config.refill_threshold
        if threshold is None:
            threshold = max((self._horizon or 0) - self.config.execute_steps, 0)
        return len(self._queue) <= threshold

    def _submit(self, infer: PrefixInfer, tick: int) -> None:
        prefix = None if self._cold or self._restarting else self._prefix()
        self._worker.submit(self._ticket, lambda: infer(prefix))
        self._inflight = _InFlight(self._ticket, tick, cold=self._cold)

    def _prefix(self) -> ChunkPrefix | None:
        """The queued actions from this tick on and the estimated delay, or ``None`` (no RTC, or a fallback)."""
        if not self.config.rtc or self.rtc.method == "none" or not self._queue:
            return None
        delay = self.estimated_delay()
        if self._horizon is not None:
            delay = min(delay, self._horizon - 1)
        if self.rtc.method == "training" and delay > self.rtc.max_delay:
            self.stats.rtc_fallbacks += 1
            return None
        actions = np.stack(self._queue)
        if actions.shape[0] < delay:  # the robot will hold the last queued action: that is what it executes
            actions = np.concatenate([actions, np.repeat(actions[-1:], delay - actions.shape[0], axis=0)])
        return ChunkPrefix(actions, delay)

    def estimated_delay(self) -> int:
        """``d̂ = ⌊L̂ / period⌋ + 1`` [actions], ``L̂`` the largest recent warm latency (the first one's until then)."""
        latency = max(self._recent) if self._recent else (self._cold_latency or 0.0)
        return int(latency // self.period) + 1

    # ------------------------------------------------------------------ results
    def _collect(self, tick: int) -> ActionChunk | None:
        """Splice a finished request's chunk into the queue at row ``d = tick − t₀``; ``None`` when none did."""
        if self._inflight is None or not self._result_due(tick):
            return None
        inflight, result = self._inflight, self._ready
        self._inflight, self._ready = None, None
        assert result is not None
        if result.ticket != self._ticket:
            return None  # asked before a flush: its plan is void
        if inflight.cold:
            self._cold_latency = result.latency_s
        else:
            self._recent.append(result.latency_s)
            self.stats.latencies_s.append(result.latency_s)
        chunk = self._accepted(result)
        if chunk is None:
            return None
        delay = tick - inflight.tick
        if delay >= chunk.horizon:
            self.stats.late_chunks += 1
            self._last_error = f"a chunk arrived {delay} ticks after its observation, past its {chunk.horizon} rows"
            logger.warning("Dropped a late chunk: %s.", self._last_error)
            return None
        self._horizon, self._restarting = chunk.horizon, False
        self._queue, self._start = list(chunk.actions[delay:]), tick
        self.stats.delays.append(delay)
        self.stats.record_splice(self._last, self._queue[0])
        return chunk

    def _accepted(self, result: InferenceResult) -> ActionChunk | None:
        if result.error is not None:
            self.stats.failed_requests += 1
            self._last_error = f"{type(result.error).__name__}: {result.error}"
            logger.warning("Inference failed: %s; the robot executes its queue, then holds.", self._last_error)
            return None
        problem = chunk_problem(result.chunk, self.action_dim)
        if problem is not None:
            self.stats.rejected_chunks += 1
            self._last_error = f"refused a chunk: {problem}"
            logger.warning("Refused a chunk: %s.", problem)
            return None
        return result.chunk

    def _result_due(self, tick: int) -> bool:
        """Whether the request in flight has a result to collect on ``tick`` (see the module docstring on time)."""
        assert self._inflight is not None
        if self._ready is None:
            if not self.realtime:
                budget = (tick - self._inflight.tick) * self.period
                self._worker.wait(budget - (time.perf_counter() - self._worker.started_at))
            self._ready = self._worker.take()
        if self._ready is None:
            return False
        if self.realtime or self._inflight.cold:
            return True
        return tick - self._inflight.tick >= max(1, math.ceil(self._ready.latency_s / self.period - 1e-9))

    # ------------------------------------------------------------------ queue
    def _drop_past(self, tick: int) -> None:
        if tick > self._start and self._queue:
            del self._queue[: tick - self._start]
        self._start = max(self._start, tick)

    def _pop(self, tick: int) -> np.ndarray | None:
        if self._queue:
            self._starved_since = None
            self._start = tick + 1
            self._last = self._queue.pop(0)
            return self._last
        if self._restarting:
            self.stats.restart_hold_ticks += 1
        else:
            self.stats.starved_ticks += 1
        self._starved_since = tick if self._starved_since is None else self._starved_since
        held_s = (tick - self._starved_since + 1) * self.period
        if held_s > self.config.max_starvation_s:
            reason = self._last_error or "the next chunk is late"
            raise PolicyStarvedError(
                f"No action for {held_s:.2f} s (broker.max_starvation_s={self.config.max_starvation_s}): {reason}."
            )
        return None
