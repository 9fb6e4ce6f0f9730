"""Planners by name (``planner.kind``): ``vine``, ``chain``, ``random`` (:mod:`failforward.config.planner`).

Example:
    >>> planner = make_planner(VinePlannerConfig(decision_model=..., value_model=...), graph)
"""

from __future__ import annotations

from collections.abc import Callable

from failforward.config.planner import ChainPlannerConfig, PlannerConfig, RandomPlannerConfig, VinePlannerConfig
from failforward.planner.base import Planner
from failforward.planner.greedy import chain_planner, random_planner
from failforward.planner.models import MlpDecision, MlpValue
from failforward.planner.search import VineSearch
from failforward.planner.task_graph import InsertionGraph
from failforward.registry import Registry

PLANNERS: Registry[Callable[..., Planner]] = Registry("planner")


@PLANNERS.register("vine")
def _vine(config: VinePlannerConfig, graph: InsertionGraph) -> Planner:
    return VineSearch(graph, MlpDecision.load(config.decision_model), MlpValue.load(config.value_model), config)


@PLANNERS.register("chain")
def _chain(config: ChainPlannerConfig, graph: InsertionGraph) -> Planner:
    return chain_planner(graph, MlpDecision.load(config.decision_model), config.max_depth)


@PLANNERS.register("random")
def _random(config: RandomPlannerConfig, graph: InsertionGraph) -> Planner:
    return random_planner(graph, config.seed, config.max_depth)


def make_planner(config: PlannerConfig, graph: InsertionGraph) -> Planner:
    """The planner ``config.kind`` names, for ``graph``'s task."""
    return PLANNERS.get(config.kind)(config, graph)
