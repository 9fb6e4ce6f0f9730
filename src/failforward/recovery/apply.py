"""The control loop's inference step with a recovery override: one function, so the loop's change is one call.

Example (inside ``ControlLoop._infer``):
    >>> action, chunk = infer_with_override(override, self.broker,
    ...                                     lambda obs, prompt: self.policy.infer(obs, prompt=prompt),
    ...                                     observation, self.prompt)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from failforward.recovery.overrides import JointOverride, Override, PolicyOverride, ResumePolicy
from failforward.types import ActionChunk, Observation


class Broker(Protocol):
    """What is needed of ``failforward.control.broker.ChunkBroker``."""

    def reset(self) -> None: ...

    def next_action(self, infer: Callable[[], ActionChunk]) -> tuple[np.ndarray, ActionChunk | None]: ...


def infer_with_override(
    override: Override | None,
    broker: Broker,
    infer: Callable[[Observation, str], ActionChunk],
    observation: Observation,
    prompt: str,
) -> tuple[np.ndarray, ActionChunk | None]:
    """This tick's action ``[A]`` and the chunk inferred for it (``None`` when none was).

    - ``JointOverride``: its positions; the policy is not asked. Its ``chunk`` is ``None`` while a trajectory
      runs (the supervisor's chunk count pauses) and a hold chunk every few ticks while holding.
    - ``PolicyOverride``: the policy on ``override.transform(observation)`` with ``override.prompt``; the
      broker's queue is dropped first on its first tick (``restart``).
    - ``ResumePolicy``: the queue (planned before the correction) is dropped, then the policy runs as usual.
    - ``None``: the policy as usual.
    """
    if isinstance(override, JointOverride):
        return override.positions, override.chunk
    if isinstance(override, PolicyOverride | ResumePolicy) and override.restart:
        broker.reset()
    if isinstance(override, PolicyOverride):
        observation, prompt = override.transform(observation), override.prompt
    return broker.next_action(lambda: infer(observation, prompt))
