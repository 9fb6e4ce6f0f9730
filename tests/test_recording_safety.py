"""Recordings are never overwritten, interrupted runs finish their files, cut-off files are repaired (issue 14)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

import failforward.testing  # noqa: F401  (registers the fake robot)
from failforward.config import RecordConfig, RunConfig
from failforward.control.interrupt import Interrupt
from failforward.control.runtime import run
from failforward.errors import RecordingError
from failforward.record import topics
from failforward.record.files import create_run_dir
from failforward.record.reader import read_outcome
from failforward.record.recorder import EpisodeRecorder
from failforward.record.repair import repair
from failforward.recovery.events import RecoveryEvent
from failforward.recovery.machine import RecoveryState
from failforward.types import (
    CameraFeature,
    EpisodeInfo,
    EpisodeOutcome,
    JointCommand,
    JointFeature,
    Observation,
    RobotFeatures,
    TickRecord,
    TickSubscriber,
)

FEATURES = RobotFeatures(
    joints=tuple(JointFeature(f"j{i}", "rad", -1.0, 1.0, 2.0) for i in range(3)),
    cameras=(CameraFeature("top", 48, 64),),
    control_hz=50.0,
)
INFO = EpisodeInfo(0, 5, "transfer_cube", "hand the cube over", "SimAlohaDriver", FEATURES)


def fake_run_config(tmp_path: Path, **overrides) -> RunConfig:
    """The fake arm holding its pose: episodes run their max_steps, quickly, recorded under ``tmp_path``."""
    config = RunConfig(
        robot={"kind": "fake", "cameras": ["top"]},
        policy={"kind": "hold"},
        supervisor={"enabled": False},
        recovery={"enabled": False},
        record={"output_dir": str(tmp_path), "chunk_kib": 16},
        episodes=1,
    )
    return config.with_overrides({"loop.max_steps": 30, **overrides})


def record_ticks(recorder: EpisodeRecorder, ticks: int, t0: float = 0.0, finish: bool = True) -> None:
    rng = np.random.default_rng(0)
    recorder.on_episode_start(INFO)
    for step in range(ticks):
        t = t0 + step * 0.02
        q = np.full(3, 0.01 * step)
        image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)  # noise: JPEGs that fill chunks
        obs = Observation(t, q, np.zeros(3), images={"top": image})
        recorder.on_tick(TickRecord(step, obs, q, JointCommand(t, q), None, {}))
    if finish:
        recorder.on_episode_end(EpisodeOutcome(False, 1, "test"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rosbags_counts(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_KILTED)) as reader:
        for connection, _, raw in reader.messages():
            reader.deserialize(raw, connection.msgtype)
            counts[connection.topic] = counts.get(connection.topic, 0) + 1
    return counts


def mcap_summary(path: Path) -> tuple[int, dict[str, dict[str, str]]]:
    """Messages decoded by the mcap library's indexed reader (it needs the summary and footer) and the metadata."""
    with path.open("rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        count = sum(1 for _ in reader.iter_decoded_messages())
        metadata = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
    return count, metadata


# ------------------------------------------------------------------ never overwritten
def test_an_existing_episode_file_is_never_replaced(tmp_path: Path) -> None:
    first = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "run")
    record_ticks(first, 5)
    before = digest(first.files[0])
    again = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "run")  # same run, same episode index and seed
    with pytest.raises(RecordingError, match="never overwritten"):
        again.on_episode_start(INFO)
    assert digest(first.files[0]) == before and read_outcome(first.files[0]) == EpisodeOutcome(False, 1, "test")


def test_run_directories_are_never_reused(tmp_path: Path) -> None:
    names = [create_run_dir(tmp_path, "ros-record-20261201-211402") for _ in range(3)]
    assert [p.name for p in names] == ["ros-record-20261201-211402", "ros-record-20261201-211402-1"] + [
        "ros-record-20261201-211402-2"
    ]
    nested = create_run_dir(tmp_path, "round_0/rollouts")
    assert nested == tmp_path / "round_0" / "rollouts" and nested.is_dir()


def test_two_runs_with_one_name_keep_both_recordings(tmp_path: Path) -> None:
    config = fake_run_config(tmp_path)
    first = run(config, run_name="same-second")
    second = run(config.with_overrides({"seed": 1}), run_name="same-second")
    assert first.run_dir != second.run_dir
    for result in (first, second):
        (path,) = result.episodes[0].files
        assert path.parent == result.run_dir and rosbags_counts(path)[topics.JOINT_STATES] == 30


# ------------------------------------------------------------------ interrupted runs
class InterruptAt(TickSubscriber):
    """Requests the interrupt at tick ``step`` of the first episode (as Ctrl-C would, between ticks)."""

    def __init__(self, interrupt: Interrupt, step: int) -> None:
        self.interrupt, self.step = interrupt, step

    def on_tick(self, tick: TickRecord) -> None:
        if tick.step == self.step:
            self.interrupt.request()


def test_an_interrupted_run_finishes_the_episode_and_starts_no_other(tmp_path: Path) -> None:
    interrupt = Interrupt()
    config = fake_run_config(tmp_path, episodes=3, **{"loop.max_steps": 1000})
    result = run(config, run_name="interrupted", subscribers=[InterruptAt(interrupt, 10)], interrupt=interrupt)
    assert len(result.episodes) == 1
    episode = result.episodes[0]
    assert episode.steps == 11 and episode.outcome.reason == "aborted: interrupted"
    (path,) = episode.files
    assert rosbags_counts(path)[topics.JOINT_STATES] == 11
    count, metadata = mcap_summary(path)
    assert count > 0 and metadata["episode"]["reason"] == "aborted: interrupted"
    assert metadata["episode"]["clock"] == metadata["recording"]["clock"] == "sim"


