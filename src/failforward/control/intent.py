"""How the loop turns a correction's intent into this tick's action: the loop's inference step.

Recovery returns intent only (an :data:`~failforward.recovery.overrides.Override`); this module, owned by the
loop, decides what that means for the policy and the chunk queue:

- ``JointOverride``: its positions; the policy is not asked. Its ``chunk`` is ``None`` while a trajectory runs
  (the supervisor's chunk count pauses) and a hold chunk every few ticks while holding.
- ``PolicyOverride``: the policy on ``override.transform(observation)`` with ``override.prompt``; the queued
  actions are dropped first on its first tick (``restart``).
- ``ResumePolicy``: the queue (planned before the correction) is dropped, then the policy runs as usual.
- ``None``: the policy as usual.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from failforward.control.broker import ChunkBroker
from failforward.recovery.overrides import JointOverride, Override, PolicyOverride, ResumePolicy
from failforward.types import ActionChunk, Observation

Infer = Callable[[Observation, str], ActionChunk]
"""``(observation, prompt) -> chunk [H, A]``: the policy."""


def action_for(
    override: Override | None, broker: ChunkBroker, infer: Infer, observation: Observation, prompt: str
) -> tuple[np.ndarray, ActionChunk | None]:
    """This tick's action ``[A]`` and the chunk inferred for it (``None`` when none was); see the module docstring."""
    if isinstance(override, JointOverride):
        return override.positions, override.chunk
    if isinstance(override, PolicyOverride | ResumePolicy) and override.restart:
        broker.reset()
    if isinstance(override, PolicyOverride):
        observation, prompt = override.transform(observation), override.prompt
    return broker.next_action(lambda: infer(observation, prompt))
