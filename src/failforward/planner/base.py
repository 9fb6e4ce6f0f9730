"""The planner role (System 2): ``plan(node, history) -> Plan`` within a time budget, the best plan so far on timeout.

Implementations are chosen by name from :data:`failforward.planner.registry.PLANNERS` (``planner.kind``).
"""

from __future__ import annotations

from typing import Protocol

from failforward.planner.graph import SceneNode, Step
from failforward.planner.plan import Plan


class Planner(Protocol):
    """Plans subgoals from a scene graph."""

    kind: str

    def plan(self, start: SceneNode, history: tuple[Step, ...] = ()) -> Plan:
        """A path of subgoals from ``start``, reached by ``history`` (the steps executed so far, oldest first)."""
        ...
