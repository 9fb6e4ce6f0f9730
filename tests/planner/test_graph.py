"""Subgoals, the transition model and the features: unknown subgoals are refused, never executed."""

from __future__ import annotations

import numpy as np
import pytest
from planner_helpers import GRAPH, START

from failforward.planner.errors import UnknownSubgoalError
from failforward.planner.features import PathFeatures
from failforward.planner.graph import DONE, Step, Subgoal


@pytest.mark.parametrize("text", ["", "fly away", "grasp", "insert plug_a", "done now", "grasp a b"])
def test_malformed_subgoals_are_refused(text: str) -> None:
    with pytest.raises(UnknownSubgoalError):
        Subgoal.parse(text)


def test_subgoals_round_trip_as_prompts() -> None:
    for edge in GRAPH.vocabulary():
        assert Subgoal.parse(str(edge)) == edge


def test_a_plan_naming_an_unknown_object_or_an_impossible_step_is_refused() -> None:
    with pytest.raises(UnknownSubgoalError, match="valid: grasp plug_a"):
        GRAPH.check(Subgoal("grasp", ("plug_z",)))
    with pytest.raises(UnknownSubgoalError, match="not possible"):
        GRAPH.successor(START, Subgoal("insert", ("plug_a", "socket_0")))  # nothing is held yet


def test_transitions_follow_the_task() -> None:
    node = START
    for text in ("grasp plug_b", "insert plug_b socket_2", "grasp plug_a", "insert plug_a socket_0"):
        assert Subgoal.parse(text) in GRAPH.edges(node)
        node = GRAPH.successor(node, Subgoal.parse(text))
    assert GRAPH.complete(node) and GRAPH.edges(node) == [DONE]
    assert GRAPH.successor(node, DONE).terminal and GRAPH.edges(GRAPH.successor(node, DONE)) == []


def test_features_encode_relations_positions_and_the_path() -> None:
    features = PathFeatures(GRAPH, max_depth=4)
    edge = Subgoal("grasp", ("plug_a",))
    held = GRAPH.successor(START, edge)
    x0, x1 = features.encode(START, ()), features.encode(held, (Step(START, edge),))
    assert x0.shape == x1.shape == (features.size,) and x0.dtype == np.float32
    assert x1[0] == 1.0 and x0[0] == 0.0  # held(plug_a)
    assert np.count_nonzero(x1[-4 * len(GRAPH.vocabulary()) :]) == 1  # one step of path
    with pytest.raises(UnknownSubgoalError):
        features.encode(held, (Step(START, Subgoal("grasp", ("plug_z",))),))


def test_relation_features_are_displacements_between_the_scene_graphs_entities() -> None:
    plain, related = PathFeatures(GRAPH, max_depth=4), PathFeatures(GRAPH, max_depth=4, relations=True)
    x, extra = plain.encode(START, ()), related.encode(START, ())
    assert extra.shape == (related.size,) and related.size == plain.size + (2 * 3 + 2 * 2) * 3
    np.testing.assert_array_equal(extra[: plain.size], x)
    pairs = extra[plain.size :].reshape(-1, 3)  # (plug, socket) for plug_a, plug_b; then (arm, plug)
    np.testing.assert_allclose(pairs[1], [-0.1, 0.1, 0.01], atol=1e-6)  # socket_1 − plug_a
    assert not pairs[0].any() and not pairs[3:6].any()  # socket_0 and plug_b are not in the scene: zeros
    np.testing.assert_allclose(pairs[6], [0.4, 0.1, -0.18], atol=1e-6)  # plug_a − left gripper
    np.testing.assert_allclose(pairs[8], [-0.2, 0.1, -0.18], atol=1e-6)  # plug_a − right gripper
