"""The policy interface: one observation in, one action chunk out.

Time convention for flow policies (stated once, used everywhere): flow time ``τ`` runs from
``τ = 0`` (pure Gaussian noise) to ``τ = 1`` (data); Euler steps integrate ``x ← x + δ · v(x, τ)``
with ``δ = 1 / N``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Literal

import numpy as np

from failforward.types import ActionChunk, ChunkPrefix, Observation

RtcMethod = Literal["none", "inference", "training"]
"""How a policy honours a :class:`~failforward.types.ChunkPrefix` (real-time chunking):

- ``none``: it ignores the prefix; the loop switches chunks plainly (skipping the ``d`` stale rows).
- ``inference``: inference-time RTC, ΠGDM guidance toward the prefix with a vector-Jacobian product
  (Black et al. 2025, arXiv 2506.07339); any delay up to the horizon.
- ``training``: training-time RTC, the flow was trained conditioned on a clean prefix of random length
  (arXiv 2512.05964); no gradient at inference; delays up to ``max_delay`` only.
"""


@dataclass(frozen=True)
class RtcSupport:
    """What a policy can do with a prefix: its ``method`` and the largest ``delay`` ``d`` [actions] it handles."""

    method: RtcMethod = "none"
    max_delay: int = 0


NO_RTC = RtcSupport()


class PolicyBackend(abc.ABC):
    """Produces ``ActionChunk``s of absolute joint targets ``[H, A]`` from observations."""

    @abc.abstractmethod
    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        """Return the next chunk for ``obs``.

        Args:
            obs: the current observation (joint state and the cameras the policy needs).
            prompt: language instruction (task or corrective instruction).
            noise: optional initial flow noise ``[H, A]`` for reproducible sampling; ignored by
                non-generative policies.
            prefix: optional real-time-chunking prefix (the actions still to run from ``obs``'s tick);
                honoured as :attr:`rtc` says, ignored by policies without RTC.
        """

    @property
    def rtc(self) -> RtcSupport:
        """How this policy honours a ``prefix`` (default: it ignores it)."""
        return NO_RTC

    def reset(self) -> None:  # noqa: B027 - optional hook, most policies are stateless
        """Forget per-episode state (called at the start of every episode)."""

    def seed_episode(self, episode_seed: int) -> None:  # noqa: B027 - optional hook, most policies are deterministic
        """Reseed per-episode randomness from ``episode_seed`` (called after :meth:`reset`, before the first chunk).

        A generative policy with a configured seed derives this episode's noise from ``(seed, episode_seed)``, so an
        episode's result does not depend on how many episodes ran before it, and settings compared on the same
        episode seeds share their noise."""

    def close(self) -> None:  # noqa: B027 - optional hook, most policies hold nothing
        """Release what the policy holds (a planning environment, a session); called once, when done."""


def infer_chunk(
    policy: PolicyBackend,
    obs: Observation,
    *,
    prompt: str = "",
    noise: np.ndarray | None = None,
    prefix: ChunkPrefix | None = None,
) -> ActionChunk:
    """``policy.infer``, passing ``prefix`` only when there is one, so policies written before real-time chunking
    (an ``infer`` without the ``prefix`` keyword) keep working wherever no prefix is made for them."""
    if prefix is None:
        return policy.infer(obs, prompt=prompt, noise=noise)
    return policy.infer(obs, prompt=prompt, noise=noise, prefix=prefix)
