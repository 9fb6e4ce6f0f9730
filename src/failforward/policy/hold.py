"""The hold policy: every chunk repeats the measured joint positions (a safe no-op for bring-up)."""

from __future__ import annotations

import numpy as np

from failforward.policy.base import PolicyBackend
from failforward.policy.registry import PolicyContext, register_policy
from failforward.types import ActionChunk, Observation


class HoldPolicy(PolicyBackend):
    """Returns ``[H, A]`` copies of the current joint positions."""

    def __init__(self, horizon: int = 50) -> None:
        self.horizon = horizon

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        return ActionChunk(np.tile(obs.joint_positions, (self.horizon, 1)), source="hold")


@register_policy("hold")
def build_hold(config: object, context: PolicyContext) -> HoldPolicy:
    return HoldPolicy()
