"""The thought graph's vocabulary (VINE §3): scene-graph nodes and subgoal edges.

A :class:`SceneNode` is the abstraction ``φ(s) → n`` of one moment: where each gripper is, where each task object
is, and the pairwise relations that hold (``in_gripper(plug_a, right)``, ``inserted(plug_a, socket_1)``, …). Positions
are xyz [m] in the robot's world frame. A :class:`Subgoal` is a verifiable edge: ``grasp <object>``,
``insert <object> <target>`` or ``done``; its text form is the System-1 policy's prompt.

Example:
    >>> Subgoal.parse("insert plug_a socket_1")
    Subgoal(kind='insert', args=('plug_a', 'socket_1'))
    >>> str(Subgoal("grasp", ("plug_a",)))
    'grasp plug_a'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import numpy as np

from failforward.planner.errors import UnknownSubgoalError

SubgoalKind = Literal["grasp", "insert", "done"]
ARITY: dict[str, int] = {"grasp": 1, "insert": 2, "done": 0}


@dataclass(frozen=True, order=True)
class Relation:
    """``kind(subject, target)``, e.g. ``Relation("inserted", "plug_a", "socket_1")``."""

    kind: str
    subject: str
    target: str

    def __str__(self) -> str:
        return f"{self.kind}({self.subject}, {self.target})"


@dataclass(frozen=True)
class Subgoal:
    """One edge of the thought graph: ``kind`` with its object names (``ARITY[kind]`` of them)."""

    kind: SubgoalKind
    args: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ARITY:
            raise UnknownSubgoalError(f"Unknown subgoal kind {self.kind!r}; valid kinds: {', '.join(ARITY)}.")
        if len(self.args) != ARITY[self.kind]:
            raise UnknownSubgoalError(
                f"Subgoal {self.kind!r} takes {ARITY[self.kind]} object name(s), got {list(self.args)}: "
                "write e.g. 'grasp plug_a', 'insert plug_a socket_1' or 'done'."
            )

    @classmethod
    def parse(cls, text: str) -> Subgoal:
        """``"insert plug_a socket_1"`` → ``Subgoal("insert", ("plug_a", "socket_1"))``."""
        words = text.split()
        if not words or words[0] not in get_args(SubgoalKind):
            raise UnknownSubgoalError(f"{text!r} is not a subgoal; write 'grasp X', 'insert X Y' or 'done'.")
        return cls(words[0], tuple(words[1:]))  # type: ignore[arg-type]

    def __str__(self) -> str:
        return " ".join((self.kind, *self.args))


DONE = Subgoal("done")


@dataclass(frozen=True)
class SceneNode:
    """The scene graph at one moment.

    Attributes:
        grippers: arm name → gripper position ``[3]`` [m], world frame.
        objects: object name → position ``[3]`` [m], world frame.
        relations: the relations that hold.
        terminal: ``True`` for the node a ``done`` edge leads to (nothing follows it).
    """

    grippers: Mapping[str, np.ndarray] = field(default_factory=dict)
    objects: Mapping[str, np.ndarray] = field(default_factory=dict)
    relations: frozenset[Relation] = frozenset()
    terminal: bool = False

    def holds(self, kind: str, subject: str, target: str) -> bool:
        return Relation(kind, subject, target) in self.relations

    def related(self, kind: str) -> list[Relation]:
        """The relations of ``kind``, sorted."""
        return sorted(r for r in self.relations if r.kind == kind)

    def with_relations(self, relations: Iterable[Relation], *, terminal: bool = False) -> SceneNode:
        """The same positions with ``relations`` instead (a predicted successor keeps the measured positions)."""
        return SceneNode(self.grippers, self.objects, frozenset(relations), terminal)

    def key(self) -> tuple[tuple[Relation, ...], bool]:
        """What identifies the node in the abstract graph: its relations (positions are features, not identity)."""
        return tuple(sorted(self.relations)), self.terminal

    def describe(self) -> str:
        """One line for people and logs, e.g. ``"in_gripper(plug_a, right); inserted(plug_b, socket_0)"``."""
        return "; ".join(str(r) for r in sorted(self.relations)) or "(no relations)"


@dataclass(frozen=True)
class Step:
    """One thought step of a path: the node and the edge taken from it."""

    node: SceneNode
    edge: Subgoal
