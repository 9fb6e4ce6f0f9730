"""VQA export: a recorded sim episode is replayed, labelled by the oracle and written as ShareGPT JSONL."""

from __future__ import annotations

import json

import numpy as np
import pytest

from failforward.config import RecordConfig, ScheduleConfig, SimAlohaConfig
from failforward.errors import RecordingError
from failforward.learn.vqa_export import EpisodeExporter, export_vqa
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.parser import parse_answer
from failforward.supervisor.questions import QuestionType
from failforward.types import ActionChunk, EpisodeInfo, JointCommand, TickRecord

TICKS = 280


@pytest.fixture(scope="module")
def episode_file(tmp_path_factory):
    """A stalled transfer_cube episode (the arms hold their start pose), head frames stamped with the tick."""
    out = tmp_path_factory.mktemp("runs")
    recorder = EpisodeRecorder(RecordConfig(output_dir=out), "export")
    with SimAlohaDriver(SimAlohaConfig(task="transfer_cube", cameras=())) as driver:
        obs = driver.reset(seed=2)
        recorder.on_episode_start(EpisodeInfo(0, 2, "transfer_cube", driver.task_prompt, "sim_aloha", driver.features))
        hold = obs.joint_positions.copy()
        for step in range(TICKS):
            frame = np.full((48, 64, 3), 40, np.uint8)
            frame[:, : step % 64] = 200  # the tick is readable from the frame
            obs = type(obs)(obs.timestamp, obs.joint_positions, obs.joint_velocities, {"top": frame})
            chunk = ActionChunk(np.tile(hold, (25, 1))) if step % 25 == 0 else None
            sent = driver.send_action(JointCommand(obs.timestamp, hold))
            recorder.on_tick(TickRecord(step, obs, hold, sent, chunk, {}))
            obs = driver.get_observation()
        recorder.on_episode_end(driver.episode_outcome())
    return recorder.files[0]


def test_export_writes_release_style_records_with_oracle_answers(episode_file, tmp_path) -> None:
    summary = export_vqa([episode_file], tmp_path, schedule=ScheduleConfig(every_chunks=6), stall_s=2.5)
    lines = [json.loads(line) for line in summary.path.read_text().splitlines()]
    assert summary.records == len(lines) and summary.query_points == 2 and summary.failures == 1
    tags = [r["tag"] for r in lines]
    # 1st point (t = 2.5 s) no failure yet: the type question is skipped; 2nd (t = 5.5 s) stalled.
    assert tags == [
        "failure_detection",
        "low_level_correction_cot",
        "visual_correction_cot",
        "failure_detection",
        "failure_type",
        "low_level_correction_cot",
        "visual_correction_cot",
    ]
    last = lines[-1]
    user, assistant = last["messages"]
    assert user["role"] == "user" and user["content"].startswith("<image>" * 5 + "These images are captured")
    assert user["content"].count("<image>") == len(last["images"]) == 5
    assert last["source"]["tick"] == 275
    frames = [tmp_path / p for p in last["images"]]
    assert all(p.exists() for p in frames)
    diagnosis = parse_answer(
        assistant["content"], frame_shapes=[(48, 64)] * 5, question=QuestionType.VISUAL_CORRECTION_COT
    )
    assert isinstance(diagnosis, Diagnosis) and not diagnosis.success and diagnosis.symbols
    assert lines[4]["messages"][1]["content"] == "gripper 6d-pose"
    assert lines[3]["messages"][1]["content"] == "Failed" and lines[0]["messages"][1]["content"] == "Successful"


def test_replay_divergence_is_detected(episode_file, tmp_path) -> None:
    episode = read_episode(episode_file)
    episode.joint_positions[100:] += 0.01  # the file no longer matches what the simulator reproduces
    exporter = EpisodeExporter(episode, tmp_path, "top", ScheduleConfig(), (QuestionType.FAILURE_DETECTION,), {})
    with pytest.raises(RecordingError, match="replay diverged at tick 100"):
        list(exporter.records())


def test_episode_without_head_frames_is_refused(episode_file, tmp_path) -> None:
    with pytest.raises(RecordingError, match="no 'front' frames"):
        export_vqa([episode_file], tmp_path, camera="front")
