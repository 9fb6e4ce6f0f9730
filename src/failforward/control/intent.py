"""How the loop turns a correction's intent into this tick's action: the loop's inference step.

Recovery returns intent only (an :data:`~failforward.recovery.overrides.Override`); this module, owned by the
loop, decides what that means for the policy and the chunk queue:

- ``JointOverride``: its positions; the policy is not asked. Its ``chunk`` is ``None`` while a trajectory runs
  (the supervisor's chunk count pauses) and a hold chunk every few ticks while holding.
- ``PolicyOverride``: the policy on ``override.transform(observation)`` with ``override.prompt``; the queued
  actions are dropped first on its first tick (``restart``).
- ``ResumePolicy``: the queue (planned before the correction) is dropped, then the policy runs as usual.
- ``None``: the policy as usual.

The action is ``None`` when an asynchronous broker has nothing queued yet: the loop holds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from failforward.control.async_broker import AsyncChunkBroker
from failforward.control.broker import ChunkBroker
from failforward.recovery.overrides import JointOverride, Override, PolicyOverride, ResumePolicy
from failforward.types import ActionChunk, ChunkPrefix, Observation

Infer = Callable[[Observation, str, ChunkPrefix | None], ActionChunk]
"""``(observation, prompt, prefix) -> chunk [H, A]``: the policy."""


def action_for(
    override: Override | None,
    broker: ChunkBroker | AsyncChunkBroker,
    infer: Infer,
    observation: Observation,
    prompt: str,
    tick: int = 0,
) -> tuple[np.ndarray | None, ActionChunk | None]:
    """This tick's action ``[A]`` (``None``: hold) and the chunk that took over on this tick (``None`` when none
    did); see the module docstring. ``tick`` is the loop's tick index (the asynchronous broker keys its queue by it)."""
    if isinstance(override, JointOverride):
        return override.positions, override.chunk
    if isinstance(override, PolicyOverride | ResumePolicy) and override.restart:
        broker.flush()
    if isinstance(override, PolicyOverride):
        observation, prompt = override.transform(observation), override.prompt
    return broker.next_action(lambda prefix: infer(observation, prompt, prefix), tick)
