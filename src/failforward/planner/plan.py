"""What a planner returns: the chosen path of subgoals, its value, and the tree it searched (for RViz/Foxglove and the
recording).

Example:
    >>> plan = planner.plan(node)
    >>> plan.next_subgoal            # the System-1 prompt: Subgoal("grasp", ("plug_a",))
    >>> plan.to_dict()               # JSON for /planner/plan and the MCAP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from failforward.planner.graph import SceneNode, Subgoal


@dataclass(frozen=True)
class TreeEntry:
    """One node of the searched tree: its id, its parent's id (``-1`` for the root), the edge into it, the node,
    visits ``N``, mean value ``Q``, its own value ``V`` (``None`` if never evaluated) and the normalized prior ``P̃``."""

    id: int
    parent: int
    edge: Subgoal | None
    node: SceneNode
    visits: int
    q: float
    v: float | None
    prior: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "edge": None if self.edge is None else str(self.edge),
            "node": self.node.describe(),
            "visits": self.visits,
            "q": round(self.q, 6),
            "v": None if self.v is None else round(self.v, 6),
            "prior": round(self.prior, 6),
        }


@dataclass(frozen=True)
class Plan:
    """A path of subgoals from the node planned from.

    Attributes:
        subgoals: the path's edges, first to execute first (may be empty: nothing possible).
        value: the chosen leaf's score in [0, 1] (``nan`` for planners without a value).
        path: tree ids of the path's nodes, root first (empty for planners without a tree).
        tree: every node searched (empty for planners without a tree).
        iterations: search iterations run; seconds: [s] wall-clock time spent planning.
        timed_out: the budget ran out; this is the best plan found so far.
        planner: the planner's kind.
    """

    subgoals: tuple[Subgoal, ...]
    value: float
    planner: str
    path: tuple[int, ...] = ()
    tree: tuple[TreeEntry, ...] = field(default_factory=tuple)
    iterations: int = 0
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def next_subgoal(self) -> Subgoal | None:
        """The subgoal System 1 executes now (``None``: the plan is empty)."""
        return self.subgoals[0] if self.subgoals else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (the ``/planner/plan`` message and the recording's planner channel)."""
        return {
            "planner": self.planner,
            "subgoals": [str(s) for s in self.subgoals],
            "value": None if self.value != self.value else round(self.value, 6),
            "path": list(self.path),
            "iterations": self.iterations,
            "seconds": round(self.seconds, 6),
            "timed_out": self.timed_out,
            "tree": [entry.to_dict() for entry in self.tree],
        }
