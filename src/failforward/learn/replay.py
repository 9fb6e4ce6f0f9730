"""``ReplayThenExpert``: replay recorded commands, then hand over to another policy (the expert).

The control loop resets the simulator at every episode start, so a failure correction cannot start
from a saved mid-episode state. Instead this policy re-creates it: from ``reset(seed)`` it returns
the failed rollout's recorded *sent* commands as chunks (the simulator is deterministic, so the same
seed and the same commands give the same state), and from tick ``P`` on it returns ``takeover``'s
chunks. Everything still passes the loop's safety layer and recorder.

Example:
    >>> policy = ReplayThenExpert(ScriptedExpert(task, robot.privileged_state), chunk_size=25)
    >>> policy.load(recorded.sent_actions[:takeover_tick])      # before loop.run_episode(i, seed)
"""

from __future__ import annotations

import numpy as np

from failforward.errors import ConfigError, ShapeError
from failforward.policy.base import PolicyBackend
from failforward.types import ActionChunk, ChunkPrefix, Observation


class ReplayThenExpert(PolicyBackend):
    """Replays ``prefix [P, A]`` (absolute joint targets, driver units), then delegates to ``takeover``.

    Args:
        takeover: the policy that finishes the episode (reset at the hand-over).
        chunk_size: rows per replayed chunk; must not exceed the broker's ``execute_steps`` so the
            broker executes every replayed row (``mode="chunk"`` only).
    """

    def __init__(self, takeover: PolicyBackend, chunk_size: int) -> None:
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be >= 1 tick, got {chunk_size}; use the broker's execute_steps.")
        self.takeover, self.chunk_size = takeover, chunk_size
        self.prefix = np.zeros((0, 0))
        self.replayed = 0

    def load(self, prefix: np.ndarray) -> None:
        """Set the commands ``[P, A]`` to replay in the next episode (``P = 0``: the takeover policy alone)."""
        prefix = np.asarray(prefix, dtype=np.float64)
        if prefix.ndim != 2 or not np.all(np.isfinite(prefix)):
            raise ShapeError(f"replay prefix must be a finite [P, A] array, got shape {prefix.shape}.")
        self.prefix, self.replayed = prefix, 0

    @property
    def handed_over(self) -> bool:
        """True once every prefix row has been handed out."""
        return self.replayed >= len(self.prefix)

    def reset(self) -> None:
        """Start the loaded prefix from its first row (called by the loop at episode start)."""
        self.replayed = 0
        self.takeover.reset()

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        """The next ``≤ chunk_size`` recorded rows, or the takeover policy's chunk after the prefix."""
        if self.handed_over:
            return self.takeover.infer(obs, prompt=prompt, noise=noise)
        rows = self.prefix[self.replayed : self.replayed + self.chunk_size]
        self.replayed += len(rows)
        if self.handed_over:
            self.takeover.reset()  # the takeover starts from the measured state, not a stale plan
        return ActionChunk(rows, source="replay")