def test_an_interrupt_before_an_episode_starts_none(tmp_path: Path) -> None:
    interrupt = Interrupt()
    interrupt.request("SIGTERM")
    result = run(fake_run_config(tmp_path, episodes=2), run_name="none", interrupt=interrupt)
    assert result.episodes == [] and result.run_dir.is_dir()


def test_a_second_signal_keeps_finishing(tmp_path: Path) -> None:
    said: list[str] = []
    interrupt = Interrupt(announce=said.append)
    interrupt.handle(2)
    interrupt.handle(15)
    assert interrupt.requested and interrupt.signal_name == "SIGINT" and len(said) == 2
    assert "still finishing" in said[1]


# ------------------------------------------------------------------ one clock per file
def test_records_before_the_first_tick_are_logged_on_its_clock(tmp_path: Path) -> None:
    """A graph-clock episode starting at 100 s: the prompt and the recovery machine's reset (time 0.0) are logged at
    the first observation's time, the report at its own; no log time before the episode's first tick."""
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "run", clock="monotonic")
    recorder.on_episode_start(INFO)
    recorder.record_event(RecoveryEvent(0.0, "reset", RecoveryState.NOMINAL, RecoveryState.NOMINAL))
    for step in range(3):
        t = 100.0 + 0.02 * step
        obs = Observation(t, np.zeros(3), np.zeros(3))
        recorder.on_tick(TickRecord(step, obs, np.zeros(3), JointCommand(t, np.zeros(3)), None, {}))
    recorder.on_episode_end(EpisodeOutcome(True, 1, "done"))
    with recorder.files[0].open("rb") as stream:
        reader = make_reader(stream)
        times = {channel.topic: message.log_time for _, channel, message in reader.iter_messages()}
        metadata = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
    assert times[topics.TASK_PROMPT] == times[topics.RECOVERY_EVENT] == 100_000_000_000
    assert min(times.values()) == 100_000_000_000
    assert metadata["episode"]["clock"] == "monotonic"


# ------------------------------------------------------------------ repair
def cut_file(tmp_path: Path, ticks: int = 120) -> tuple[Path, Path]:
    """A finished episode file and a copy of it cut off in the middle of a chunk (a killed writer's file)."""
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path, chunk_kib=16), "run")
    record_ticks(recorder, ticks, finish=True)
    whole = recorder.files[0]
    with whole.open("rb") as stream:
        chunks = list(make_reader(stream).get_summary().chunk_indexes)
    assert len(chunks) > 4
    middle = chunks[3]
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(whole.read_bytes()[: middle.chunk_start_offset + middle.chunk_length // 2])
    return whole, cut


def complete_chunk_messages(whole: Path, chunks: int) -> int:
    """Messages in the first ``chunks`` chunks of ``whole`` (from its chunk indexes)."""
    with whole.open("rb") as stream:
        reader = make_reader(stream)
        indexes = reader.get_summary().chunk_indexes[:chunks]
        end = indexes[-1].message_end_time
        return sum(1 for _ in reader.iter_messages(ending_at=end))


def in_file_order(path: Path) -> list[tuple[str, int, bytes]]:
    with path.open("rb") as stream:
        messages = make_reader(stream).iter_messages(log_time_order=False)
        return [(channel.topic, message.log_time, message.data) for _, channel, message in messages]


def test_a_cut_off_file_is_repaired_into_one_rosbags_and_mcap_read(tmp_path: Path) -> None:
    whole, cut = cut_file(tmp_path)
    with pytest.raises(Exception, match="magic"):
        rosbags_counts(cut)  # as issue 14 found: rosbags refuses a file without its end
    before = digest(cut)
    result = repair(cut)
    assert result.path == tmp_path / "cut.repaired.mcap" and not result.complete and result.chunks == 3
    assert digest(cut) == before  # the original is never modified
    count, metadata = mcap_summary(result.path)
    assert count == result.messages == complete_chunk_messages(whole, 3)
    assert sum(rosbags_counts(result.path).values()) == count
    assert in_file_order(result.path) == in_file_order(whole)[:count]  # what was written first, byte for byte
    episode = metadata["episode"]
    assert episode["repaired"] == "true" and episode["reason"] == "aborted: killed" and episode["clock"] == "sim"
    assert episode["episode_id"] == INFO.episode_id  # from the "recording" metadata written when the file opened
    assert read_outcome(result.path) == EpisodeOutcome(False, 0, "aborted: killed")


def test_repairing_a_whole_file_loses_nothing_and_keeps_its_outcome(tmp_path: Path) -> None:
    whole, _ = cut_file(tmp_path)
    result = repair(whole, tmp_path / "copy.mcap")
    assert result.complete and mcap_summary(result.path)[0] == mcap_summary(whole)[0] == result.messages
    assert read_outcome(result.path) == EpisodeOutcome(False, 1, "test")
    assert mcap_summary(result.path)[1]["episode"]["repaired"] == "true"


def test_repair_never_overwrites(tmp_path: Path) -> None:
    whole, cut = cut_file(tmp_path)
    taken = tmp_path / "taken.mcap"
    shutil.copy(whole, taken)
    with pytest.raises(RecordingError, match="never overwritten"):
        repair(cut, taken)
    with pytest.raises(RecordingError, match="never modified"):
        repair(cut, cut)
    assert digest(taken) == digest(whole)
