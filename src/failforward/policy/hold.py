"""The hold policy: keep the joints where they were at the start of the episode (safe bring-up no-op).

It holds the *first* observed positions, not the latest ones: re-commanding the measured position
every chunk would let an arm sag under gravity a little more with each chunk.
"""

from __future__ import annotations

import numpy as np

from failforward.policy.base import PolicyBackend
from failforward.policy.registry import PolicyContext, register_policy
from failforward.types import ActionChunk, ChunkPrefix, Observation


class HoldPolicy(PolicyBackend):
    """Returns ``[H, A]`` copies of the joint positions observed first in this episode."""

    def __init__(self, horizon: int = 50) -> None:
        self.horizon = horizon
        self._target: np.ndarray | None = None

    def reset(self) -> None:
        self._target = None

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        if self._target is None:
            self._target = obs.joint_positions.copy()
        return ActionChunk(np.tile(self._target, (self.horizon, 1)), source="hold")


@register_policy("hold")
def build_hold(config: object, context: PolicyContext) -> HoldPolicy:
    return HoldPolicy()
