"""The search tree of :mod:`failforward.planner.search`: nodes with visits ``N``, returns ``W``, ``Q = W/N``."""

from __future__ import annotations

from dataclasses import dataclass, field

from failforward.planner.graph import SceneNode, Step, Subgoal
from failforward.planner.plan import TreeEntry


@dataclass
class TreeNode:
    """One reasoning state ``x = (n, z)`` in the tree.

    Attributes:
        id: creation order (the root is 0).
        node: the scene graph ``n``; history: the path ``z`` from the root (``Step(node, edge)`` pairs).
        parent: ``None`` for the root; edge: the subgoal from the parent.
        prior: ``P̃`` of ``edge`` at the parent (1 for the root).
        value: ``V`` at this node once evaluated; score: the value backpropagated (see ``leaf_value``).
        visits, total: ``N``, ``W``; children: expanded successors.
    """

    id: int
    node: SceneNode
    history: tuple[Step, ...] = ()
    parent: TreeNode | None = None
    edge: Subgoal | None = None
    prior: float = 1.0
    value: float | None = None
    score: float | None = None
    visits: int = 0
    total: float = 0.0
    children: list[TreeNode] = field(default_factory=list)
    expanded: bool = False

    @property
    def q(self) -> float:
        """``Q = W / max(1, N)``."""
        return self.total / max(1, self.visits)

    @property
    def depth(self) -> int:
        return len(self.history)

    def backpropagate(self, v: float) -> None:
        """``N ← N + 1``, ``W ← W + v`` here and at every ancestor."""
        node: TreeNode | None = self
        while node is not None:
            node.visits += 1
            node.total += v
            node = node.parent

    def path(self) -> list[TreeNode]:
        """Root … self."""
        nodes: list[TreeNode] = []
        node: TreeNode | None = self
        while node is not None:
            nodes.append(node)
            node = node.parent
        return nodes[::-1]

    def entry(self) -> TreeEntry:
        parent = -1 if self.parent is None else self.parent.id
        return TreeEntry(self.id, parent, self.edge, self.node, self.visits, self.q, self.value, self.prior)
