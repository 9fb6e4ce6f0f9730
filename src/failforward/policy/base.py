"""The policy interface: one observation in, one action chunk out.

Time convention for flow policies (stated once, used everywhere): flow time ``τ`` runs from
``τ = 0`` (pure Gaussian noise) to ``τ = 1`` (data); Euler steps integrate ``x ← x + δ · v(x, τ)``
with ``δ = 1 / N``.
"""

from __future__ import annotations

import abc

import numpy as np

from failforward.types import ActionChunk, Observation


class PolicyBackend(abc.ABC):
    """Produces ``ActionChunk``s of absolute joint targets ``[H, A]`` from observations."""

    @abc.abstractmethod
    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        """Return the next chunk for ``obs``.

        Args:
            obs: the current observation (joint state and the cameras the policy needs).
            prompt: language instruction (task or corrective instruction).
            noise: optional initial flow noise ``[H, A]`` for reproducible sampling; ignored by
                non-generative policies.
        """

    def reset(self) -> None:  # noqa: B027 - optional hook, most policies are stateless
        """Forget per-episode state (called at the start of every episode)."""

    def close(self) -> None:  # noqa: B027 - optional hook, most policies hold nothing
        """Release what the policy holds (a planning environment, a session); called once, when done."""
