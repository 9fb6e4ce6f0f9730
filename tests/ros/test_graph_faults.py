"""Faults in the node graph: a crashed bridge ends the episode cleanly and is reported; nothing crashes."""

from __future__ import annotations

import json
import signal

import pytest

rclpy = pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from ros_graph import ROOT, NodeProcess, wait_for  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from test_node_graph import call, transition  # noqa: E402

from failforward.record.reader import read_episode  # noqa: E402

PARAMS = ROOT / "launch" / "params" / "sim_transfer_cube.yaml"


def bridge_and_policy(ros_env, tmp_path, **overrides: str) -> tuple[NodeProcess, NodeProcess]:
    """robot_bridge and policy_node processes with the hold policy, one episode, no supervisor or recovery."""
    params = {
        "policy.kind": "hold",
        "episodes": "1",
        "supervisor.enabled": "false",
        "recovery.enabled": "false",
        "record.output_dir": str(tmp_path / "runs"),
        "require_recorder": "false",  # no recorder_node here (the policy node records in-process)
        **overrides,
    }
    return (
        NodeProcess("robot_bridge", PARAMS, params, ros_env, tmp_path),
        NodeProcess("policy_node", PARAMS, params, ros_env, tmp_path),
    )


def test_a_crashed_bridge_ends_the_episode_and_the_policy_node_survives(ros_env, tmp_path) -> None:
    overrides = {
        "loop.max_steps": "5000",
        "robot.cameras": "['top']",
        "robot.image_height": "48",
        "robot.image_width": "64",
    }
    bridge, policy = bridge_and_policy(ros_env, tmp_path, **overrides)
    node = rclpy.create_node("fault_test")
    outcomes, states, diagnostics = [], [], []
    node.create_subscription(String, "episode/outcome", lambda m: outcomes.append(json.loads(m.data)), 10)
    node.create_subscription(JointState, "joint_states", lambda m: states.append(m), 50)
    node.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diagnostics.extend(m.status), 50)
    try:
        for name in ("robot_bridge", "policy_node"):
            assert transition(node, name, Transition.TRANSITION_CONFIGURE)
        assert transition(node, "robot_bridge", Transition.TRANSITION_ACTIVATE)
        assert transition(node, "policy_node", Transition.TRANSITION_ACTIVATE)
        assert wait_for(lambda: len(states) > 30, 30, node)
        bridge.process.send_signal(signal.SIGKILL)  # the peer dies mid-episode
        assert wait_for(lambda: outcomes, 30, node), policy.output()[-3000:]
        outcome = outcomes[0]
        assert not outcome["success"] and "aborted" in outcome["reason"] and "robot_bridge" in outcome["reason"]
        assert wait_for(
            lambda: any(s.level >= DiagnosticStatus.WARN and s.name.startswith("policy_node") for s in diagnostics),
            10,
            node,
        )
        assert policy.alive()
        recorded = read_episode(next((tmp_path / "runs").rglob("*.mcap")))
        assert recorded.length == outcome["steps"] and recorded.outcome is not None  # nothing recorded lost
    finally:
        node.destroy_node()
        bridge.stop()
        assert policy.stop() == 0, policy.output()[-2000:]


def test_an_inactive_policy_node_refuses_to_start_and_sends_no_command(ros_env, tmp_path) -> None:
    bridge, policy = bridge_and_policy(ros_env, tmp_path, **{"loop.max_steps": "200", "robot.cameras": "[]"})
    node = rclpy.create_node("inactive_test")
    commands: list[JointState] = []
    node.create_subscription(JointState, "joint_commands", commands.append, 50)
    try:
        for name in ("robot_bridge", "policy_node"):
            assert transition(node, name, Transition.TRANSITION_CONFIGURE)
        assert transition(node, "robot_bridge", Transition.TRANSITION_ACTIVATE)
        refused = call(node, Trigger, "/policy_node/start", Trigger.Request())
        assert not refused.success and "not active" in refused.message
        wait_for(lambda: bool(commands), 2.0, node)
        assert commands == []
        assert transition(node, "policy_node", Transition.TRANSITION_ACTIVATE)  # activation starts the episodes
        assert wait_for(lambda: len(commands) > 10, 30, node), policy.output()[-3000:]
    finally:
        node.destroy_node()
        bridge.stop()
        assert policy.stop() == 0, policy.output()[-2000:]
