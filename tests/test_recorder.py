"""Episode files: written with mcap-ros2-support, read back by rosbags (independent) and by our reader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

from failforward.config import RecordConfig
from failforward.record import topics
from failforward.record.reader import read_episode, read_outcome
from failforward.record.recorder import EpisodeRecorder
from failforward.types import (
    ActionChunk,
    CameraFeature,
    EpisodeInfo,
    EpisodeOutcome,
    JointCommand,
    JointFeature,
    Observation,
    RobotFeatures,
    TickRecord,
)

FEATURES = RobotFeatures(
    joints=tuple(JointFeature(f"j{i}", "rad", -1.0, 1.0, 2.0) for i in range(3)),
    cameras=(CameraFeature("top", 32, 40),),
    control_hz=50.0,
)


def gradient_image(step: int) -> np.ndarray:
    image = np.zeros((32, 40, 3), dtype=np.uint8)
    image[:, :, 0] = np.linspace(0, 255, 40, dtype=np.uint8)[None, :]
    image[:, :, 1] = (step * 20) % 255
    return image


def record_episode(directory: Path, ticks: int = 12, finish: bool = True) -> EpisodeRecorder:
    recorder = EpisodeRecorder(RecordConfig(output_dir=directory, jpeg_quality=95, chunk_kib=16), "run")
    recorder.on_episode_start(EpisodeInfo(0, 5, "transfer_cube", "hand the cube over", "SimAlohaDriver", FEATURES))
    for step in range(ticks):
        t = step * 0.02
        q = np.array([0.1, -0.2, 0.3]) + 0.01 * step
        obs = Observation(t, q, np.zeros(3), images={"top": gradient_image(step)})
        chunk = ActionChunk(np.tile(q, (4, 1)), guidance=np.linspace(0, 0.5, 10)) if step % 4 == 0 else None
        recorder.on_tick(TickRecord(step, obs, q + 0.5, JointCommand(t, q + 0.02), chunk, {}))
    if finish:
        recorder.on_episode_end(EpisodeOutcome(False, 2, "cube lifted but never reached the left gripper"))
    return recorder


def test_rosbags_reads_every_channel(tmp_path: Path) -> None:
    path = record_episode(tmp_path).files[0]
    counts: dict[str, int] = {}
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_KILTED)) as reader:
        for connection, _, raw in reader.messages():
            message = reader.deserialize(raw, connection.msgtype)
            counts[connection.topic] = counts.get(connection.topic, 0) + 1
            if connection.topic == topics.JOINT_STATES and counts[connection.topic] == 2:
                assert list(message.name) == ["j0", "j1", "j2"]
                np.testing.assert_allclose(message.position, [0.11, -0.19, 0.31])
            if connection.topic == topics.camera_topic("top"):
                assert message.format == "jpeg" and message.header.frame_id == "top"
    assert counts[topics.JOINT_STATES] == counts[topics.COMMAND_SENT] == counts[topics.POLICY_ACTION] == 12
    assert counts[topics.camera_topic("top")] == 12
    assert counts[topics.POLICY_CHUNK] == counts[topics.GUIDANCE] == 3
    assert counts[topics.TASK_PROMPT] == 1


def test_reader_returns_arrays_and_outcome(tmp_path: Path) -> None:
    episode = read_episode(record_episode(tmp_path).files[0])
    assert episode.length == 12 and episode.joint_names == ("j0", "j1", "j2")
    np.testing.assert_allclose(episode.sent_actions - episode.joint_positions, 0.02, atol=1e-12)
    np.testing.assert_allclose(episode.policy_actions - episode.joint_positions, 0.5, atol=1e-12)
    np.testing.assert_allclose(np.diff(episode.timestamps), 0.02, atol=1e-9)
    assert episode.images["top"].shape == (12, 32, 40, 3)
    assert np.abs(episode.images["top"][3].astype(int) - gradient_image(3)).mean() < 3  # JPEG q95
    assert len(episode.chunks) == 3 and episode.chunks[0][1].shape == (4, 3)
    np.testing.assert_allclose(episode.guidance[1][1], np.linspace(0, 0.5, 10))
    assert episode.outcome == EpisodeOutcome(False, 2, "cube lifted but never reached the left gripper")
    assert episode.prompt == "hand the cube over"
    assert json.loads(episode.metadata["joint_names"]) == ["j0", "j1", "j2"]
    assert read_outcome(episode.path) == episode.outcome


def test_a_file_cut_off_by_a_crash_is_still_readable(tmp_path: Path) -> None:
    recorder = record_episode(tmp_path, ticks=200, finish=False)
    recorder._file.flush()
    cut = tmp_path / "cut.mcap"
    shutil.copy(recorder.files[0], cut)
    recorder.close()
    episode = read_episode(cut)
    assert 100 < episode.length < 200 and episode.outcome is None  # all but the unflushed last chunk
    np.testing.assert_allclose(np.diff(episode.timestamps), 0.02, atol=1e-9)


def test_object_state_round_trips_per_tick(tmp_path: Path) -> None:
    features = RobotFeatures(FEATURES.joints, (), 50.0, object_names=("box",))
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "run")
    recorder.on_episode_start(EpisodeInfo(0, 5, "transfer_cube", "hand the cube over", "SimAlohaDriver", features))
    poses = [np.array([0.1 * step, 0.5, 0.05, 1.0, 0.0, 0.0, 0.0]) for step in range(5)]
    for step, pose in enumerate(poses):
        obs = Observation(step * 0.02, np.zeros(3), np.zeros(3), object_state=pose)
        recorder.on_tick(TickRecord(step, obs, np.zeros(3), JointCommand(step * 0.02, np.zeros(3)), None, {}))
    recorder.on_episode_end(EpisodeOutcome(True, 4, "success"))
    episode = read_episode(recorder.files[0])
    np.testing.assert_array_equal(episode.object_state, np.stack(poses))
    assert json.loads(episode.metadata["object_names"]) == ["box"]
    assert read_episode(record_episode(tmp_path / "none").files[0]).object_state.shape == (12, 0)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    from failforward.errors import RecordingError

    with pytest.raises(RecordingError, match="No episode file"):
        read_episode(tmp_path / "nope.mcap")
