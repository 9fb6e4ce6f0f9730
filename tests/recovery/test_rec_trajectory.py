"""Min-jerk joint trajectories stay within their speed limits and end exactly on the waypoints."""

from __future__ import annotations

import numpy as np
import pytest

from failforward.errors import ShapeError
from failforward.recovery.trajectory import MIN_JERK_PEAK, min_jerk_segment, through_waypoints

DT = 0.02  # [s]


@pytest.mark.parametrize("seed", range(5))
def test_segments_respect_per_joint_speed_and_end_on_the_goal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    start, goal = rng.uniform(-1, 1, 14), rng.uniform(-1, 1, 14)
    limit = rng.uniform(0.5, 3.0, 14)
    rows = min_jerk_segment(start, goal, limit, DT)
    steps = np.diff(np.vstack([start, rows]), axis=0)
    assert np.all(np.abs(steps) <= limit * DT + 1e-12)
    np.testing.assert_allclose(rows[-1], goal)
    slowest = np.max(MIN_JERK_PEAK * np.abs(goal - start) / limit)
    assert len(rows) == pytest.approx(slowest / DT, abs=1.0)  # no slower than needed


def test_waypoints_are_visited_in_order_then_held() -> None:
    a, b = np.ones(3), np.array([0.0, 2.0, 1.0])
    rows = through_waypoints(np.zeros(3), [a, b], np.full(3, 1.0), DT, settle_ticks=7)
    assert any(np.allclose(row, a) for row in rows)
    np.testing.assert_allclose(rows[-8:], np.tile(b, (8, 1)))


def test_a_zero_move_is_one_row_and_bad_limits_are_refused() -> None:
    assert min_jerk_segment(np.ones(2), np.ones(2), np.ones(2), DT).shape == (1, 2)
    with pytest.raises(ShapeError):
        min_jerk_segment(np.zeros(2), np.ones(2), np.zeros(2), DT)
    with pytest.raises(ShapeError):
        min_jerk_segment(np.zeros(2), np.ones(3), np.ones(2), DT)
