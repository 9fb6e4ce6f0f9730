"""Subgoal segmentation of a recorded episode (VINE §3: "a temporal heuristic based on gripper open and close"):
per-tick measurements in, a :class:`ThoughtPath` out.

Boundaries are the ticks where a gripper closes or opens (with hysteresis), taken ``settle`` ticks later so that the
scene has settled, plus the first tick and, for a successful episode, the last. The scene graph
(:class:`InsertionAbstraction`) at each boundary is compared with the one before: a plug newly held is ``grasp p``; a
plug newly inserted is ``insert p s`` (preceded by ``grasp p`` if it was never seen held). A held plug let go outside
any socket is the path's first exit: it ends there, failed, with the subgoal being executed when the gripper opened
(whatever a retry did later: by the settled boundary the runtime may already execute a retry's ``grasp``, which is not
even possible from the node that held the plug; charging the failure to it would teach the value that grasping fails,
never that the socket did). A successful episode ends with ``done``; a failed one with the subgoal attempted from its
last boundary (the failure happened during it): ``attempted`` when the recording names it (the runtime's current
subgoal), else inferred: the held plug into the free socket nearest to it, or, with nothing held, grasping the loose
plug nearest to a gripper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from failforward.learn.vine.paths import ThoughtPath
from failforward.planner.abstraction import InsertionAbstraction
from failforward.planner.graph import DONE, SceneNode, Step, Subgoal
from failforward.planner.task_graph import HELD, INSERTED, InsertionGraph

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EpisodeTrack:
    """Per-tick measurements of one episode, world frame.

    Attributes:
        arms: arm names, in column order.
        openings: ``[T, R]`` gripper openings (0 closed … 1 open).
        tools: ``[T, R, 3]`` tool positions [m].
        objects: object name → ``[T, 3]`` positions [m] (plugs, and sockets' mouths).
    """

    arms: tuple[str, ...]
    openings: np.ndarray
    tools: np.ndarray
    objects: dict[str, np.ndarray]

    def node(self, abstraction: InsertionAbstraction, t: int) -> SceneNode:
        grippers = {arm: self.tools[t, i] for i, arm in enumerate(self.arms)}
        openings = {arm: float(self.openings[t, i]) for i, arm in enumerate(self.arms)}
        return abstraction.node(grippers, openings, {name: xyz[t] for name, xyz in self.objects.items()})


def gripper_events(openings: np.ndarray, close_below: float = 0.4, open_above: float = 0.6) -> list[int]:
    """Ticks where a gripper of ``openings [T, R]`` closes (falls below ``close_below``) or opens (rises above
    ``open_above``), sorted; hysteresis between the two thresholds."""
    events: set[int] = set()
    for column in np.asarray(openings, dtype=np.float64).T:
        closed = bool(column[0] < close_below)
        for t, value in enumerate(column):
            if (not closed and value < close_below) or (closed and value > open_above):
                closed = not closed
                events.add(t)
    return sorted(events)


def segment(
    track: EpisodeTrack,
    abstraction: InsertionAbstraction,
    success: bool,
    attempted: Subgoal | None = None,
    settle: int = 10,
) -> ThoughtPath:
    """The episode's thought path (see the module docstring)."""
    return segment_nodes(
        lambda t: track.node(abstraction, t), track.openings, abstraction.graph, success, attempted, settle
    )


def segment_nodes(
    node_at: Callable[[int], SceneNode],
    openings: np.ndarray,
    graph: InsertionGraph,
    success: bool,
    attempted: Subgoal | None = None,
    settle: int = 10,
    attempted_at: Callable[[int], Subgoal | None] | None = None,
) -> ThoughtPath:
    """:func:`segment` for any abstraction: ``node_at(t)`` is the scene graph at tick ``t``, ``openings [T, R]``;
    ``attempted_at(t)``: the subgoal being executed at tick ``t`` when the recording says (else inferred)."""
    last = len(openings) - 1
    event_at = {min(t + settle, last): t for t in reversed(gripper_events(openings))}  # boundary → its first event
    boundaries = sorted({0, *event_at, *([last] if success else [])})
    current, steps = node_at(0), []
    for t in boundaries[1:]:
        observed = node_at(t)
        if _dropped(current, observed):  # a held plug let go outside any socket: the path's first exit
            edge = _failed_subgoal(current, graph, [event_at.get(t, t), t], attempted_at)
            if edge is not None:
                steps.append(Step(current, edge))
            return ThoughtPath(tuple(steps), False, graph)
        for edge in _edges_between(current, observed):
            if edge not in graph.edges(current):
                logger.warning("Skipping %s at tick %d: not possible from %s.", edge, t, current.describe())
                continue
            steps.append(Step(current, edge))
            current = graph.successor(current, edge)
        current = observed
    if success:
        if attempted is not None and attempted.kind != "done" and attempted in graph.edges(current):
            steps.append(Step(current, attempted))  # it completed on the very tick the episode ended
            current = graph.successor(current, attempted)
        final: Subgoal | None = DONE
    else:
        final = attempted or _attempted(current, graph)
    if final is not None and final in graph.edges(current):
        steps.append(Step(current, final))
    return ThoughtPath(tuple(steps), success, graph)


def _failed_subgoal(
    node: SceneNode,
    graph: InsertionGraph,
    ticks: list[int],
    attempted_at: Callable[[int], Subgoal | None] | None,
) -> Subgoal | None:
    """The subgoal that failed from ``node``: the first one the recording names at ``ticks`` that is possible from
    ``node``, else the one inferred from the scene."""
    possible = graph.edges(node)
    named = [attempted_at(t) for t in ticks] if attempted_at else []
    return next((e for e in named if e is not None and e in possible), None) or _attempted(node, graph)


def _dropped(before: SceneNode, after: SceneNode) -> bool:
    inserted = {r.subject for r in after.related(INSERTED)}
    held = {r.subject for r in after.related(HELD)}
    return any(r.subject not in inserted and r.subject not in held for r in before.related(HELD))


def _edges_between(before: SceneNode, after: SceneNode) -> list[Subgoal]:
    edges = []
    was_held = {r.subject for r in before.related(HELD)}
    was_inserted = {r.subject for r in before.related(INSERTED)}
    for relation in after.related(INSERTED):
        if relation.subject not in was_inserted:
            if relation.subject not in was_held:
                edges.append(Subgoal("grasp", (relation.subject,)))
            edges.append(Subgoal("insert", (relation.subject, relation.target)))
    for relation in after.related(HELD):
        if relation.subject not in was_held:
            edges.append(Subgoal("grasp", (relation.subject,)))
    return edges


def _attempted(node: SceneNode, graph: InsertionGraph) -> Subgoal | None:
    possible = graph.edges(node)
    if not possible:
        return None
    held = node.related(HELD)
    if held:
        plug = node.objects[held[0].subject]
        return min(possible, key=lambda e: float(np.linalg.norm(node.objects[e.args[1]][:2] - plug[:2])))
    tools = list(node.grippers.values())
    if not tools:
        return possible[0]
    return min(possible, key=lambda e: min(float(np.linalg.norm(node.objects[e.args[0]] - t)) for t in tools))
