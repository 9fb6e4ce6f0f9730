"""The supervisor's symbols in RViz: supervisor_node publishes each answer's symbols as a MarkerArray on the topic
the shipped RViz config shows, in ``world`` at the depth of the frame they were drawn on."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
from failforward_ros import convert, topics  # noqa: E402
from failforward_ros.qos import LATCHED  # noqa: E402
from geometry_msgs.msg import PoseStamped  # noqa: E402
from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from ros_graph import ROOT, NodeProcess, wait_for  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from test_node_graph import transition  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from failforward.recovery.symbol_shapes import (  # noqa: E402
    IMAGE_PLANE_M,
    WORLD_FRAME,
    Shape,
    SymbolShapes,
    symbol_shapes,
)

PARAMS = ROOT / "launch" / "params" / "sim_transfer_cube.yaml"  # the sim oracle supervises
RVIZ = ROOT / "ros2_ws" / "src" / "failforward_ros" / "rviz" / "failforward.rviz"
ACTIVATION_ORDER = ("robot_bridge", "recorder_node", "supervisor_node", "policy_node")
OVERRIDES = {  # the hold policy never moves: after 1 s the oracle says "move the right gripper to the cube" (an arrow)
    "policy.kind": "hold",
    "supervisor.backend.stall_s": "1.0",
    "supervisor.schedule.every_chunks": "1",
    "loop.max_steps": "150",
    "episodes": "1",
    "robot.image_height": "96",
    "robot.image_width": "128",
    "recovery.enabled": "false",
}


def test_the_rviz_config_shows_the_topics_the_nodes_publish() -> None:
    """Every topic the RViz layout subscribes (robot_id:=sim) is one of ours; RobotModel and TF are shown in world."""
    text = RVIZ.read_text()
    shown = set(re.findall(r"Value: /sim/(\S+)", text))
    published = {topics.SYMBOLS, topics.ANNOTATED, topics.CHUNK_PREVIEW, topics.image_topic("top"), "robot_description"}
    assert shown <= published, shown - published
    assert topics.SYMBOLS in shown and "robot_description" in shown
    assert "rviz_default_plugins/RobotModel" in text and "rviz_default_plugins/TF" in text
    assert "Fixed Frame: world" in text


@pytest.mark.parametrize("kind", ["sim_aloha", "aloha", "franka"])
def test_the_frames_our_messages_name_exist_in_the_robots_urdf(kind: str) -> None:
    """RViz and Foxglove place each message by its frame_id through TF: the chunk preview, object poses, camera
    poses and symbols in world, images (and symbols without depth) in the camera's optical frame."""
    yourdfpy = pytest.importorskip("yourdfpy", reason="yourdfpy (the dev extra) reads the URDFs")
    from failforward.config.base import AlohaCamera
    from failforward.robots.urdf import urdf_path

    links = set(yourdfpy.URDF.load(str(urdf_path(kind)), load_meshes=False).link_map)
    preview = convert.chunk_preview_msg(0.0, {"right": np.zeros((2, 3))}).markers[0].header.frame_id
    objects = convert.object_poses_msg(0.0, np.zeros(7)).header.frame_id
    camera_pose = convert.pose_msg(0.0, np.eye(4)).header.frame_id
    assert {preview, objects, camera_pose, WORLD_FRAME} <= links
    if kind == "sim_aloha":  # every camera the simulated ALOHA renders, but the one MuJoCo aims at the left gripper
        cameras = set(get_args(AlohaCamera)) - {"front_close"}
        image = {convert.image_msg(0.0, c, np.zeros((2, 2, 3), np.uint8)).header.frame_id for c in cameras}
        assert image == cameras and cameras <= links


def test_symbol_shapes_become_markers_replacing_the_previous_answers() -> None:
    shapes = SymbolShapes(
        "world",
        (
            Shape("arrow", np.array([[0.0, 0.5, 0.1], [0.1, 0.5, 0.1]]), (1.0, 0.0, 0.0), 0.004),
            Shape("segments", np.zeros((4, 3)), (1.0, 1.0, 1.0), 0.004),
            Shape("text", np.array([[0.1, 0.5, 0.1]]), (0.0, 1.0, 0.0), 0.02, "ON"),
        ),
    )
    markers = convert.symbol_markers_msg(3.5, shapes).markers
    assert markers[0].action == Marker.DELETEALL  # the previous answer's symbols go first
    assert [m.type for m in markers[1:]] == [Marker.ARROW, Marker.LINE_LIST, Marker.TEXT_VIEW_FACING]
    assert {m.header.frame_id for m in markers} == {"world"} and markers[1].header.stamp.sec == 3
    assert len(markers[1].points) == 2 and markers[3].text == "ON" and markers[3].pose.position.x == 0.1
    assert len(convert.symbol_markers_msg(4.0, SymbolShapes("top", ())).markers) == 1  # no symbols: cleared


