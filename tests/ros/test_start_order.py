"""The policy node drives the robot only once the bridge publishes and the recorder records (issue 14, item 6).

Graphs started by hand (not by the launch file's ordered bring-up) keep the promise too: an active policy node
whose recorder is not up waits, sends no command, and starts as soon as the recorder reports ready, so the
recording has the episode from its first tick.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

rclpy = pytest.importorskip("rclpy")
from failforward_ros.readiness import StartGate  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from ros_graph import NodeProcess, wait_for  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from test_graph_faults import PARAMS, bridge_and_policy  # noqa: E402
from test_node_graph import call, transition  # noqa: E402


def test_the_gate_waits_for_the_bridge_and_the_recorder() -> None:
    gate = StartGate(require_recorder=True)
    never = threading.Event()
    assert len(gate.wait(0.05, never)) == 2
    gate.bridge_published()
    assert [m.split(" ")[0] for m in gate.wait(0.05, never)] == ["recorder_node"]
    threading.Timer(0.1, gate.recorder_ready, args=(True,)).start()
    started = time.monotonic()
    assert gate.wait(5.0, never) == []
    assert time.monotonic() - started < 2.0  # woken by the recorder, not by the timeout
    gate.recorder_ready(False)  # the recorder was deactivated
    assert gate.missing()
    assert StartGate(require_recorder=False).wait(0.05, never) == [
        "robot_bridge publishes nothing: configure and activate it first"
    ]


def test_a_stop_request_ends_the_wait() -> None:
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    started = time.monotonic()
    assert StartGate(require_recorder=True).wait(30.0, stop)
    assert time.monotonic() - started < 2.0


def test_an_active_policy_node_waits_for_the_recorder_then_records_from_the_first_tick(ros_env, tmp_path) -> None:
    overrides = {"loop.max_steps": "60", "robot.cameras": "[]", "require_recorder": "true"}
    bridge, policy = bridge_and_policy(ros_env, tmp_path, **overrides)
    recorder = NodeProcess(
        "recorder_node",
        PARAMS,
        {"record.output_dir": str(tmp_path / "graph"), "robot.cameras": "[]"},
        ros_env,
        tmp_path,
    )
    node = rclpy.create_node("start_order_test")
    commands: list[JointState] = []
    outcomes: list[dict] = []
    node.create_subscription(JointState, "joint_commands", commands.append, 100)
    node.create_subscription(String, "episode/outcome", lambda m: outcomes.append(json.loads(m.data)), 10)
    try:
        for name in ("robot_bridge", "policy_node", "recorder_node"):
            assert transition(node, name, Transition.TRANSITION_CONFIGURE), name
        assert transition(node, "robot_bridge", Transition.TRANSITION_ACTIVATE)
        assert transition(node, "policy_node", Transition.TRANSITION_ACTIVATE)  # before the recorder: it waits
        wait_for(lambda: bool(commands), 3.0, node)
        assert commands == [], "the policy drove the robot before the recorder recorded"
        assert not outcomes
        busy = call(node, Trigger, "/policy_node/start", Trigger.Request())
        assert not busy.success  # the waiting worker counts as running: one start at a time
        assert transition(node, "recorder_node", Transition.TRANSITION_ACTIVATE)
        assert wait_for(lambda: len(outcomes) == 1, 60, node), policy.output()[-3000:]
        assert len({(c.header.stamp.sec, c.header.stamp.nanosec) for c in commands}) == 60
        assert wait_for(lambda: list((tmp_path / "graph").rglob("*.mcap")), 10, node), recorder.output()[-2000:]
        from rosbags.highlevel import AnyReader
        from rosbags.typesys import Stores, get_typestore

        recorded: set[tuple[int, int]] = set()
        time.sleep(1.5)  # the recorder closes an ended episode's file after its grace period
        files = sorted((tmp_path / "graph").rglob("*.mcap"))
        with AnyReader(files[:1], default_typestore=get_typestore(Stores.ROS2_KILTED)) as reader:
            wanted = [c for c in reader.connections if c.topic == "/joint_commands"]
            for connection, _, raw in reader.messages(connections=wanted):
                stamp = reader.deserialize(raw, connection.msgtype).header.stamp
                recorded.add((stamp.sec, stamp.nanosec))
        assert len(recorded) == 60  # every command of the episode, the first one included
    finally:
        node.destroy_node()
        for process in (bridge, recorder):
            process.stop()
        assert policy.stop() == 0, policy.output()[-2000:]


def test_without_a_recorder_the_policy_node_says_why_it_does_not_start(ros_env, tmp_path) -> None:
    from diagnostic_msgs.msg import DiagnosticArray

    overrides = {"robot.cameras": "[]", "require_recorder": "true", "start_timeout_s": "2.0"}
    bridge, policy = bridge_and_policy(ros_env, tmp_path, **overrides)
    node = rclpy.create_node("no_recorder_test")
    messages: list[str] = []
    node.create_subscription(
        DiagnosticArray, "/diagnostics", lambda m: messages.extend(s.message for s in m.status), 50
    )
    try:
        for name in ("robot_bridge", "policy_node"):
            assert transition(node, name, Transition.TRANSITION_CONFIGURE)
        assert transition(node, "robot_bridge", Transition.TRANSITION_ACTIVATE)
        assert transition(node, "policy_node", Transition.TRANSITION_ACTIVATE)
        assert wait_for(lambda: any("not started" in m for m in messages), 15, node), policy.output()[-2000:]
        reason = next(m for m in messages if "not started" in m)
        assert "recorder_node" in reason and "require_recorder:=false" in reason
    finally:
        node.destroy_node()
        bridge.stop()
        assert policy.stop() == 0, policy.output()[-2000:]
