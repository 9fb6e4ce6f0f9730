"""Recording in the node graph (issue 14, items 2, 3 and 5), nodes as processes over DDS: a second ``~/start`` keeps
the first run's files; Ctrl-C of the policy node or the recorder node finishes their files; recorder-node files
hold one clock, nothing from before their episode, and the simulated graph publishes ``/clock``."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from lifecycle_msgs.msg import Transition  # noqa: E402
from mcap.reader import make_reader  # noqa: E402
from ros_graph import NodeProcess, wait_for  # noqa: E402
from rosbags.highlevel import AnyReader  # noqa: E402
from rosbags.typesys import Stores, get_typestore  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from test_graph_faults import PARAMS, bridge_and_policy  # noqa: E402
from test_node_graph import call, transition  # noqa: E402

WALL_CLOCK_NS = 10**18  # [ns] 2001-09-09: a log time past it is the system clock, not simulated time

SMALL = {"robot.cameras": "['top']", "robot.image_height": "48", "robot.image_width": "64"}


def read_file(path: Path) -> tuple[list[tuple[str, int, object]], dict[str, dict[str, str]]]:
    """(topic, log time [ns], message) of every message, through rosbags (an independent reader), and the metadata
    through the mcap library's indexed reader (both need a complete file: summary and footer)."""
    messages = []
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_KILTED)) as reader:
        for connection, log_time, raw in reader.messages():
            messages.append((connection.topic, log_time, reader.deserialize(raw, connection.msgtype)))
    with path.open("rb") as stream:
        metadata = {m.name: dict(m.metadata) for m in make_reader(stream).iter_metadata()}
    return messages, metadata


def stamp_ns(msg: object) -> int | None:
    header = getattr(msg, "header", None)
    return None if header is None else header.stamp.sec * 10**9 + header.stamp.nanosec


class Graph:
    """Node processes plus a test node that watches outcomes, joint states and /clock."""

    def __init__(self, processes: dict[str, NodeProcess]) -> None:
        self.processes = processes
        self.node = rclpy.create_node("recording_test")
        self.outcomes: list[dict] = []
        self.states: list[JointState] = []
        self.clock: list[int] = []
        self.node.create_subscription(String, "episode/outcome", lambda m: self.outcomes.append(json.loads(m.data)), 10)
        self.node.create_subscription(JointState, "joint_states", self.states.append, 100)
        self.node.create_subscription(Clock, "/clock", lambda m: self.clock.append(stamp_of(m.clock)), 100)

    def bring_up(self, order: tuple[str, ...]) -> None:
        for name in order:
            assert transition(self.node, name, Transition.TRANSITION_CONFIGURE), self.processes[name].output()
        for name in order:
            assert transition(self.node, name, Transition.TRANSITION_ACTIVATE), self.processes[name].output()

    def wait(self, predicate, timeout: float, name: str = "policy_node") -> None:
        assert wait_for(predicate, timeout, self.node), self.processes[name].output()[-3000:]

    def close(self) -> dict[str, int]:
        self.node.destroy_node()
        return {name: process.stop() for name, process in self.processes.items()}


def stamp_of(time_msg) -> int:
    return time_msg.sec * 10**9 + time_msg.nanosec


def graph_with_recorder(ros_env, tmp_path: Path, **overrides: str) -> Graph:
    bridge, policy = bridge_and_policy(ros_env, tmp_path, **{"require_recorder": "true", **SMALL, **overrides})
    params = {"record.output_dir": str(tmp_path / "runs"), **SMALL, **overrides}
    recorder = NodeProcess("recorder_node", PARAMS, params, ros_env, tmp_path)
    return Graph({"robot_bridge": bridge, "recorder_node": recorder, "policy_node": policy})


def test_a_second_start_keeps_the_first_runs_files(ros_env, tmp_path) -> None:
    bridge, policy = bridge_and_policy(ros_env, tmp_path, **{"loop.max_steps": "20", **SMALL})
    graph = Graph({"robot_bridge": bridge, "policy_node": policy})
    try:
        graph.bring_up(("robot_bridge", "policy_node"))  # activation runs the first episode
        graph.wait(lambda: len(graph.outcomes) == 1, 60)
        assert call(graph.node, Trigger, "/policy_node/start", Trigger.Request()).success  # in the same second
        graph.wait(lambda: len(graph.outcomes) == 2, 60)
    finally:
        codes = graph.close()
    assert codes == {"robot_bridge": 0, "policy_node": 0}
    files = sorted((tmp_path / "runs").rglob("*.mcap"))
    assert len(files) == 2 and files[0].parent != files[1].parent, files  # two run directories, one file each
    ids = []
    for path, outcome in zip(files, graph.outcomes, strict=True):
        messages, metadata = read_file(path)
        assert sum(topic == "/joint_states" for topic, _, _ in messages) == 20
        assert metadata["episode"]["episode_id"] == outcome["episode_id"]
        ids.append(outcome["episode_id"])
    assert ids[0] != ids[1]


