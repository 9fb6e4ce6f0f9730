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
    assert again.repeated and again.sent.timestamp == 10.0
    np.testing.assert_array_equal(again.sent.positions, first.sent.positions)
    assert core.driver.privileged_state().time == t_after_first  # the simulator did not step again
    stale = core.command(target, 9.0)
    assert stale.sent is None and "stale or replayed" in stale.rejected_reason and core.commands_rejected == 1


def test_every_reset_names_a_new_episode_and_says_which_stamps_it_will_act_on(core) -> None:
    activated = core.episode
    assert activated is not None and activated.seed == 7 and activated.commands_after == float("-inf")
    core.command(core.observe().joint_positions, 12.5)
    core.reset()
    assert core.episode.episode_id != activated.episode_id and core.episode.seed == 8
    assert core.episode.commands_after == 12.5 and np.isfinite(core.episode.stamp)
