"""Teleoperation as a policy: the leader arms' joints become the followers' targets, tick by tick.

Running teleoperation through the ordinary control loop means the commands pass the safety layer
and the episode is recorded by the same recorder as any policy rollout (demonstrations for training).

Example:
    failforward demo --preset aloha_teleop --episodes 5
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from failforward.errors import ConfigError, ShapeError
from failforward.policy.base import PolicyBackend
from failforward.policy.registry import PolicyContext, register_policy
from failforward.types import ActionChunk, ChunkPrefix, Observation


class TeleopPolicy(PolicyBackend):
    """Returns one-row chunks ``[1, A]`` holding the leader positions read at ``infer`` time.

    Args:
        read_leaders: returns the leader joints ``[A]`` in the followers' units (rad, grippers 0–1).
    """

    def __init__(self, read_leaders: Callable[[], np.ndarray]) -> None:
        self.read_leaders = read_leaders

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        leaders = np.asarray(self.read_leaders(), dtype=np.float64)
        if leaders.shape != obs.joint_positions.shape:
            raise ShapeError(f"Leader joints {leaders.shape} do not match the followers' {obs.joint_positions.shape}.")
        return ActionChunk(leaders[None, :], source="teleop")


@register_policy("teleop")
def build_teleop(config: object, context: PolicyContext) -> TeleopPolicy:
    if context.teleop_source is None:
        raise ConfigError(
            "Teleoperation needs leader arms: use a robot with leaders (AlohaConfig with "
            "leader_left_port and leader_right_port)."
        )
    return TeleopPolicy(context.teleop_source)
