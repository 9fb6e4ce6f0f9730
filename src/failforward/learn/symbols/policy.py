"""``SymbolMotionPolicy``: a prelude policy (the scripted expert) for ``takeover`` ticks, then one planned
corrective motion (:class:`~failforward.learn.symbols.plan.SymbolPlan`), then hold.

Like :class:`~failforward.learn.replay.ReplayThenExpert` it runs through the control loop, so every row passes
the safety layer and the recorder. Tick counting: the loop executes every row handed out when the chunk broker
is in ``chunk`` mode with ``execute_steps >= chunk_size`` (the generator checks this), so the ``k``-th row
handed out is the command of tick ``k``; the prelude's chunks are cut so that the corrective motion starts
exactly at tick ``takeover``. The motion is planned at that tick from the last row sent (or the measured
joints when ``takeover == 0``); a refused plan is never moved: the policy holds.

Example:
    >>> policy = SymbolMotionPolicy(ScriptedExpert(task, driver.privileged_state, horizon=25), planner, 25)
    >>> policy.load(takeover=120, commands=(Move(gripper="right", direction="upward", magnitude="slightly"),))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from failforward.errors import ConfigError
from failforward.learn.symbols.plan import Command, SymbolPlan, SymbolPlanner
from failforward.policy.base import PolicyBackend
from failforward.recovery.correction import Refusal
from failforward.types import ActionChunk, ChunkPrefix, Observation

PlanListener = Callable[[Observation, "SymbolPlan | Refusal"], None]
"""Called once per episode at the hand-over tick with its observation and the plan (or refusal)."""


class SymbolMotionPolicy(PolicyBackend):
    """Prelude, then one corrective motion (see the module docstring).

    Args:
        prelude: the policy that sets the scene up (the scripted expert); reset with this policy.
        planner: plans the corrective motion at the hand-over.
        chunk_size: most rows per chunk (at most the broker's ``execute_steps``).
        on_plan: told the plan or refusal (e.g. to record the diagnosis).
    """

    def __init__(
        self, prelude: PolicyBackend, planner: SymbolPlanner, chunk_size: int, on_plan: PlanListener | None = None
    ) -> None:
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be >= 1 tick, got {chunk_size}; use the broker's execute_steps.")
        self.prelude, self.planner, self.chunk_size, self.on_plan = prelude, planner, chunk_size, on_plan
        self.takeover = 0
        self.commands: tuple[Command, ...] = ()
        self.reset()

    def load(self, takeover: int, commands: Sequence[Command]) -> None:
        """The next episode runs the prelude for ``takeover`` [ticks], then follows ``commands``."""
        if takeover < 0 or not commands:
            raise ConfigError(f"need takeover >= 0 ticks and at least one command, got {takeover}, {commands}.")
        self.takeover, self.commands = int(takeover), tuple(commands)
        self.reset()

    def reset(self) -> None:
        """Start the loaded episode over (called by the loop at episode start)."""
        self.handed, self.cursor = 0, 0
        self.plan: SymbolPlan | None = None
        self.refusal: Refusal | None = None
        self._last: np.ndarray | None = None
        self.prelude.reset()

    @property
    def motion_end(self) -> int | None:
        """Tick after the motion's last row (``takeover + T``) once planned; ``None`` before or when refused."""
        return None if self.plan is None else self.takeover + len(self.plan.targets)

    def infer(
        self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None, prefix: ChunkPrefix | None = None
    ) -> ActionChunk:
        """Prelude rows until ``takeover``, then the motion's rows, then the last row again (hold)."""
        if self.handed < self.takeover:
            rows = self.prelude.infer(obs, prompt=prompt).actions[: min(self.chunk_size, self.takeover - self.handed)]
            return self._hand(rows, "expert")
        if self.plan is None and self.refusal is None:
            self._plan_motion(obs)
        if self.plan is not None and self.cursor < len(self.plan.targets):
            rows = self.plan.targets[self.cursor : self.cursor + self.chunk_size]
            self.cursor += len(rows)
            return self._hand(rows, "symbols")
        return self._hand(self._last[None, :], "hold")  # type: ignore[index]

    def _hand(self, rows: np.ndarray, source: str) -> ActionChunk:
        self.handed += len(rows)
        self._last = np.array(rows[-1], dtype=np.float64)
        return ActionChunk(rows, source=source)

    def _plan_motion(self, obs: Observation) -> None:
        hold = obs.joint_positions.copy() if self._last is None else self._last
        self._last = hold
        result = self.planner.plan(obs, hold, self.commands)
        if isinstance(result, Refusal):
            self.refusal = result
        else:
            self.plan = result
        if self.on_plan is not None:
            self.on_plan(obs, result)