def test_ctrl_c_of_the_policy_node_finishes_its_file_and_the_recorders(ros_env, tmp_path) -> None:
    graph = graph_with_recorder(ros_env, tmp_path, **{"loop.max_steps": "5000"})
    try:
        graph.bring_up(("robot_bridge", "recorder_node", "policy_node"))
        graph.wait(lambda: len(graph.states) > 40, 60)
        policy = graph.processes["policy_node"]
        policy.process.send_signal(signal.SIGINT)
        assert policy.process.wait(15) == 0, policy.output()[-3000:]
        assert "Traceback" not in policy.output()
        graph.wait(lambda: graph.outcomes, 10)
        assert graph.outcomes[0]["reason"] == "aborted: interrupted"
        graph.wait(lambda: any((tmp_path / "runs").rglob("ros-record-*/episode_0000.mcap")), 10, "recorder_node")
    finally:
        codes = graph.close()
    assert set(codes.values()) == {0}, {n: p.output()[-2000:] for n, p in graph.processes.items()}
    (own,) = (tmp_path / "runs").glob("ros-2*/episode_0000_seed0.mcap")  # the policy node's in-process file
    (recorded,) = (tmp_path / "runs").glob("ros-record-*/episode_*.mcap")
    for path in (own, recorded):
        messages, metadata = read_file(path)
        assert sum(topic == "/joint_states" for topic, _, _ in messages) > 30, path
        assert metadata["episode"]["reason"] == "aborted: interrupted", path
        assert metadata["episode"]["episode_id"] == graph.outcomes[0]["episode_id"]


@pytest.mark.parametrize(  # SIGTERM takes the same path as SIGINT (rclpy's signal handler): -m slow
    "sig", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.slow)], ids=["SIGINT", "SIGTERM"]
)
def test_ctrl_c_of_the_recorder_node_finishes_its_file(ros_env, tmp_path, sig: signal.Signals) -> None:
    graph = graph_with_recorder(ros_env, tmp_path, **{"loop.max_steps": "5000"})
    try:
        graph.bring_up(("robot_bridge", "recorder_node", "policy_node"))
        graph.wait(lambda: len(graph.states) > 40, 60)
        recorder = graph.processes["recorder_node"]
        recorder.process.send_signal(sig)
        assert recorder.process.wait(15) == 0, recorder.output()[-3000:]
        assert "Traceback" not in recorder.output()
    finally:
        codes = graph.close()
    assert set(codes.values()) == {0}, {n: p.output()[-2000:] for n, p in graph.processes.items()}
    (recorded,) = (tmp_path / "runs").glob("ros-record-*/episode_*.mcap")
    messages, metadata = read_file(recorded)
    assert sum(topic == "/joint_states" for topic, _, _ in messages) > 30
    assert metadata["episode"]["reason"] == "aborted: interrupted" and metadata["episode"]["success"] == "false"


def test_recorder_files_hold_one_clock_and_only_their_episode(ros_env, tmp_path) -> None:
    graph = graph_with_recorder(ros_env, tmp_path, **{"loop.max_steps": "30", "episodes": "3"})
    try:
        graph.bring_up(("robot_bridge", "recorder_node", "policy_node"))
        graph.wait(lambda: len(graph.outcomes) == 3, 90)
        files = lambda: sorted((tmp_path / "runs").rglob("ros-record-*/episode_*.mcap"))  # noqa: E731
        graph.wait(lambda: len(files()) == 3, 10, "recorder_node")
    finally:
        codes = graph.close()
    assert set(codes.values()) == {0}, {n: p.output()[-2000:] for n, p in graph.processes.items()}
    state_stamps = {stamp_ns(s) for s in graph.states}
    # /clock ticks at every published observation (the newest may still be in flight when the test stops)
    assert graph.clock and len(state_stamps - set(graph.clock)) <= 1 and max(graph.clock) >= 3 * 30 * 20_000_000
    assert len(files()) == 3  # one per episode: no file for the scene shown on activation
    for index, (path, outcome) in enumerate(zip(files(), graph.outcomes, strict=True)):
        messages, metadata = read_file(path)
        episode, recording = metadata["episode"], metadata["recording"]
        assert episode["clock"] == recording["clock"] == "sim" and episode["episode_id"] == outcome["episode_id"]
        start = round(float(recording["episode_start_s"]) * 1e9)
        stamps = [s for _, _, msg in messages if (s := stamp_ns(msg)) is not None]
        log_times = [t for _, t, _ in messages]
        assert min(stamps) >= start  # nothing stamped before the episode's start
        assert start <= min(log_times) and max(log_times) < WALL_CLOCK_NS  # one clock: simulated time
        joint_states = [msg for topic, _, msg in messages if topic == "/joint_states"]
        assert len(joint_states) >= 30
        if index > 0:  # the file starts with this episode's first observation, not the previous episode's last
            assert stamp_ns(joint_states[0]) == start
        assert sum(topic == "/episode/outcome" for topic, _, _ in messages) == 1
        assert_trains_like_the_policy_nodes_file(path, tmp_path / "runs")


def assert_trains_like_the_policy_nodes_file(recorded: Path, runs: Path) -> None:
    """The recorder node's file, read as training ticks (aligned by stamp), holds the ticks the policy node recorded
    in-process for the same episode: same prompt, same measured joints and sent commands at the same stamps."""
    from failforward.record.reader import read_episode

    graph = read_episode(recorded, load_images=False)
    (own_path,) = [p for p in runs.glob("ros-2*/*.mcap") if read_episode(p, load_images=False).metadata.get(
        "episode_id") == graph.metadata["episode_id"]]  # fmt: skip
    own = read_episode(own_path, load_images=False)
    assert graph.prompt == own.prompt != "" and graph.length >= own.length - 1
    at = {round(t * 1e6): i for i, t in enumerate(graph.timestamps)}
    common = [(at[round(t * 1e6)], i) for i, t in enumerate(own.timestamps) if round(t * 1e6) in at]
    assert len(common) >= own.length - 1, (len(common), own.length)
    for g, o in common:
        np.testing.assert_allclose(graph.joint_positions[g], own.joint_positions[o], atol=1e-9)
        np.testing.assert_allclose(graph.sent_actions[g], own.sent_actions[o], atol=1e-9)
