"""What the brokers share: the policy call they make, chunk checks, and per-episode inference statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from failforward.types import ActionChunk, ChunkPrefix

PrefixInfer = Callable[[ChunkPrefix | None], ActionChunk]
"""``prefix -> chunk [H, A]``: the policy on the observation of the tick that asks (the closure holds it)."""


def chunk_problem(chunk: object, action_dim: int | None, *, finite: bool = True) -> str | None:
    """Why ``chunk`` must not reach the driver (wrong type or width, non-finite values), or ``None`` if it may.

    Args:
        chunk: what the policy returned.
        action_dim: the robot's joint count ``A``; ``None`` skips the width check.
        finite: refuse non-finite values (the synchronous broker lets the safety layer hold on those rows).
    """
    if not isinstance(chunk, ActionChunk):
        return f"the policy returned {type(chunk).__name__}, not an ActionChunk"
    if action_dim is not None and chunk.actions.shape[1] != action_dim:
        return f"chunk is {chunk.actions.shape}, the robot has {action_dim} joints"
    if finite and not np.all(np.isfinite(chunk.actions)):
        return f"chunk has {int((~np.isfinite(chunk.actions)).sum())} non-finite values"
    return None


@dataclass
class InferenceStats:
    """Per-episode inference counters of a broker (all counts; times [s]; jumps [rad or driver units]).

    Attributes:
        chunks: chunks spliced into the queue.
        starved_ticks: ticks the robot held because the queue ran out (late or failed chunks).
        restart_hold_ticks: ticks held after a correction flushed the queue, waiting for its new chunk.
        late_chunks: chunks that arrived after their whole horizon had passed (dropped).
        rejected_chunks: chunks dropped by :func:`chunk_problem` (wrong width, non-finite).
        failed_requests: policy calls that raised (a dead server, a timeout).
        rtc_fallbacks: requests sent without a prefix because ``d`` exceeded the policy's largest trained delay.
        latencies_s: wall time of every request but an episode's first (cold start stays out).
        delays: ``d`` of every spliced chunk, in actions consumed since its observation.
        splice_jumps: ``max_j |a_t − a_{t−1}|`` at each tick where a new chunk took over from an old one
            [rad; grippers: normalized units].
        splice_ratios: the same jumps relative to the safety layer's per-tick limit, ``max_j |Δa_j| / s_j``
            (``≤ 1``: the splice needed no clamping); empty without ``step_limit``.
        step_limit: ``s [A]``, the largest change per tick the safety layer allows (``SafetyLayer.max_step``).
    """

    chunks: int = 0
    starved_ticks: int = 0
    restart_hold_ticks: int = 0
    late_chunks: int = 0
    rejected_chunks: int = 0
    failed_requests: int = 0
    rtc_fallbacks: int = 0
    latencies_s: list[float] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)
    splice_jumps: list[float] = field(default_factory=list)
    splice_ratios: list[float] = field(default_factory=list)
    step_limit: np.ndarray | None = None

    def record_splice(self, previous: np.ndarray | None, first: np.ndarray) -> None:
        """Count a chunk taking over; ``previous`` is the last action handed out (``None`` at episode start)."""
        self.chunks += 1
        if previous is not None:
            jump = np.abs(first - previous)
            self.splice_jumps.append(float(np.max(jump)))
            if self.step_limit is not None:
                self.splice_ratios.append(float(np.max(jump / self.step_limit)))

    def summary(self) -> dict[str, float]:
        """Counts, warm latency p50/p99 [ms], mean and max delay [actions], max splice jump."""
        out: dict[str, float] = {
            "chunks": float(self.chunks),
            "starved_ticks": float(self.starved_ticks),
            "restart_hold_ticks": float(self.restart_hold_ticks),
            "late_chunks": float(self.late_chunks),
            "rejected_chunks": float(self.rejected_chunks),
            "failed_requests": float(self.failed_requests),
            "rtc_fallbacks": float(self.rtc_fallbacks),
            "max_splice_jump": max(self.splice_jumps, default=0.0),
        }
        if self.splice_ratios:
            out["max_splice_jump_ratio"] = max(self.splice_ratios)
        if self.latencies_s:
            latencies = np.asarray(self.latencies_s) * 1e3
            out["latency_p50_ms"] = float(np.percentile(latencies, 50))
            out["latency_p99_ms"] = float(np.percentile(latencies, 99))
        if self.delays:
            out["delay_mean"] = float(np.mean(self.delays))
            out["delay_max"] = float(np.max(self.delays))
        return out
