"""A delay at the policy edge: emulates a slow GPU or a network hop in front of a policy.

``DelayedPolicy(policy, 0.2)`` returns what ``policy`` returns, at least 200 ms after it was asked: the inference
itself runs first, then the wrapper sleeps for whatever is left of the delay. It emulates a policy whose every chunk
costs ``delay_s`` of wall time (a π0-class model on a GPU: 20–80 ms per chunk; a remote server over a network),
for benchmarks of asynchronous inference and real-time chunking on a CPU-only machine. It is not a model of
anything else: outputs are the wrapped policy's, unchanged.
"""

from __future__ import annotations

import time

import numpy as np

from failforward.policy.base import PolicyBackend, RtcSupport, infer_chunk
from failforward.types import ActionChunk, ChunkPrefix, Observation


class DelayedPolicy(PolicyBackend):
    """``policy`` with every :meth:`infer` taking at least ``delay_s`` [s] of wall time."""

    def __init__(self, policy: PolicyBackend, delay_s: float) -> None:
        if delay_s < 0:
            raise ValueError(f"delay_s must be >= 0 [s], got {delay_s}")
        self.policy, self.delay_s = policy, delay_s

    @property
    def rtc(self) -> RtcSupport:
        return self.policy.rtc

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        start = time.perf_counter()
        chunk = infer_chunk(self.policy, obs, prompt=prompt, noise=noise, prefix=prefix)
        remaining = self.delay_s - (time.perf_counter() - start)
        if remaining > 0:
            time.sleep(remaining)
        return chunk

    def reset(self) -> None:
        self.policy.reset()

    def seed_episode(self, episode_seed: int) -> None:
        self.policy.seed_episode(episode_seed)

    def close(self) -> None:
        self.policy.close()
