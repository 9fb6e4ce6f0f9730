"""The bridge's command and episode bookkeeping without DDS: each stamp acted on once, episodes named."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("failforward_ros.bridge_core", reason="the ROS package is not installed")
from failforward_ros.bridge_core import BridgeCore

import failforward.testing  # noqa: F401  (registers the fake robot)
from failforward.config import RunConfig
from failforward.config.robots import FakeRobotConfig


@pytest.fixture
def core():
    bridge = BridgeCore(RunConfig(robot=FakeRobotConfig(joint_names=("a", "b")), seed=7))
    bridge.start()
    yield bridge
    bridge.stop()


def test_a_repeated_command_is_answered_with_what_was_sent_and_not_sent_again(core) -> None:
    target = core.observe().joint_positions + 0.01
    first = core.command(target, 10.0)
    t_after_first = core.driver.privileged_state().time
    again = core.command(target + 0.5, 10.0)  # the same stamp: a resend, whatever it carries
    assert again.repeated and again.sent is not None and again.sent.timestamp == 10.0
    np.testing.assert_array_equal(again.sent.positions, first.sent.positions)
    assert core.driver.privileged_state().time == t_after_first  # the simulator did not step again
    stale = core.command(target, 9.0)
    assert stale.sent is None and "stale or replayed" in stale.rejected_reason and core.commands_rejected == 1


def test_every_reset_names_a_new_episode_and_the_graph_clock_never_goes_back(core) -> None:
    activated = core.episode
    assert activated is not None and activated.seed == 7
    observation = core.observe()
    core.command(observation.joint_positions, observation.timestamp)
    last_stamp = observation.timestamp + 0.02
    assert core.command(observation.joint_positions, last_stamp).sent is not None
    first = core.reset()  # the simulator's clock restarts; the graph's does not
    assert core.episode is not None and core.episode.episode_id != activated.episode_id
    assert core.episode.seed == 7  # activation showed seed 7; the first episode runs it (the policy's seed 7 + 0)
    assert first.timestamp == core.episode.stamp and first.timestamp > last_stamp
    late = core.command(observation.joint_positions, last_stamp)  # the last episode's command, arriving late
    assert late.sent is None and "stale or replayed" in late.rejected_reason
    assert core.command(first.joint_positions, first.timestamp).sent is not None
    assert core.observe().timestamp > first.timestamp


def test_the_policys_episodes_run_the_seeds_it_reports(core) -> None:
    seeds = []
    for _ in range(3):
        core.reset()
        assert core.episode is not None
        seeds.append(core.episode.seed)
    assert seeds == [7, 8, 9]  # RunConfig(seed=7): the policy's episodes 0, 1, 2


def test_a_reset_before_any_command_continues_the_activation_episode(core) -> None:
    """The scene shown on activation is the first episode's start: the policy's first reset (same seed, nothing acted
    on yet) keeps its identity, so recorders write one file for it, not an empty one before it (issue 14, item 5)."""
    activated = core.episode
    first = core.reset()
    assert core.episode == activated and first.timestamp > activated.stamp  # the graph clock still moves on
    core.command(first.joint_positions, first.timestamp)
    core.reset()
    assert core.episode is not None and core.episode.episode_id != activated.episode_id and core.episode.seed == 8
