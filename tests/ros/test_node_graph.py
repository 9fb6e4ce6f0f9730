"""The node graph of launch/failforward.launch.py on the simulated ALOHA, as separate processes over DDS."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from test_params import launch_nodes

rclpy = pytest.importorskip("rclpy")
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus  # noqa: E402
from geometry_msgs.msg import PoseArray  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from ros_graph import ROOT, NodeProcess, wait_for  # noqa: E402
from sensor_msgs.msg import Image, JointState  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402
from trajectory_msgs.msg import JointTrajectory  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

PARAMS = ROOT / "launch" / "params" / "sim_transfer_cube.yaml"
OVERRIDES = {
    "policy.kind": "hold",
    "loop.max_steps": "40",
    "episodes": "2",
    "robot.image_height": "96",
    "robot.image_width": "128",
    "supervisor.schedule.every_chunks": "1",
    "robot.object_state": "true",
    "broker.inference": "asynchronous",  # as the deployment presets: the policy node's worker thread infers
}
NODE_NAMES = [name for _, name in launch_nodes(ROOT / "launch" / "failforward.launch.py")]


def call(node, client_type, name: str, request, timeout: float = 15.0):
    client = node.create_client(client_type, name)
    assert client.wait_for_service(timeout_sec=timeout), f"service {name} never appeared"
    future = client.call_async(request)
    rclpy.spin_until_future_complete(node, future, timeout_sec=timeout)
    return future.result()


def transition(node, target: str, transition_id: int) -> bool:
    return call(
        node, ChangeState, f"/{target}/change_state", ChangeState.Request(transition=Transition(id=transition_id))
    ).success


@pytest.fixture(scope="module")
def graph(ros_env, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("ros_logs")
    overrides = {**OVERRIDES, "record.output_dir": str(log_dir / "runs")}
    processes = {
        name: NodeProcess(exe, PARAMS, overrides, ros_env, log_dir)
        for exe, name in launch_nodes(ROOT / "launch" / "failforward.launch.py")
    }
    node = rclpy.create_node("graph_test")
    seen: dict[str, list] = {
        "joint_states": [],
        "images": [],
        "outcomes": [],
        "chunks": [],
        "diag": [],
        "preview": [],
        "diagnoses": [],
        "objects": [],
    }
    node.create_subscription(String, "supervisor/diagnosis", lambda m: seen["diagnoses"].append(json.loads(m.data)), 10)
    node.create_subscription(PoseArray, "objects/poses", lambda m: seen["objects"].append(m), 50)
    node.create_subscription(MarkerArray, "policy/chunk_preview", lambda m: seen["preview"].append(m), 10)
    node.create_subscription(JointState, "joint_states", lambda m: seen["joint_states"].append(time.monotonic()), 50)
    node.create_subscription(
        Image, "cameras/top/image_raw", lambda m: seen["images"].append(m), qos_profile_sensor_data
    )
    node.create_subscription(String, "episode/outcome", lambda m: seen["outcomes"].append(json.loads(m.data)), 10)
    node.create_subscription(JointTrajectory, "policy/chunk", lambda m: seen["chunks"].append(m), 10)
    node.create_subscription(DiagnosticArray, "/diagnostics", lambda m: seen["diag"].extend(m.status), 50)
    yield node, processes, seen, log_dir
    node.destroy_node()
    for process in processes.values():
        process.stop()


def test_full_episodes_run_through_the_graph(graph) -> None:
    node, processes, seen, log_dir = graph
    for name in NODE_NAMES:  # the launch file's order: bridge, policy, supervisor
        assert transition(node, name, Transition.TRANSITION_CONFIGURE), processes[name].output()
    for name in ("robot_bridge", "recorder_node", "supervisor_node", "policy_node"):
        assert transition(node, name, Transition.TRANSITION_ACTIVATE), processes[name].output()
    assert wait_for(lambda: len(seen["outcomes"]) == 2, 90, node), processes["policy_node"].output()[-3000:]
    assert [o["steps"] for o in seen["outcomes"]] == [40, 40]
    assert [o["seed"] for o in seen["outcomes"]] == [0, 1]
    assert all(not o["success"] and o["reason"] == "right gripper never touched the cube" for o in seen["outcomes"])
    assert len(seen["joint_states"]) >= 80  # one per tick, plus one per reset
    # robot.object_state: the policy node's robot waits for the poses of each tick's stamp, so episodes that
    # ran to 40 steps prove they arrived; the cube rests on the table (centre 2 cm up)
    assert len(seen["objects"]) >= 80 and seen["objects"][-1].poses[0].position.z == pytest.approx(0.02, abs=0.005)
    assert len(seen["chunks"]) == 4  # hold policy, 25 of 50 executed per chunk: 2 chunks per 40-tick episode
    assert len(seen["preview"]) == 4 and len(seen["preview"][0].markers) == 2  # tool paths of both arms
    assert len(seen["preview"][0].markers[0].points) == 50
    assert seen["images"] and seen["images"][-1].height == 96 and seen["images"][-1].encoding == "rgb8"
    mcaps = sorted((log_dir / "runs").rglob("episode_*_seed*.mcap"))
    assert len(mcaps) == 2  # the policy node's in-process recordings
    assert wait_for(lambda: len(seen["diagnoses"]) >= 2, 20, node), processes["supervisor_node"].output()[-3000:]
    assert {d["result"]["kind"] for d in seen["diagnoses"]} <= {"diagnosis", "no_diagnosis", "unreadable"}
    assert any(d["result"]["kind"] == "diagnosis" for d in seen["diagnoses"])
    assert any(s.name == "supervisor_node" for s in seen["diag"])


def test_recorder_node_wrote_one_file_per_episode(graph) -> None:
    """Graph recordings read back with rosbags (an independent reader), outcome in the metadata."""
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    from failforward.record.reader import read_outcome

    _, processes, seen, log_dir = graph
    files = sorted((log_dir / "runs").rglob("ros-record-*/episode_*.mcap"))
    assert len(files) >= 2, processes["recorder_node"].output()[-2000:]
    counts: dict[str, int] = {}
    command_stamps: dict[str, set[tuple[int, int]]] = {"/joint_commands": set(), "/command_sent": set()}
    with AnyReader([files[0]], default_typestore=get_typestore(Stores.ROS2_KILTED)) as reader:
        for connection, _, raw in reader.messages():
            msg = reader.deserialize(raw, connection.msgtype)
            counts[connection.topic] = counts.get(connection.topic, 0) + 1
            if connection.topic in command_stamps:
                command_stamps[connection.topic].add((msg.header.stamp.sec, msg.header.stamp.nanosec))
    # every command and its echo, once per stamp (a command whose echo was late is sent again, same stamp)
    assert len(command_stamps["/joint_commands"]) == 40 and len(command_stamps["/command_sent"]) == 40
    assert counts["/cameras/top/image_raw/compressed"] >= 20  # best effort: most frames
    assert counts["/policy/chunk"] == 2 and counts["/episode/outcome"] == 1
    outcome = read_outcome(files[0])
    assert outcome is not None and outcome.reason == seen["outcomes"][0]["reason"]


def test_estop_latches_and_reports_on_diagnostics(graph) -> None:
    node, _, seen, _ = graph
    assert call(node, Trigger, "/robot_bridge/estop", Trigger.Request()).success
    assert call(node, Trigger, "/policy_node/start", Trigger.Request()).success
    assert wait_for(lambda: len(seen["outcomes"]) == 3, 30, node)
    aborted = seen["outcomes"][2]
    assert not aborted["success"] and "acknowledge" in aborted["reason"]  # commands were refused
    assert any(s.level == DiagnosticStatus.ERROR and "e-stop" in s.message for s in seen["diag"])
    assert call(node, Trigger, "/robot_bridge/clear_estop", Trigger.Request()).success
    assert call(node, Trigger, "/policy_node/stop", Trigger.Request()).success


def test_deactivate_then_shutdown_is_clean(graph) -> None:
    node, processes, _, _ = graph
    for name in ("policy_node", "supervisor_node", "recorder_node", "robot_bridge"):
        assert transition(node, name, Transition.TRANSITION_DEACTIVATE)
        state = call(node, GetState, f"/{name}/get_state", GetState.Request()).current_state.label
        assert state == "inactive"
    for process in processes.values():
        assert process.stop() == 0, process.output()[-2000:]


def test_malformed_parameters_fail_configure_without_crashing(ros_env, tmp_path: Path) -> None:
    bad = NodeProcess("robot_bridge", PARAMS, {"robot.task": "insrtion"}, ros_env, tmp_path, "bad_bridge")
    node = rclpy.create_node("bad_params_test")
    try:
        assert not transition(node, "bad_bridge", Transition.TRANSITION_CONFIGURE)
        assert bad.alive()
        assert "Did you mean" in bad.output() or "insertion" in bad.output()
    finally:
        node.destroy_node()
        bad.stop()
