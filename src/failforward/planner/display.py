"""The searched tree laid out for a 3-D viewer (RViz, Foxglove): where each node goes, its colour and label.

The tree stands in a vertical plane of the ``world`` frame behind the table: depth (thought steps) runs along +x from
``origin``, leaves are spread along +z in depth-first order, and an internal node sits at the mean height of its
children. Colour runs from red (value 0) to green (value 1), using a node's own ``V`` where it was evaluated, else its
mean ``Q``; the chosen path is drawn larger and labelled. The ROS nodes turn a :class:`TreeDisplay` into a
``visualization_msgs/MarkerArray`` (``failforward_ros.convert.plan_tree_msg``).

Example:
    >>> display = tree_display(plan)
    >>> [n.label for n in display.nodes if n.on_path]
    ['start', 'grasp plug_a  V=0.90', ...]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from failforward.planner.plan import Plan, TreeEntry

ORIGIN = (-0.4, 1.05, 0.35)  # [m] world: the root's position, behind the table and above it
STEP_M, ROW_M = 0.16, 0.05  # [m] between depths, between leaf rows


@dataclass(frozen=True)
class DisplayNode:
    """One tree node: ``id``, ``position [3]`` [m] in ``frame``, ``rgb`` in [0, 1], ``label``, ``on_path``."""

    id: int
    position: tuple[float, float, float]
    rgb: tuple[float, float, float]
    label: str
    on_path: bool


@dataclass(frozen=True)
class TreeDisplay:
    """Nodes, edges ``(parent id, child id)`` and the frame they are drawn in."""

    nodes: tuple[DisplayNode, ...]
    edges: tuple[tuple[int, int], ...]
    frame: str = "world"


def value_rgb(value: float) -> tuple[float, float, float]:
    """0 → red, 0.5 → yellow, 1 → green."""
    v = float(np.clip(value, 0.0, 1.0))
    return (min(1.0, 2.0 * (1.0 - v)), min(1.0, 2.0 * v), 0.1)


def tree_display(plan: Plan, origin: tuple[float, float, float] = ORIGIN) -> TreeDisplay:
    """Lay out ``plan.tree`` (see the module docstring); an empty tree gives an empty display."""
    if not plan.tree:
        return TreeDisplay((), ())
    children: dict[int, list[int]] = {}
    for entry in plan.tree:
        if entry.parent >= 0:
            children.setdefault(entry.parent, []).append(entry.id)
    rows = _rows(plan.tree[0].id, children)
    on_path = set(plan.path)
    nodes = tuple(
        _node(entry, _depth(entry, plan.tree), rows[entry.id], entry.id in on_path, origin) for entry in plan.tree
    )
    edges = tuple((entry.parent, entry.id) for entry in plan.tree if entry.parent >= 0)
    return TreeDisplay(nodes, edges)


def _rows(root: int, children: dict[int, list[int]]) -> dict[int, float]:
    """Leaf rows 0, 1, 2, … in depth-first order; an internal node at the mean of its children's rows."""
    rows: dict[int, float] = {}
    next_row = 0

    def visit(node: int) -> float:
        nonlocal next_row
        kids = children.get(node, [])
        if not kids:
            rows[node], next_row = float(next_row), next_row + 1
        else:
            rows[node] = float(np.mean([visit(k) for k in kids]))
        return rows[node]

    visit(root)
    return rows


def _depth(entry: TreeEntry, tree: tuple[TreeEntry, ...]) -> int:
    by_id, depth = {e.id: e for e in tree}, 0
    while entry.parent >= 0:
        entry, depth = by_id[entry.parent], depth + 1
    return depth


def _node(entry: TreeEntry, depth: int, row: float, on_path: bool, origin: tuple[float, float, float]) -> DisplayNode:
    value = entry.v if entry.v is not None else entry.q
    label = "start" if entry.edge is None else f"{entry.edge}  V={value:.2f}"
    x, y, z = origin
    return DisplayNode(entry.id, (x + depth * STEP_M, y, z - row * ROW_M), value_rgb(value), label, on_path)
