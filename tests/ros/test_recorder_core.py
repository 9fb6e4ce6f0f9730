"""recorder_node's file logic without DDS: one file per robot_bridge episode, late messages into their own episode's
file, nothing from before an episode or between episodes, one clock, never an existing file replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("failforward_ros.recorder_core", reason="the ROS package is not installed")
from failforward_ros.recorder_core import TopicRecorder, camera_names
from mcap.reader import make_reader

from failforward.errors import RecordingError

MS = 1_000_000  # [ns]


def joint_state(stamp_ns: int) -> dict:
    stamp = {"sec": stamp_ns // 10**9, "nanosec": stamp_ns % 10**9}
    return {"header": {"stamp": stamp, "frame_id": ""}, "name": ["a"], "position": [0.0], "velocity": [], "effort": []}


def write_state(recorder: TopicRecorder, stamp_ns: int, log_ns: int | None = None) -> bool:
    log = stamp_ns if log_ns is None else log_ns
    return recorder.write("/joint_states", "sensor_msgs/msg/JointState", joint_state(stamp_ns), log, stamp_ns)


def contents(path: Path) -> tuple[list[tuple[str, int]], dict[str, dict[str, str]]]:
    """(topic, log time [ns]) in log-time order, and the metadata (the indexed reader: the file must be complete)."""
    with path.open("rb") as stream:
        reader = make_reader(stream)
        messages = [(channel.topic, message.log_time) for _, channel, message in reader.iter_messages()]
        metadata = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
    return messages, metadata


def test_late_messages_reach_their_episode_and_leftovers_reach_none(tmp_path: Path) -> None:
    recorder = TopicRecorder(tmp_path, clock="sim", grace_s=0.5)
    assert not write_state(recorder, 0)  # before any episode: not recorded
    recorder.begin_episode("first", 0, now_s=0.0)
    assert all(write_state(recorder, t * 20 * MS) for t in range(5))
    recorder.end_episode({"success": True, "stage": 3, "reason": "done", "episode_id": "first"}, now_s=1.0)
    recorder.begin_episode("second", 200 * MS, now_s=1.1)  # while the first file is in its grace period
    assert write_state(recorder, 100 * MS)  # a late observation of the first episode: into its file
    assert write_state(recorder, 200 * MS)  # the second episode's first observation
    assert recorder.finish_due(now_s=1.4) == []
    (first,) = recorder.finish_due(now_s=1.6)
    assert not write_state(recorder, 120 * MS)  # the first episode's file is closed: a leftover is not recorded
    assert write_state(recorder, 220 * MS, log_ns=150 * MS)  # logged before its /clock tick: at the start
    (second,) = recorder.close("aborted: interrupted")
    first_messages, first_meta = contents(first)
    second_messages, second_meta = contents(second)
    assert [t for _, t in first_messages] == [0, 20 * MS, 40 * MS, 60 * MS, 80 * MS, 100 * MS]
    assert [t for _, t in second_messages] == [200 * MS, 200 * MS]  # the second logged at the episode start
    assert first_meta["episode"]["reason"] == "done" and first_meta["episode"]["episode_id"] == "first"
    assert second_meta["episode"]["reason"] == "aborted: interrupted" and second_meta["episode"]["clock"] == "sim"
    recording = {"clock": "sim", "episode_id": "second", "episode_start_s": "0.200000000", "prompt": ""}
    assert second_meta["recording"] == recording
    assert recorder.dropped == 2


def test_an_episode_without_an_outcome_closes_when_the_next_ends_its_grace(tmp_path: Path) -> None:
    recorder = TopicRecorder(tmp_path, grace_s=0.5)
    recorder.begin_episode("lost", 0, now_s=0.0)
    write_state(recorder, 10 * MS)
    recorder.begin_episode("lost", 0, now_s=0.2)  # announced again (latched): the same episode
    recorder.begin_episode("next", 50 * MS, now_s=0.3)
    (path,) = recorder.finish_due(now_s=0.9)
    assert contents(path)[1]["episode"]["reason"].startswith("aborted: no outcome")
    assert recorder.pending  # "next" is known, its file not opened yet


def test_files_of_a_directory_are_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "episode_0000.mcap").write_bytes(b"an earlier recording")
    recorder = TopicRecorder(tmp_path)
    recorder.begin_episode("e", 0, now_s=0.0)
    with pytest.raises(RecordingError, match="never overwritten"):
        write_state(recorder, 0)
    assert (tmp_path / "episode_0000.mcap").read_bytes() == b"an earlier recording"


def test_two_recorders_started_in_one_second_use_two_directories(tmp_path: Path) -> None:
    first = TopicRecorder.for_run(tmp_path, 16, "system")
    second = TopicRecorder.for_run(tmp_path, 16, "system")
    assert first.directory != second.directory and first.directory.is_dir() and second.directory.is_dir()


def test_camera_topics_are_named_for_every_robot_config() -> None:
    from failforward.config import get_preset

    assert camera_names(get_preset("sim_transfer_cube")) == ("top",)
    assert all(isinstance(name, str) for name in camera_names(get_preset("aloha")))  # CameraConfig entries
    assert camera_names(get_preset("maniskill_pull_cube")) == ()