class Probe:
    """What the test hears: the symbols, the answers, and the head camera's geometry per stamp."""

    def __init__(self, node) -> None:
        self.arrays: list[MarkerArray] = []
        self.answers: list[String] = []
        self.depth: dict[float, np.ndarray] = {}
        self.pose: dict[float, np.ndarray] = {}
        self.intrinsics: list[tuple[np.ndarray, int, int]] = []
        node.create_subscription(MarkerArray, topics.SYMBOLS, self.arrays.append, LATCHED)
        node.create_subscription(String, topics.DIAGNOSIS, self.answers.append, 10)
        node.create_subscription(Image, topics.depth_topic("top"), self._on_depth, qos_profile_sensor_data)
        node.create_subscription(PoseStamped, topics.camera_pose_topic("top"), self._on_pose, qos_profile_sensor_data)
        node.create_subscription(
            CameraInfo,
            topics.camera_info_topic("top"),
            lambda m: self.intrinsics.append(convert.intrinsics_from_camera_info(m)),
            qos_profile_sensor_data,
        )

    def _on_depth(self, msg: Image) -> None:
        self.depth[convert.from_stamp(msg.header.stamp)] = convert.depth_from_image(msg)

    def _on_pose(self, msg: PoseStamped) -> None:
        self.pose[convert.from_stamp(msg.header.stamp)] = convert.pose_from_msg(msg)

    def drawn(self) -> list[MarkerArray]:
        return [a for a in self.arrays if any(m.action == Marker.ADD for m in a.markers)]

    def with_symbols(self) -> list[String]:
        return [a for a in self.answers if json.loads(a.data)["result"].get("symbols")]


def start_graph(node, processes: dict[str, NodeProcess]) -> None:
    for name, process in processes.items():  # four processes importing MuJoCo and torch on a busy machine
        client = node.create_client(ChangeState, f"/{name}/change_state")
        assert client.wait_for_service(timeout_sec=60.0), f"{name} never came up:\n{process.output()[-3000:]}"
        node.destroy_client(client)
    for name, process in processes.items():
        assert transition(node, name, Transition.TRANSITION_CONFIGURE), process.output()[-3000:]
    for name in ACTIVATION_ORDER:
        assert transition(node, name, Transition.TRANSITION_ACTIVATE), processes[name].output()[-3000:]


def expected_shapes(probe: Probe, answer: String, with_depth: bool):
    """What symbol_shapes makes of the answer's symbols with what the bridge published for their frame."""
    report = convert.report_from_msg(answer)
    stamp = report.frame_times[report.result.symbol_frame]
    K, height, width = probe.intrinsics[-1]  # noqa: N806 - the pinhole K
    depth = pose = None
    if with_depth:  # best effort: the probe too may have missed the frame's own depth (the hold policy keeps still)
        near_depth = min(probe.depth, key=lambda t: abs(t - stamp))
        near_pose = min(probe.pose, key=lambda t: abs(t - stamp))  # the head camera does not move
        assert abs(near_depth - stamp) < 0.1, "the probe received no depth near the symbols' frame"
        depth, pose = probe.depth[near_depth], probe.pose[near_pose]
    shapes = symbol_shapes(
        report.result.symbols, K, camera="top", image_size=(height, width), depth=depth, world_from_camera=pose
    )
    return stamp, shapes


@pytest.mark.parametrize(
    ("depth_cameras", "frame"),
    [  # the preset has no depth cameras; the image-plane case is in -m slow (each case starts a graph, ~15 s)
        ({"robot.depth_cameras": "['top']"}, "world"),
        pytest.param({}, "top", marks=pytest.mark.slow),
    ],
    ids=["depth of the frame: in world", "no depth: on the image plane"],
)
def test_an_answer_with_symbols_is_published_as_markers(ros_env, tmp_path: Path, depth_cameras: dict, frame: str):
    """The oracle's arrow reaches the symbols topic as markers: with the depth and pose the bridge published for
    the frame the arrow was drawn on (it streams them for ``robot.depth_cameras``) back-projected into world,
    else on the head camera's image plane in its optical frame."""
    overrides = {**OVERRIDES, **depth_cameras, "record.output_dir": str(tmp_path / "runs")}
    processes = {name: NodeProcess(name, PARAMS, overrides, ros_env, tmp_path) for name in ACTIVATION_ORDER}
    node = rclpy.create_node("symbol_markers_test")
    probe = Probe(node)
    try:
        start_graph(node, processes)
        drawn = lambda: probe.drawn() and probe.with_symbols()  # noqa: E731
        assert wait_for(drawn, 60, node), processes["supervisor_node"].output()[-3000:]
    finally:
        node.destroy_node()
        codes = {name: process.stop() for name, process in processes.items()}
    assert set(codes.values()) == {0}, {n: p.log_path.read_text()[-2000:] for n, p in processes.items()}
    assert all(a.markers[0].action == Marker.DELETEALL for a in probe.arrays)  # replaces the previous answer's
    markers = probe.drawn()[0].markers[1:]
    stamp, expected = expected_shapes(probe, probe.with_symbols()[0], with_depth=frame == "world")
    assert [s.kind for s in expected.shapes] == ["arrow", "text"]  # the oracle's straight arrow and its label
    assert [m.type for m in markers] == [Marker.ARROW, Marker.TEXT_VIEW_FACING]
    assert {m.header.frame_id for m in markers} == {frame} and {m.ns for m in markers} == {convert.SYMBOLS_NS}
    assert convert.from_stamp(markers[0].header.stamp) == pytest.approx(stamp)  # the frame the symbols refer to
    tail, head = ([p.x, p.y, p.z] for p in markers[0].points)
    np.testing.assert_allclose([tail, head], expected.shapes[0].points, atol=0.005)  # [m]
    if frame == "world":  # on a surface the head camera sees in the cell (the table or the arm), not on a plane
        assert -0.005 < tail[2] < 0.4 and expected.shapes[0].measured, tail
    else:
        assert tail[2] == pytest.approx(IMAGE_PLANE_M) and head[2] == pytest.approx(IMAGE_PLANE_M)
