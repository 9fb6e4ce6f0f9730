"""System 1's training data: recorded planning cycles cut an episode into subgoal segments, with done labels on the
successful ones and failed ones for the failure head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from failforward.errors import RecordingError
from failforward.learn.vine.system1 import segments_of, subgoal_segments
from failforward.record.reader import RecordedEpisode
from failforward.types import EpisodeOutcome

HZ = 50.0


def _episode(cycles: list[tuple[int, str, list[str]]], length: int, success: bool) -> RecordedEpisode:
    """A recorded episode of ``length`` ticks whose planning cycles ran at ``(tick, reason, subgoals)``; joint 0
    counts ticks so that windows can be checked."""
    t = np.arange(length) / HZ
    q = np.tile(np.arange(length, dtype=float)[:, None], (1, 2))
    plans = [(tick / HZ, {"tick": tick, "time": tick / HZ, "reason": r, "subgoals": s}) for tick, r, s in cycles]
    outcome = EpisodeOutcome(success=success, stage=0, reason="test")
    return RecordedEpisode(Path("x.mcap"), ("a", "b"), "insert the plugs", t, q, q * 0, q, q, plans=plans,
                           outcome=outcome)  # fmt: skip


def test_segments_follow_the_planning_cycles():
    episode = _episode(
        [(0, "start", ["grasp plug_a", "insert plug_a socket_0", "done"]),
         (40, "subgoal_done", ["insert plug_a socket_0", "done"]),
         (70, "deviation", ["grasp plug_a", "insert plug_a socket_0", "done"]),
         (100, "subgoal_done", ["insert plug_a socket_0", "done"]),
         (150, "subgoal_done", ["done"])],
        length=160, success=True,
    )  # fmt: skip
    got = [(s.subgoal, s.start, s.stop, s.reached) for s in segments_of(episode)]
    assert got == [
        ("grasp plug_a", 0, 40, 40),
        ("insert plug_a socket_0", 40, 70, None),  # the plug was let go: failed
        ("grasp plug_a", 70, 100, 100),
        ("insert plug_a socket_0", 100, 150, 150),
        ("done", 150, 160, 159),
    ]


def test_successful_segments_are_labelled_ended_from_the_successor_on():
    episode = _episode(
        [(0, "start", ["grasp plug_a", "insert plug_a socket_0", "done"]),
         (40, "subgoal_done", ["insert plug_a socket_0", "done"]),
         (70, "deviation", ["grasp plug_a", "insert plug_a socket_0", "done"])],
        length=120, success=False,
    )  # fmt: skip
    grasp, insert, again = subgoal_segments(episode, done_tail=10)
    assert (grasp.prompt, grasp.success, grasp.length) == ("grasp plug_a", True, 50)  # 40 ticks + 10 ended
    assert grasp.joint_positions[0, 0] == 0 and np.array_equal(grasp.done, (np.arange(50) >= 40).astype(float))
    assert (insert.prompt, insert.success) == ("insert plug_a socket_0", False) and np.isnan(insert.done).all()
    assert insert.joint_positions[0, 0] == 40 and insert.length == 30
    assert not again.success and again.length == 50  # the episode failed while it ran


def test_the_done_subgoal_is_not_trained():
    episode = _episode([(0, "start", ["done"])], length=20, success=True)
    assert subgoal_segments(episode) == []


def test_an_episode_without_a_planner_is_refused():
    with pytest.raises(RecordingError, match="planner"):
        segments_of(_episode([], length=20, success=True))
