"""A ROS recorder-node file is training data: its graph topics are aligned into ticks by their header stamps, with the
task prompt robot_bridge announced and the outcome the graph published (``failforward.record.graph_ticks``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("failforward_ros.recorder_core", reason="the ROS package is not installed")
from failforward_ros.recorder_core import TopicRecorder

from failforward.learn.recorded import select_recorded
from failforward.record.reader import read_episode

NAMES = ["a", "b"]
START = 10.0  # [s] graph clock of the episode's first observation
JOINT_STATE = "sensor_msgs/msg/JointState"


def header(t: float) -> dict:
    ns = round(t * 1e9)
    return {"stamp": {"sec": ns // 10**9, "nanosec": ns % 10**9}, "frame_id": ""}


def joints(t: float, q: list[float]) -> dict:
    return {"header": header(t), "name": NAMES, "position": q, "velocity": [0.5, 0.5], "effort": []}


def pose_array(t: float, x: float) -> dict:
    orientation = {"x": 0.1, "y": 0.2, "z": 0.3, "w": 0.9}
    return {"header": header(t), "poses": [{"position": {"x": x, "y": 0.0, "z": 0.05}, "orientation": orientation}]}


def record_graph_episode(directory: Path, ticks: int = 10) -> Path:
    """What recorder_node writes for one episode: per tick a joint state, the objects' poses, the policy's command
    (lost at tick 4) and the bridge's echo of what it sent (missing for the last observation), all stamped alike."""
    recorder = TopicRecorder(directory, clock="sim", grace_s=0.0)
    recorder.begin_episode("e1", round(START * 1e9), now_s=0.0, prompt="hand the cube over")
    for i in range(ticks):
        t, ns = START + 0.02 * i, round((START + 0.02 * i) * 1e9)
        q = [0.01 * i, -0.01 * i]
        recorder.write("/joint_states", JOINT_STATE, joints(t, q), ns, ns)
        recorder.write("/objects/poses", "geometry_msgs/msg/PoseArray", pose_array(t, 0.1 * i), ns, ns)
        if i != 4:
            recorder.write("/joint_commands", JOINT_STATE, joints(t, [v + 0.1 for v in q]), ns + 1000, ns)
        if i != ticks - 1:
            recorder.write("/command_sent", JOINT_STATE, joints(t, [v + 0.05 for v in q]), ns + 2000, ns)
    recorder.end_episode({"success": True, "stage": 4, "reason": "success", "episode_id": "e1"}, now_s=0.0)
    (path,) = recorder.finish_due(now_s=1.0)
    return path


def test_a_recorder_node_file_reads_as_ticks(tmp_path: Path) -> None:
    episode = read_episode(record_graph_episode(tmp_path), load_images=False)
    assert episode.length == 9 and episode.prompt == "hand the cube over"  # the last observation was never answered
    np.testing.assert_allclose(episode.timestamps, START + 0.02 * np.arange(9), atol=1e-6)
    np.testing.assert_allclose(episode.sent_actions - episode.joint_positions, 0.05)
    assert np.allclose(episode.policy_actions[4], episode.sent_actions[4])  # its command was lost: what was sent
    np.testing.assert_allclose(episode.policy_actions[3] - episode.joint_positions[3], 0.1)
    assert episode.object_state.shape == (9, 7)
    np.testing.assert_allclose(episode.object_state[2], [0.2, 0.0, 0.05, 0.9, 0.1, 0.2, 0.3])  # xyz, quat w x y z
    assert episode.outcome is not None and episode.outcome.success


def test_learn_chooses_it_with_the_simulators_outcome(tmp_path: Path) -> None:
    path = record_graph_episode(tmp_path)
    selection = select_recorded([tmp_path])
    assert [c.path for c in selection.chosen] == [path] and not selection.skipped
    assert selection.chosen[0].outcome.success and selection.chosen[0].outcome.source == "simulator"
