"""System 2's learning: first-exit targets, and a value trained on success and failure tells a risky step from a safe
one where a success-only value cannot; the search with it avoids the risky step (VINE §4.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from planner_helpers import GRAPH, RISKY, START, takes_risk

from failforward.config.planner import VinePlannerConfig
from failforward.learn.vine.paths import ThoughtPath, value_examples
from failforward.learn.vine.train import ValueTrainConfig, train_decision, train_value
from failforward.planner.features import PathFeatures
from failforward.planner.graph import Step, Subgoal
from failforward.planner.greedy import random_planner
from failforward.planner.models import MlpDecision, MlpValue
from failforward.planner.search import VineSearch

torch.set_num_threads(1)
FEATURES = PathFeatures(GRAPH, max_depth=6)
FAST = ValueTrainConfig(steps=1500, hidden=32)


def simulate(seed: int) -> ThoughtPath:
    """A random order executed: the risky step fails 80 % of the time, any other insertion 3 %."""
    rng = np.random.default_rng(seed)
    node, steps = START, []
    for edge in random_planner(GRAPH, seed, 8).plan(START).subgoals:
        steps.append(Step(node, edge))
        risk = 0.8 if edge == RISKY and not node.related("inserted") else 0.03 if edge.kind == "insert" else 0.0
        if rng.random() < risk:
            return ThoughtPath(tuple(steps), success=False)
        node = GRAPH.successor(node, edge)
    return ThoughtPath(tuple(steps), success=True)


@pytest.fixture(scope="module")
def paths() -> list[ThoughtPath]:
    return [simulate(seed) for seed in range(400)]


def _after(*texts: str) -> tuple:
    node, history = START, ()
    for text in texts:
        edge = Subgoal.parse(text)
        history = (*history, Step(node, edge))
        node = GRAPH.successor(node, edge)
    return node, history


def test_first_exit_targets() -> None:
    failed = ThoughtPath((Step(START, Subgoal.parse("grasp plug_a")), Step(*_after("grasp plug_a")[:1], RISKY)), False)
    data = value_examples([failed], FEATURES)  # from the start: grasp (bootstrapped), the insertion; from the held node
    assert np.isnan(data.exit_target[0]) and list(data.exit_target[1:]) == [0.0, 0.0]
    assert list(data.next_index) == [1, -1, -1]
    node, history = _after("grasp plug_b", "insert plug_b socket_0", "grasp plug_a", "insert plug_a socket_1")
    done = ThoughtPath((*history, Step(node, Subgoal("done"))), True)
    data = value_examples([done], FEATURES)
    assert len(data.x) == 5 + 4 + 3 + 2 + 1  # every step from every root before it
    assert (data.exit_target[~np.isnan(data.exit_target)] == 1.0).all() and np.isnan(data.exit_target).sum() == 10


def test_examples_keep_the_planning_roots_positions() -> None:
    """The search predicts nodes from the observed root, with its positions: a step is encoded as seen from there, not
    as measured when the robot got to it (a plug in the air, a gripper over the socket)."""
    moved = type(START)(
        grippers={k: v + 0.1 for k, v in START.grippers.items()}, objects=START.objects, relations=START.relations
    )
    grasp, insert = Subgoal.parse("grasp plug_a"), Subgoal.parse("insert plug_a socket_0")
    held_as_measured = GRAPH.successor(moved, grasp)  # the held node as observed: the gripper elsewhere
    path = ThoughtPath((Step(START, grasp), Step(held_as_measured, insert)), False)
    data = value_examples([path], FEATURES)
    from_start = FEATURES.encode(GRAPH.successor(GRAPH.successor(START, grasp), insert), path.steps)
    from_held = FEATURES.encode(GRAPH.successor(held_as_measured, insert), path.steps)
    np.testing.assert_array_equal(data.x[1], from_start)  # the insertion as the first plan saw it
    np.testing.assert_array_equal(data.x[2], from_held)  # and as a replan from the held node sees it


def test_failure_data_separates_the_risky_step(paths: list[ThoughtPath], tmp_path: Path) -> None:
    assert 0.2 < np.mean([p.success for p in paths]) < 0.9  # the data is mixed
    full = train_value(paths, FEATURES, FAST, out=tmp_path / "value.npz")
    success_only = train_value([p for p in paths if p.success], FEATURES, FAST)
    risky, safe = _after("grasp plug_a", "insert plug_a socket_1"), _after("grasp plug_a", "insert plug_a socket_0")
    assert full(*risky) < 0.4 < 0.6 < full(*safe)
    assert success_only(*risky) > 0.6  # it has never seen the step fail
    loaded = MlpValue.load(tmp_path / "value.npz")
    assert loaded(*risky) == pytest.approx(full(*risky), abs=1e-6)


def test_search_with_the_learned_models_avoids_the_risky_step(paths: list[ThoughtPath], tmp_path: Path) -> None:
    decision = train_decision([p for p in paths if p.success], FEATURES, FAST, out=tmp_path / "decision.npz")
    value = train_value(paths, FEATURES, FAST, out=tmp_path / "value.npz")
    config = VinePlannerConfig(decision_model=tmp_path / "decision.npz", value_model=tmp_path / "value.npz")
    plan = VineSearch(GRAPH, MlpDecision.load(config.decision_model), MlpValue.load(config.value_model), config)
    chosen = plan.plan(START)
    assert not takes_risk(chosen.subgoals) and chosen.subgoals[-1].kind == "done"
    assert decision.propose(START, (), GRAPH.edges(START))  # priors exist for every possible edge
    assert value(*_after(*(str(s) for s in chosen.subgoals[:-1]))) > 0.5


def test_a_model_with_relation_features_loads_with_them(paths: list[ThoughtPath], tmp_path: Path) -> None:
    features = PathFeatures(GRAPH, max_depth=6, relations=True)
    value = train_value(paths[:50], features, ValueTrainConfig(steps=10, hidden=8), out=tmp_path / "value.npz")
    loaded = MlpValue.load(tmp_path / "value.npz")
    assert loaded.features == features
    risky = _after("grasp plug_a", "insert plug_a socket_1")
    assert loaded(*risky) == pytest.approx(value(*risky), abs=1e-6)
