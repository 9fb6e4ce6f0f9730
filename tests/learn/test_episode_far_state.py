"""EpisodeArrays.before_far_state: cutting an episode where its state leaves the normalization."""

from __future__ import annotations

import numpy as np

from failforward.learn.episodes import EpisodeArrays


def _episode(joints: np.ndarray, objects: np.ndarray) -> EpisodeArrays:
    return EpisodeArrays(joints, joints.copy(), "lift the peg", True, object_state=objects)


def test_the_episode_ends_before_its_first_far_state_in_any_dimension() -> None:
    joints = np.zeros((6, 2))
    objects = np.zeros((6, 7))
    objects[4, 5] = 6.0  # an object dimension 6 σ out at tick 4
    joints[5, 0] = 9.0
    cut = _episode(joints, objects).before_far_state(np.zeros(9), np.ones(9), max_z=5.0)
    assert cut.length == 4
    np.testing.assert_array_equal(cut.object_state, objects[:4])


def test_an_episode_within_the_bound_is_whole_and_one_far_from_the_start_keeps_a_tick() -> None:
    near = _episode(np.full((5, 2), 4.9), np.zeros((5, 7)))
    assert near.before_far_state(np.zeros(9), np.ones(9), max_z=5.0).length == 5
    std = np.full(9, 0.5)  # the same states are 9.8 σ out with a narrower spread
    assert near.before_far_state(np.zeros(9), std, max_z=5.0).length == 1
