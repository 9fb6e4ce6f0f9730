"""System-2 planner configs (VINE): the tree search, and the two baselines of the paper's Table 1 protocol.

``kind`` chooses the planner from :data:`failforward.planner.registry.PLANNERS`:
- ``vine``: MCTS-style search over subgoals with learned priors and a learned value (VINE §4.2);
- ``chain``: follow the decision model's top prior at every node, no value (VINE-Chain);
- ``random``: a uniformly random possible subgoal at every node (the random-order baseline).

Every planner also says what ends a subgoal (:class:`SubgoalEnd`): the scene graph showing its successor, or System
1's done head (VINE's end of edge).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from failforward.config.base import FrozenModel

EndOfEdge = Literal["scene", "done_head"]
"""What ends a subgoal: its successor observed in the scene graph, or System 1's done head (see :class:`SubgoalEnd`)."""


class SubgoalEnd(FrozenModel):
    """What ends the current subgoal (the fields every planner config shares).

    Attributes:
        end_of_edge: ``scene``: the subgoal ends when the scene graph shows its successor (subgoals are verifiable);
            ``done_head``: when System 1's done head says so (a chunk's ``done`` ≥ ``done_threshold``, VINE §4.3);
            the scene graph then tells whether it reached the successor (the plan goes on) or not (replan from the
            observed node, reason ``end_of_edge``). Needs a policy with a done head.
        done_threshold: probability at which the done head's end of edge counts.
    """

    end_of_edge: EndOfEdge = "scene"
    done_threshold: float = Field(0.5, gt=0.0, lt=1.0)


class VinePlannerConfig(SubgoalEnd):
    """The tree search: per iteration the top-``top_m`` leaves by Q each expand their top-``top_b`` edges by
    ``s = α·Q + (1 − α)·P̃`` among the ``top_k`` the decision model proposes; leaves are evaluated by the value model.

    Attributes:
        decision_model: ``.npz`` of the decision model (priors over subgoals).
        value_model: ``.npz`` of the value model (success probability of a reasoning state).
        alpha: α, the weight of Q against the min-max normalized prior when ranking edges.
        top_m: M, leaves expanded per iteration.
        top_b: B, edges expanded per leaf.
        top_k: K, candidate edges proposed per node.
        max_iterations: iterations at most.
        budget_s: [s] wall-clock budget; on expiry the best plan so far is returned (``Plan.timed_out``).
        max_depth: thought steps at most in a path.
        leaf_value: ``path_min`` scores a leaf by the smallest value along its path (a plan is as safe as its riskiest
            step; our reading, since hypothetical successors never fail), ``leaf`` by the leaf's own value (the
            paper's literal rule).
    """

    kind: Literal["vine"] = "vine"
    decision_model: Path
    value_model: Path
    alpha: float = Field(0.5, ge=0.0, le=1.0)
    top_m: int = Field(2, ge=1)
    top_b: int = Field(2, ge=1)
    top_k: int = Field(4, ge=1)
    max_iterations: int = Field(64, ge=1)
    budget_s: float = Field(0.5, gt=0.0)
    max_depth: int = Field(8, ge=1)
    leaf_value: Literal["path_min", "leaf"] = "path_min"


class ChainPlannerConfig(SubgoalEnd):
    """VINE-Chain: the top prior at every node, no value, no search."""

    kind: Literal["chain"] = "chain"
    decision_model: Path
    max_depth: int = Field(8, ge=1)


class RandomPlannerConfig(SubgoalEnd):
    """A uniformly random possible subgoal at every node; ``seed`` (with the plan's node) fixes the draw."""

    kind: Literal["random"] = "random"
    seed: int = 0
    max_depth: int = Field(8, ge=1)


PlannerConfig = Annotated[VinePlannerConfig | ChainPlannerConfig | RandomPlannerConfig, Field(discriminator="kind")]
