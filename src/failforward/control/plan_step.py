"""The loop's planning step (VINE): System 2's plan, and its current subgoal as System 1's prompt.

When a run has a planner, every tick's observation (after perception) passes :class:`PlanStep` before recovery and
the policy: it turns the observation into a scene graph (``observe_node``, e.g. an
:class:`~failforward.planner.abstraction.InsertionAbstraction` over the perceived poses) and keeps a plan. It plans
on the episode's first tick and replans from the current node:

- ``subgoal_done``: the scene graph shows the current subgoal's successor (subgoals are verifiable);
- ``deviation``: the scene graph changed to something the subgoal does not lead to (a plug dropped), and stayed so
  for ``settle_ticks`` ticks (a plug released a moment before it seats is not a deviation);
- ``diagnosis``: the supervisor diagnosed a failure;
- with ``end_of_edge="done_head"`` a subgoal ends when System 1's done head says so (:meth:`PlanStep.note_done`, a
  chunk's ``done`` at or above the threshold), not when the scene shows it: a shown successor waits for it, and a done
  head firing before the scene shows the successor replans from the observed node (``end_of_edge``).

A new subgoal voids the queued chunk (the loop flushes its broker). Each planning cycle goes to ``on_plan``
(recorder: ``/planner/plan``; ROS: the plan and tree topics). A scene graph that cannot be computed (an object not
found) is returned as the :class:`NodeUnavailableError` the loop holds on; a plan whose first subgoal is unknown is
refused by the task graph before it becomes a prompt.

Example:
    >>> step = PlanStep(PlugStripPlanning(layout_for, ik), lambda graph: make_planner(config, graph))
    >>> step.reset(seed)                                          # after the robot's reset: this episode's graph
    >>> prompt = step.prompt_for(observation, report, tick)     # "grasp plug_a", or the error to hold on
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from failforward.config import RunConfig, SimAlohaConfig
from failforward.config.planner import EndOfEdge
from failforward.errors import ConfigError
from failforward.planner.base import Planner
from failforward.planner.errors import NodeUnavailableError, PlannerError
from failforward.planner.graph import SceneNode, Step, Subgoal
from failforward.planner.plan import Plan
from failforward.planner.registry import make_planner
from failforward.planner.task_graph import InsertionGraph
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import Observation

logger = logging.getLogger(__name__)


class PlanningTask(Protocol):
    """A task as System 2 sees it: this episode's thought graph, and ``φ(observation) → SceneNode``."""

    def reset(self, seed: int) -> None:
        """A new episode (its layout)."""
        ...

    def graph(self) -> InsertionGraph:
        """The current episode's transition model (its plugs and sockets)."""
        ...

    def node(self, observation: Observation) -> SceneNode:
        """The scene graph of ``observation``; :class:`NodeUnavailableError` when it cannot be computed."""
        ...


@dataclass(frozen=True)
class PlanCycle:
    """One planning cycle: at ``tick`` (observation ``time`` [s]) for ``reason``, from ``node``, the ``plan``."""

    tick: int
    time: float
    reason: str
    node: SceneNode
    plan: Plan

    def to_dict(self) -> dict[str, Any]:
        return {"tick": self.tick, "time": self.time, "reason": self.reason, "node": self.node.describe(),
                **self.plan.to_dict()}  # fmt: skip


