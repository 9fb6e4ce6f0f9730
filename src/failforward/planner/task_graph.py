"""The thought graph's transition model for insertion tasks: the subgoals a node allows, and where each leads.

VINE's decision model predicts the next node as text; for our subgoal vocabulary the successor of a node under an edge
is determined by the edge's meaning, so it is computed here exactly (the learned part is which edge to take and how
likely the path is to succeed: :mod:`failforward.planner.models`). Relations:
``held(<plug>, gripper)`` and ``inserted(<plug>, <socket>)``.

Example:
    >>> graph = InsertionGraph(plugs=("plug_a", "plug_b"), sockets=("socket_0", "socket_1", "socket_2"))
    >>> [str(e) for e in graph.edges(start)]
    ['grasp plug_a', 'grasp plug_b']
"""

from __future__ import annotations

from dataclasses import dataclass

from failforward.planner.errors import UnknownSubgoalError
from failforward.planner.graph import DONE, Relation, SceneNode, Subgoal

HELD, INSERTED, GRIPPER = "held", "inserted", "gripper"


@dataclass(frozen=True)
class InsertionGraph:
    """Plugs go into sockets one at a time: ``grasp p`` (nothing held, ``p`` not inserted) → ``held(p, gripper)``;
    ``insert p s`` (``p`` held, ``s`` free) → ``inserted(p, s)``; ``done`` once every plug is inserted."""

    plugs: tuple[str, ...]
    sockets: tuple[str, ...]

    def vocabulary(self) -> tuple[Subgoal, ...]:
        """Every subgoal this task can name, in a fixed order (the models' output index)."""
        grasps = [Subgoal("grasp", (p,)) for p in self.plugs]
        inserts = [Subgoal("insert", (p, s)) for p in self.plugs for s in self.sockets]
        return (*grasps, *inserts, DONE)

    def check(self, edge: Subgoal) -> Subgoal:
        """``edge`` if the task knows it; else :class:`UnknownSubgoalError` (a plan naming it is refused)."""
        if edge not in self.vocabulary():
            raise UnknownSubgoalError(
                f"Subgoal {str(edge)!r} is not in this task's vocabulary (plugs {list(self.plugs)}, sockets "
                f"{list(self.sockets)}); valid: {', '.join(str(e) for e in self.vocabulary())}."
            )
        return edge

    def edges(self, node: SceneNode) -> list[Subgoal]:
        """The subgoals allowed from ``node``, in vocabulary order (none from a terminal node)."""
        if node.terminal:
            return []
        held = [r.subject for r in node.related(HELD)]
        inserted = {r.subject for r in node.related(INSERTED)}
        if held:
            taken = {r.target for r in node.related(INSERTED)}
            return [Subgoal("insert", (held[0], s)) for s in self.sockets if s not in taken]
        loose = [p for p in self.plugs if p not in inserted]
        return [Subgoal("grasp", (p,)) for p in loose] if loose else [DONE]

    def successor(self, node: SceneNode, edge: Subgoal) -> SceneNode:
        """The node ``edge`` leads to from ``node`` (``edge`` must be one of :meth:`edges`)."""
        if edge not in self.edges(node):
            raise UnknownSubgoalError(
                f"{str(edge)!r} is not possible from {node.describe()}; possible: "
                f"{', '.join(str(e) for e in self.edges(node)) or 'nothing (terminal)'}."
            )
        relations = set(node.relations)
        if edge.kind == "grasp":
            relations.add(Relation(HELD, edge.args[0], GRIPPER))
        elif edge.kind == "insert":
            relations.discard(Relation(HELD, edge.args[0], GRIPPER))
            relations.add(Relation(INSERTED, *edge.args))
        return node.with_relations(relations, terminal=edge.kind == "done")

    def complete(self, node: SceneNode) -> bool:
        """Every plug inserted."""
        return {r.subject for r in node.related(INSERTED)} == set(self.plugs)
