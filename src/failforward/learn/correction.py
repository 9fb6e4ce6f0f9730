"""Where a failed rollout is handed to the expert (AFIL §3.4, failure correction).

The simulator is replayed from ``reset(seed)`` with the rollout's recorded sent commands to get the
task stage at every tick (physics only, ~1 ms per tick). Two documented rules pick the takeover tick:

- ``last_max_stage`` (default): the last tick at which the episode was still at the highest stage it
  ever reached, i.e. just before its furthest progress was lost (cube dropped, grasp slipped). A
  rollout that never got past stage 0 is handed over at its last tick.
- ``fraction``: a fixed fraction of the rollout's length.

Example:
    >>> stages = stage_trace(driver, seed=1003, commands=recorded.sent_actions)   # [T]
    >>> tick = takeover_tick(stages, rule="last_max_stage")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from failforward.errors import ShapeError
from failforward.types import JointCommand

if TYPE_CHECKING:
    from failforward.robots.sim_aloha import SimAlohaDriver

CutRule = Literal["last_max_stage", "fraction"]


def stage_trace(driver: SimAlohaDriver, seed: int, commands: np.ndarray) -> np.ndarray:
    """Task stage ``int [T]`` after each of ``commands [T, 14]`` (absolute joint targets [rad]) from ``reset(seed)``."""
    if commands.ndim != 2 or len(commands) == 0:
        raise ShapeError(f"commands must be [T, A] with T >= 1, got {commands.shape}.")
    obs = driver.reset(seed)
    stages = np.empty(len(commands), dtype=np.int64)
    for t, row in enumerate(commands):
        driver.send_action(JointCommand(obs.timestamp, row))
        stages[t] = driver.scene.stage()
    return stages


def takeover_tick(stages: np.ndarray, rule: CutRule = "last_max_stage", fraction: float = 0.5) -> int:
    """Number of recorded ticks ``P`` to replay before the expert takes over (``1 <= P <= T``)."""
    if stages.ndim != 1 or len(stages) == 0:
        raise ShapeError(f"stages must be [T] with T >= 1, got {stages.shape}.")
    if rule == "fraction":
        return int(np.clip(round(fraction * len(stages)), 1, len(stages)))
    at_max = np.flatnonzero(stages == stages.max())
    return int(at_max[-1]) + 1