class PlanStep:
    """Keeps the plan of one episode (see the module docstring).

    Args:
        task: the episode's thought graph (checks every subgoal before it becomes a prompt) and ``φ``.
        make_planner: System 2 for a graph (built at every episode start: layouts differ between episodes).
        on_plan: called with every planning cycle.
        settle_ticks: ticks a deviation must last before it triggers a replan.
        end_of_edge: what ends a subgoal: ``scene`` (its successor is observed) or ``done_head`` (System 1 says so).
        done_threshold: the done head's probability that counts as an end of edge.
    """

    def __init__(
        self,
        task: PlanningTask,
        make_planner: Callable[[InsertionGraph], Planner],
        on_plan: Callable[[PlanCycle], None] | None = None,
        settle_ticks: int = 10,
        end_of_edge: EndOfEdge = "scene",
        done_threshold: float = 0.5,
    ) -> None:
        if end_of_edge not in ("scene", "done_head"):
            raise ConfigError(f"end_of_edge must be 'scene' or 'done_head', got {end_of_edge!r}.")
        self.task, self.make_planner, self.on_plan, self.settle_ticks = task, make_planner, on_plan, settle_ticks
        self.end_of_edge, self.done_threshold = end_of_edge, done_threshold
        self.graph: InsertionGraph | None = None
        self.planner: Planner | None = None
        self._clear()

    def reset(self, seed: int) -> None:
        """A new episode ``seed`` (after the robot's reset): its graph and planner, no plan, no history."""
        self.task.reset(seed)
        self.graph = self.task.graph()
        self.planner = self.make_planner(self.graph)
        self._clear()

    def _clear(self) -> None:
        self.history: tuple[Step, ...] = ()
        self.cycles: list[PlanCycle] = []
        self._from: SceneNode | None = None  # node the current subgoal started from
        self._subgoal: Subgoal | None = None
        self.changed = False
        self._lost_streak = 0
        self._lost_ticks = 0
        self._deviated: tuple[frozenset, int] | None = None  # relations seen off the plan, and for how many ticks
        self._ended = False  # System 1's done head said the current subgoal ended (read on the next tick)
        self._done_signals = 0

    @property
    def subgoal(self) -> Subgoal | None:
        """The subgoal System 1 executes now (``None`` before the first plan, or when nothing is left)."""
        return self._subgoal

    def prompt_for(
        self, observation: Observation, report: SupervisorReport | None, tick: int
    ) -> str | NodeUnavailableError:
        """This tick's prompt (the current subgoal's text), or the error the loop holds on. ``changed`` tells
        whether the subgoal changed on this tick."""
        self.changed = False
        try:
            node = self.task.node(observation)
        except NodeUnavailableError as exc:
            self._lost_streak += 1
            self._lost_ticks += 1
            return exc
        self._lost_streak = 0
        reason = self._replan_reason(node, report)
        if reason is not None:
            self._replan(node, reason, tick, observation.timestamp)
        return "" if self._subgoal is None else str(self._subgoal)

    def note_done(self, probability: float) -> None:
        """System 1's done head on the chunk that took over this tick: ``probability`` that the current subgoal
        ended. At or above the threshold it ends the subgoal on the next tick (``end_of_edge="done_head"``); either
        way it is counted."""
        if probability >= self.done_threshold and self._subgoal is not None:
            self._done_signals += 1
            self._ended = self.end_of_edge == "done_head"

    @property
    def first_lost_tick(self) -> bool:
        """Whether the scene graph was lost on this tick after being known on the previous one."""
        return self._lost_streak == 1

    def summary(self) -> dict[str, float]:
        """Planning cycles (in all and per reason), ticks held without a scene graph, chunks whose done head said the
        subgoal ended (``done_signals``), planning time [s] (max, total) and cycles that ran out of budget."""
        seconds = [c.plan.seconds for c in self.cycles]
        out = {"plans": float(len(self.cycles)), "lost_node_ticks": float(self._lost_ticks),
               "done_signals": float(self._done_signals)}  # fmt: skip
        for cycle in self.cycles:
            out[f"plans_{cycle.reason}"] = out.get(f"plans_{cycle.reason}", 0.0) + 1.0
        out["plan_seconds_max"] = max(seconds, default=0.0)
        out["plan_seconds_total"] = float(sum(seconds))
        out["plans_timed_out"] = float(sum(c.plan.timed_out for c in self.cycles))
        return out

    def _replan_reason(self, node: SceneNode, report: SupervisorReport | None) -> str | None:
        if self._from is None:
            return "start"
        if isinstance(report, SupervisorReport) and isinstance(report.result, Diagnosis) and not report.result.success:
            return "diagnosis"
        if self._subgoal is None or self._subgoal.kind == "done" or self.graph is None:
            return None
        ended, self._ended = self._ended, False
        expected = self.graph.successor(self._from, self._subgoal)
        if expected.relations <= node.relations:
            if self.end_of_edge == "done_head" and not ended:
                self._deviated = None  # reached, System 1 not done yet: no deviation
                return None
            self.history = (*self.history, Step(self._from, self._subgoal))
            return "subgoal_done"
        if ended:
            return "end_of_edge"
        if node.relations == self._from.relations:
            self._deviated = None
            return None
        seen, ticks = self._deviated if self._deviated is not None else (node.relations, 0)
        self._deviated = (node.relations, ticks + 1 if seen == node.relations else 1)
        return "deviation" if self._deviated[1] >= self.settle_ticks else None

    def _replan(self, node: SceneNode, reason: str, tick: int, time: float) -> None:
        if self.graph is None or self.planner is None:
            raise PlannerError("PlanStep.reset(seed) must run at the episode's start (the loop does).")
        plan = self.planner.plan(node, self.history)
        first = plan.next_subgoal
        if first is not None:
            self.graph.check(first)
        cycle = PlanCycle(tick, time, reason, node, plan)
        self.cycles.append(cycle)
        logger.info("Plan (%s) at tick %d from %s: %s", reason, tick, node.describe(),
                    " → ".join(str(s) for s in plan.subgoals) or "nothing possible")  # fmt: skip
        self.changed = first != self._subgoal
        self._from, self._subgoal, self._deviated = node, first, None
        if self.on_plan is not None:
            self.on_plan(cycle)


def build_planning(config: RunConfig, on_plan: Callable[[PlanCycle], None] | None = None) -> PlanStep | None:
    """The planning step of ``config.planner`` (``None`` without a planner). ``RunConfig`` has already refused
    planners for tasks without a thought graph; the plug strip's layout of an episode is drawn from its seed and the
    robot's split, as the simulator draws it (the same in-process and in the ROS policy node)."""
    if config.planner is None:
        return None
    if not isinstance(config.robot, SimAlohaConfig):
        raise ConfigError("planner needs the simulated ALOHA's plug_strip task (its layout and kinematics).")
    # imported here: the arms' kinematics need mink and MuJoCo (the sim extra), which a robot PC may not have
    from failforward.kinematics.aloha_ik import AlohaIK
    from failforward.planner.plug_strip import PlugStripPlanning
    from failforward.sim.plug_strip_layout import sample_layout
    from failforward.sim.tasks import get_task

    split = config.robot.split
    task = PlugStripPlanning(lambda seed: sample_layout(seed, split), AlohaIK(get_task("plug_strip", split).xml_path))
    planner_config = config.planner
    return PlanStep(
        task,
        lambda graph: make_planner(planner_config, graph),
        on_plan=on_plan,
        end_of_edge=planner_config.end_of_edge,
        done_threshold=planner_config.done_threshold,
    )
