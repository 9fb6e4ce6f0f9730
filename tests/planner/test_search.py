"""The tree search: it avoids a risky step its priors prefer, stays within its budget, and its tree is consistent."""

from __future__ import annotations

from itertools import count
from pathlib import Path

import pytest
from planner_helpers import GRAPH, RISKY, START, PreferRisky, risky_value, takes_risk

from failforward.config.planner import VinePlannerConfig
from failforward.planner.greedy import chain_planner, random_planner
from failforward.planner.search import VineSearch, min_max

CONFIG = VinePlannerConfig(decision_model=Path("unused.npz"), value_model=Path("unused.npz"), top_k=6, top_b=3)


def _valid(subgoals) -> bool:
    node = START
    for edge in subgoals:
        node = GRAPH.successor(node, edge)  # raises on an impossible step
    return True


def test_chain_follows_the_prior_into_the_risky_step() -> None:
    plan = chain_planner(GRAPH, PreferRisky(), max_depth=8).plan(START)
    assert takes_risk(plan.subgoals) and _valid(plan.subgoals)
    assert [str(s) for s in plan.subgoals][:2] == ["grasp plug_a", "insert plug_a socket_1"]


def test_search_completes_the_task_and_avoids_the_risky_step() -> None:
    plan = VineSearch(GRAPH, PreferRisky(), risky_value, CONFIG).plan(START)
    assert _valid(plan.subgoals) and plan.subgoals[-1].kind == "done"
    assert not takes_risk(plan.subgoals) and plan.value == pytest.approx(0.9)
    assert not plan.timed_out and plan.iterations >= 5


def test_leaf_rule_is_fooled_by_hypothetical_successes_path_min_is_not() -> None:
    """Exhaustive search: past the risky step the value only says the path survived, so under the paper's literal
    rule a plan through it scores as high as a safe one; the path's smallest value keeps it low."""
    exhaustive = CONFIG.model_copy(update={"top_m": 1000})
    leaf = VineSearch(GRAPH, PreferRisky(), risky_value, exhaustive.model_copy(update={"leaf_value": "leaf"}))
    tree = leaf.plan(START).tree
    parents = {e.id: e for e in tree}

    def through_risky(entry) -> bool:
        while entry.parent >= 0:
            if entry.edge == RISKY:
                return True
            entry = parents[entry.parent]
        return False

    done = [e for e in tree if e.node.terminal]
    assert any(through_risky(e) and e.v == 1.0 for e in done) and any(not through_risky(e) for e in done)
    plan = VineSearch(GRAPH, PreferRisky(), risky_value, exhaustive).plan(START)
    assert not takes_risk(plan.subgoals) and plan.subgoals[-1].kind == "done" and plan.value == pytest.approx(0.9)


def test_tree_statistics_are_consistent() -> None:
    plan = VineSearch(GRAPH, PreferRisky(), risky_value, CONFIG).plan(START)
    by_id = {e.id: e for e in plan.tree}
    root = by_id[0]
    assert root.visits == len(plan.tree)  # every evaluation backpropagates through the root once
    for entry in plan.tree:
        children = [c for c in plan.tree if c.parent == entry.id]
        assert entry.visits == 1 + sum(c.visits for c in children)
        assert 0.0 <= entry.q <= 1.0 and 0.0 <= entry.prior <= 1.0
    assert list(plan.path) == [0, *[e for e in plan.path[1:]]] and by_id[plan.path[-1]].v is not None


def test_a_search_past_its_budget_returns_the_best_plan_so_far() -> None:
    ticks = count()
    clock = lambda: next(ticks) * 0.1  # noqa: E731 - every clock read advances 0.1 s
    config = CONFIG.model_copy(update={"budget_s": 0.25, "max_iterations": 1000})
    plan = VineSearch(GRAPH, PreferRisky(), risky_value, config, clock=clock).plan(START)
    assert plan.timed_out and 1 <= plan.iterations < 10
    assert plan.subgoals and _valid(plan.subgoals)


def test_the_iteration_limit_bounds_the_tree() -> None:
    one = VineSearch(GRAPH, PreferRisky(), risky_value, CONFIG.model_copy(update={"max_iterations": 1})).plan(START)
    assert one.iterations == 1 and len(one.tree) == 1 + 2  # the root and its two grasps (top_b=3, 2 possible)


def test_random_order_is_valid_and_reproducible() -> None:
    plans = [random_planner(GRAPH, seed, 8).plan(START) for seed in range(12)]
    assert all(_valid(p.subgoals) and p.subgoals[-1].kind == "done" for p in plans)
    assert random_planner(GRAPH, 3, 8).plan(START).subgoals == plans[3].subgoals
    assert len({p.subgoals for p in plans}) > 3


def test_min_max() -> None:
    assert min_max([2.0, 4.0, 3.0]) == [0.0, 1.0, 0.5] and min_max([1.0, 1.0]) == [1.0, 1.0]
