"""A gripper latch: hysteresis on a sampled policy's open/closed decision, chunk to chunk.

A flow policy draws fresh noise for every chunk. Where the gripper's target is bimodal (open or closed near a
grasp), consecutive chunks can land in different modes and the gripper opens and closes in turn, dropping what it
held. The latch keeps each gripper in the state it was last commanded (open or closed) until ``release_chunks``
consecutive chunks command the other state; until then it overwrites the gripper's column of the chunk with the
value it held. A new prompt (a new subgoal) or a new episode forgets the state.

A chunk *commands* a state by its gripper target at its last row: closed below ``closed_below``, open above
``open_above``; in between (or not finite) it commands nothing: the latch keeps its state and a run of disagreeing
chunks starts over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from failforward.config.policy import GripperLatchConfig
from failforward.errors import ConfigError
from failforward.policy.base import PolicyBackend, RtcSupport, infer_chunk
from failforward.types import ActionChunk, ChunkPrefix, Observation, RobotFeatures

GRIPPER_UNIT = "normalized"
"""Grippers are the joints in normalized units (``JointFeature.unit``: 0 closed, 1 open)."""


@dataclass
class _Latch:
    """One gripper: the state it holds (``None``: none yet), the target it holds it with, the disagreeing run."""

    closed: bool | None = None
    held_value: float = 0.0
    against: int = 0


@dataclass
class LatchCounts:
    """Per-episode counters: chunks whose gripper column the latch overwrote, and state changes it let through."""

    overridden: int = 0
    released: int = 0


def gripper_columns(features: RobotFeatures) -> tuple[int, ...]:
    """Columns of the action ``[A]`` that are grippers (normalized units)."""
    return tuple(i for i, joint in enumerate(features.joints) if joint.unit == GRIPPER_UNIT)


class GripperLatch(PolicyBackend):
    """Wraps ``policy``; its chunks' gripper columns pass through :class:`GripperLatchConfig`'s hysteresis."""

    def __init__(self, policy: PolicyBackend, columns: tuple[int, ...], config: GripperLatchConfig) -> None:
        if not columns:
            raise ConfigError(
                "policy.gripper_latch is on but the robot has no gripper joint (unit 'normalized'); turn it off."
            )
        self.policy, self.columns, self.config = policy, columns, config
        self.counts = LatchCounts()
        self._latches = {c: _Latch() for c in columns}
        self._prompt: str | None = None

    @property
    def rtc(self) -> RtcSupport:
        return self.policy.rtc

    def reset(self) -> None:
        self.policy.reset()
        self._forget()
        self.counts = LatchCounts()

    def seed_episode(self, episode_seed: int) -> None:
        self.policy.seed_episode(episode_seed)

    def close(self) -> None:
        self.policy.close()

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        chunk = infer_chunk(self.policy, obs, prompt=prompt, noise=noise, prefix=prefix)
        if prompt != self._prompt:
            self._forget()
            self._prompt = prompt
        actions = np.array(chunk.actions, copy=True)
        for column in self.columns:
            self._apply(column, actions)
        return replace(chunk, actions=actions)

    def _forget(self) -> None:
        self._latches = {c: _Latch() for c in self.columns}

    def _apply(self, column: int, actions: np.ndarray) -> None:
        """Latch ``actions[:, column]`` in place."""
        latch, target = self._latches[column], float(actions[-1, column])
        commanded = _commanded(target, self.config)
        if commanded is None:
            if latch.closed is not None:
                latch.against = 0
            return
        if latch.closed is None or commanded == latch.closed:
            latch.closed, latch.held_value, latch.against = commanded, target, 0
            return
        latch.against += 1
        if latch.against >= self.config.release_chunks:
            latch.closed, latch.held_value, latch.against = commanded, target, 0
            self.counts.released += 1
            return
        actions[:, column] = latch.held_value
        self.counts.overridden += 1


def _commanded(target: float, config: GripperLatchConfig) -> bool | None:
    """``True`` closed, ``False`` open, ``None`` neither (between the thresholds or not finite)."""
    if not np.isfinite(target):
        return None
    if target < config.closed_below:
        return True
    if target > config.open_above:
        return False
    return None
