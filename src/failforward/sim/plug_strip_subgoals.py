"""The plug-strip task's subgoal vocabulary (VINE's edges): ``grasp <plug>``, ``insert <plug> <socket>``, ``done``.

The text form is the one :class:`failforward.planner.graph.Subgoal` parses (``"insert plug_a socket_1"``), so a
recorded phase name is a thought-graph edge and a System-1 prompt as is. The scripted expert's phases are these
subgoals (``ScriptedExpert.phase``), so an episode segments into subgoals by its phase changes (and, equivalently,
by gripper close/open events: a grasp ends when the gripper has closed and lifted, an insert when it has opened).

An *order* is a sequence of ``(plug, socket)`` pairs; it expands to ``grasp p1, insert p1 s1, grasp p2, ..., done``.

Example:
    >>> [str(s) for s in subgoals_of([("plug_b", "socket_0")], layout)]
    ['grasp plug_b', 'insert plug_b socket_0', 'done']
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from failforward.errors import ConfigError
from failforward.sim.plug_strip_layout import PlugStripLayout

SubgoalKind = Literal["grasp", "insert", "done"]


@dataclass(frozen=True)
class PlugStripSubgoal:
    """``kind`` with its plug (grasp, insert) and socket (insert); ``str()`` is the vocabulary's text."""

    kind: SubgoalKind
    plug: str | None = None
    socket: str | None = None

    def __str__(self) -> str:
        return " ".join(w for w in (self.kind, self.plug, self.socket) if w is not None)


DONE = PlugStripSubgoal("done")


def grasp(plug: str) -> PlugStripSubgoal:
    return PlugStripSubgoal("grasp", plug)


def insert(plug: str, socket: str) -> PlugStripSubgoal:
    return PlugStripSubgoal("insert", plug, socket)


def vocabulary(layout: PlugStripLayout) -> tuple[PlugStripSubgoal, ...]:
    """Every subgoal of ``layout``'s plugs and sockets (grasps, inserts, done), in a fixed order."""
    grasps = [grasp(p) for p in layout.plugs]
    inserts = [insert(p, s) for p in layout.plugs for s in layout.sockets]
    return (*grasps, *inserts, DONE)


def all_orders(layout: PlugStripLayout) -> list[tuple[tuple[str, str], ...]]:
    """Every order that inserts each plug once into distinct sockets (plug order × socket choice): 2 or 3 with one
    plug, 4 (2 sockets) or 12 (3 sockets) with two."""
    orders = []
    for plugs in itertools.permutations(layout.plugs):
        for sockets in itertools.permutations(layout.sockets, len(plugs)):
            orders.append(tuple(zip(plugs, sockets, strict=True)))
    return orders


def default_order(layout: PlugStripLayout) -> tuple[tuple[str, str], ...]:
    """Plugs in name order into the first sockets."""
    return tuple(zip(layout.plugs, layout.sockets, strict=False))


def subgoals_of(order: Sequence[tuple[str, str]], layout: PlugStripLayout) -> list[PlugStripSubgoal]:
    """``grasp p, insert p s`` per pair, then ``done``.

    Raises:
        ConfigError: a pair names a plug or socket the layout lacks, or a plug or socket twice.
    """
    plugs = [p for p, _ in order]
    sockets = [s for _, s in order]
    unknown = [p for p in plugs if p not in layout.plugs] + [s for s in sockets if s not in layout.sockets]
    if unknown or len(set(plugs)) != len(plugs) or len(set(sockets)) != len(sockets):
        raise ConfigError(
            f"Order {list(order)} does not fit this layout (plugs {list(layout.plugs)}, sockets "
            f"{list(layout.sockets)}): name each present plug and socket at most once; see all_orders(layout)."
        )
    steps = [s for p, sock in order for s in (grasp(p), insert(p, sock))]
    return [*steps, DONE]


def parse_subgoal(text: str, layout: PlugStripLayout) -> PlugStripSubgoal:
    """``"insert plug_a socket_1"`` → that subgoal, if ``layout`` has its plug and socket; else :class:`ConfigError`
    listing the layout's vocabulary (a prompt naming an unknown subgoal is refused, never executed)."""
    known = {str(s): s for s in vocabulary(layout)}
    subgoal = known.get(" ".join(text.split()))
    if subgoal is None:
        raise ConfigError(f"{text!r} is not a subgoal of this strip; valid: {', '.join(known)}.")
    return subgoal
