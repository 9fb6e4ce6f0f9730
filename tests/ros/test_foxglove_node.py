"""The policy node's Foxglove live view (``viz.foxglove.enabled``): its loop is served from configure to cleanup,
and a configure that fails frees the port again (no DDS needed: the runtime behind the node, a lockstep link)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import numpy as np
import pytest

from failforward.config import FoxgloveConfig, RunConfig
from failforward.config.robots import FakeRobotConfig
from failforward.record import topics
from failforward.types import EpisodeOutcome, Observation
from failforward.viz.foxglove_live import FoxgloveLiveView
from failforward.viz.publisher import EPISODE

policy_runtime = pytest.importorskip("failforward_ros.policy_runtime", reason="the ROS package is not installed")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the Foxglove test client
from failforward.testing.foxglove_client import FoxgloveClient  # noqa: E402

JOINTS = 6


class LockstepBridge:
    """A bridge that answers every command with the next observation (the commanded pose, 20 ms later)."""

    def __init__(self) -> None:
        self.robot = None
        self.t = 5.0

    def request_reset(self, timeout_s: float):
        from failforward_ros.episode import EpisodeStart

        self._observe(np.zeros(JOINTS))
        return EpisodeStart("episode-1", 0, self.t)

    def publish_command(self, positions: np.ndarray, stamp: float) -> None:
        self.robot.deliver_echo(stamp, positions)
        self.t += 0.02
        self._observe(positions)

    def _observe(self, positions: np.ndarray) -> None:
        self.robot.deliver_observation(Observation(self.t, positions, np.zeros(JOINTS)))
        self.robot.deliver_sim_state(None, EpisodeOutcome(False, 0, "running"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_is_free_again(port: int) -> None:
    FoxgloveLiveView(FoxgloveConfig(enabled=True, port=port)).close()


def _config(port: int, **policy) -> RunConfig:
    return RunConfig(
        robot=FakeRobotConfig(),
        policy=policy or {"kind": "hold"},
        record={"enabled": False},
        loop={"max_steps": 30},
        episodes=1,
        viz={"foxglove": {"enabled": True, "port": port}},
    )


def test_the_policy_node_serves_its_loop_until_cleanup() -> None:
    port, outcomes = _free_port(), []
    bridge = LockstepBridge()
    runtime = policy_runtime.PolicyRuntime(_config(port), bridge, lambda t, c: None, outcomes.append)
    bridge.robot = runtime.robot
    assert runtime.live is not None and runtime.live.url == f"ws://127.0.0.1:{port}"
    client = FoxgloveClient(runtime.live.url)
    try:
        assert client.wait_subscribed([topics.JOINT_STATES, EPISODE])
        assert client.wait_for(lambda: {topics.JOINT_STATES, EPISODE} <= runtime.live.watched_topics())
        runtime.run_episodes()
        assert client.wait_for(lambda: len(client.get(EPISODE)) == 2)
    finally:
        client.close()
        runtime.close()
    assert len(outcomes) == 1 and outcomes[0].steps == 30
    states = client.get(topics.JOINT_STATES)
    assert states and [j.name for j in states[-1].message.joints] == [f"joint_{i}" for i in range(JOINTS)]
    assert client.get(EPISODE)[0].message["episode_id"] == "episode-1"
    _port_is_free_again(port)  # a configure after cleanup serves on the same port


def test_a_configure_that_fails_frees_the_port() -> None:
    port = _free_port()
    config = _config(port, kind="afil", model_dir="/nonexistent/model")
    with pytest.raises(Exception, match="nonexistent"):
        policy_runtime.PolicyRuntime(config, LockstepBridge(), lambda t, c: None, lambda e: None)
    _port_is_free_again(port)
