"""LeRobot v3.0 export (issue 17, item 6): the dataset read back with pyarrow and OpenCV against the source MCAPs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import failforward.testing  # noqa: F401  (registers the fake robot)
from failforward.cli.main import main
from failforward.config import RecordConfig, RunConfig
from failforward.config.robots import FakeRobotConfig
from failforward.control.runtime import run
from failforward.record.lerobot import LeRobotExportError, export_lerobot
from failforward.record.reader import RecordedEpisode, read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.testing import FakeRobot
from failforward.types import (
    EpisodeInfo,
    EpisodeOutcome,
    JointCommand,
    JointFeature,
    Observation,
    RobotFeatures,
    TickRecord,
)

TICKS = 30
VIDEO_MEAN_ABS_DIFF = 6.0  # [0-255] mean |decoded mp4 − recorded JPEG| per frame (mpeg4 at OpenCV's quality)


def fake_run(directory: Path, name: str, **overrides: object) -> Path:
    """A fake-arm episode holding its pose (a failure: the goal is never reached), two 48x64 cameras; its file."""
    config = RunConfig(
        robot={"kind": "fake", "cameras": ["top", "wrist"], "image_height": 48, "image_width": 64},
        policy={"kind": "hold"},
        supervisor={"enabled": False},
        recovery={"enabled": False},
        record={"output_dir": str(directory), "chunk_kib": 16},
        episodes=1,
    ).with_overrides({"loop.max_steps": TICKS, **overrides})
    (path,) = run(config, run_name=name).episodes[0].files
    return path


def reaching_episode(directory: Path) -> Path:
    """The fake arm driven to its goal pose for ``TICKS`` ticks (a success), recorded with the recorder."""
    robot_config = FakeRobotConfig(cameras=("top", "wrist"), image_height=48, image_width=64)
    recorder = EpisodeRecorder(RecordConfig(output_dir=directory, chunk_kib=16), "reached")
    with FakeRobot(robot_config) as robot:
        obs = robot.reset(seed=0)
        recorder.on_episode_start(EpisodeInfo(0, 0, "reach", robot.task_prompt, "fake", robot.features))
        for step in range(TICKS):
            goal = robot.privileged_state().goal
            sent = robot.send_action(JointCommand(obs.timestamp, goal))
            recorder.on_tick(TickRecord(step, obs, goal, sent, None, {}))
            obs = robot.get_observation()
        recorder.on_episode_end(robot.episode_outcome())
    return recorder.files[0]


def object_episode(directory: Path) -> Path:
    """An episode with object poses (7 per object) and no camera, recorded with the recorder directly."""
    features = RobotFeatures(
        joints=tuple(JointFeature(f"j{i}", "rad", -1.0, 1.0, 2.0) for i in range(2)),
        cameras=(),
        control_hz=20.0,
        object_names=("cube", "peg"),
    )
    recorder = EpisodeRecorder(RecordConfig(output_dir=directory), "objects")
    recorder.on_episode_start(EpisodeInfo(0, 3, "reach", "touch the cube", "fake", features))
    for step in range(8):
        t, q = step * 0.05, np.array([0.1, -0.1]) * step
        poses = np.tile([0.1 * step, 0.2, 0.3, 1.0, 0.0, 0.0, 0.0], 2)
        recorder.on_tick(
            TickRecord(step, Observation(t, q, np.zeros(2), object_state=poses), q, JointCommand(t, q), None, {})
        )
    recorder.on_episode_end(EpisodeOutcome(False, 1, "dropped the cube"))
    return recorder.files[0]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("recordings")
    success = reaching_episode(root / "reached")
    failure = fake_run(root, "held", seed=1)
    cut = root / "cut" / "episode_cut.mcap"
    cut.parent.mkdir()
    cut.write_bytes(failure.read_bytes()[: failure.stat().st_size // 2])
    return {"success": success, "failure": failure, "cut": cut, "objects": object_episode(root / "objects")}


def frames_of(table: pa.Table, key: str, episode: int) -> np.ndarray:
    rows = table.filter(pc.equal(table["episode_index"], episode))
    return np.array(rows[key].to_pylist())


def decode(path: Path) -> tuple[np.ndarray, list[float]]:
    """All frames of an mp4 (RGB) and their times [ms]."""
    capture, frames, times = cv2.VideoCapture(str(path)), list[np.ndarray](), list[float]()
    while True:
        ok, frame = capture.read()
        if not ok:
            return np.stack(frames), times
        times.append(capture.get(cv2.CAP_PROP_POS_MSEC))
        frames.append(frame[:, :, ::-1])


def test_export_reads_back_equal_to_the_recordings(recordings: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    skipped: list = []
    result = export_lerobot(
        [recordings["success"], recordings["failure"], recordings["cut"].parent], out, on_skip=skipped.append
    )
    assert result.episodes == 2 and result.successes == 1 and result.frames == 2 * TICKS
    assert read_episode(recordings["success"]).outcome == EpisodeOutcome(True, 1, "success")
    assert [s.path.name for s in skipped] == ["episode_cut.mcap"] and "record repair" in skipped[0].reason

    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 50 and info["total_frames"] == 2 * TICKS
    sources = [read_episode(recordings[name]) for name in ("success", "failure")]
    assert info["features"]["observation.state"]["names"] == list(sources[0].joint_names)
    assert info["features"]["observation.images.top"]["shape"] == [48, 64, 3]

    data = pq.read_table(out / "data/chunk-000/file-000.parquet")
    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert data.num_rows == 2 * TICKS and data["index"].to_pylist() == list(range(2 * TICKS))
    for index, (source, row) in enumerate(zip(sources, episodes, strict=True)):
        check_frames(data, index, source, fps=50)
        check_outcome(row, frames_of(data, "next.success", index), source)
        check_videos(out, row, source, fps=50)
    assert episodes[1]["dataset_from_index"] == TICKS and episodes[1][
        "videos/observation.images.top/from_timestamp"
    ] == (pytest.approx(TICKS / 50))
    tasks = pq.read_table(out / "meta/tasks.parquet")
    assert tasks["task"].to_pylist() == [sources[0].prompt] and tasks["task_index"].to_pylist() == [0]
    stats = json.loads((out / "meta/stats.json").read_text())
    all_states = np.concatenate([s.joint_positions for s in sources]).astype(np.float32)
    np.testing.assert_allclose(stats["observation.state"]["mean"], all_states.mean(axis=0), rtol=1e-5, atol=1e-6)
    assert np.array(stats["observation.images.top"]["mean"]).shape == (3, 1, 1)

    with pytest.raises(LeRobotExportError, match="pass a new --out"):
        export_lerobot([recordings["success"]], out)


def check_frames(data: pa.Table, index: int, source: RecordedEpisode, fps: int) -> None:
    """State and actions equal to the recording in float32; frame counts and timestamps match."""
    np.testing.assert_array_equal(
        frames_of(data, "observation.state", index), source.joint_positions.astype(np.float32)
    )
    np.testing.assert_array_equal(frames_of(data, "action", index), source.sent_actions.astype(np.float32))
    np.testing.assert_array_equal(frames_of(data, "policy.action", index), source.policy_actions.astype(np.float32))
    frame_index = frames_of(data, "frame_index", index)
    assert frame_index.tolist() == list(range(source.length))
    np.testing.assert_allclose(frames_of(data, "timestamp", index), frame_index / fps, atol=1e-6)
    np.testing.assert_allclose(frames_of(data, "timestamp.recorded", index), source.timestamps - source.timestamps[0])
    np.testing.assert_allclose(frames_of(data, "timestamp", index), source.timestamps - source.timestamps[0], atol=1e-6)


def check_outcome(row: dict, next_success: np.ndarray, source: RecordedEpisode) -> None:
    """The episode's outcome columns are the recorded outcome; ``next.success`` only on a successful last frame."""
    assert source.outcome is not None
    assert (row["success"], row["stage"], row["reason"]) == (
        source.outcome.success,
        source.outcome.stage,
        source.outcome.reason,
    )
    assert row["length"] == source.length and row["failforward/source_file"] == source.path.name
    assert next_success.tolist() == [False] * (source.length - 1) + [source.outcome.success]


def check_videos(out: Path, row: dict, source: RecordedEpisode, fps: int) -> None:
    """Each camera's frames of the episode decode close to the recorded JPEG frames, at the episode's timestamps."""
    for camera, recorded in source.images.items():
        key = f"videos/observation.images.{camera}"
        path = (
            out
            / f"videos/observation.images.{camera}/chunk-{row[key + '/chunk_index']:03d}"
            / (f"file-{row[key + '/file_index']:03d}.mp4")
        )
        frames, times = decode(path)
        first = round(row[key + "/from_timestamp"] * fps)
        assert round(row[key + "/to_timestamp"] * fps) - first == source.length
        assert times[first] == pytest.approx(1000 * row[key + "/from_timestamp"], abs=0.5)
        episode = frames[first : first + source.length].astype(np.int16)
        assert episode.shape == recorded.shape
        assert np.abs(episode - recorded).mean(axis=(1, 2, 3)).max() < VIDEO_MEAN_ABS_DIFF


def test_object_state_without_cameras(recordings: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "objects"
    result = export_lerobot([recordings["objects"]], out, fps=10)  # 20 Hz recording: every 2nd tick
    source = read_episode(recordings["objects"])
    info = json.loads((out / "meta/info.json").read_text())
    assert result.frames == 4 and info["fps"] == 10 and info["video_path"] is None and not (out / "videos").exists()
    names = info["features"]["observation.environment_state"]["names"]
    assert names[:7] == ["cube.x", "cube.y", "cube.z", "cube.qw", "cube.qx", "cube.qy", "cube.qz"] and len(names) == 14
    data = pq.read_table(out / "data/chunk-000/file-000.parquet")
    np.testing.assert_array_equal(
        frames_of(data, "observation.environment_state", 0), source.object_state[::2].astype(np.float32)
    )
    np.testing.assert_allclose(frames_of(data, "timestamp", 0), [0.0, 0.1, 0.2, 0.3], atol=1e-6)
    (row,) = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert (row["success"], row["stage"], row["reason"]) == (False, 1, "dropped the cube")
    with pytest.raises(LeRobotExportError, match="does not divide"):
        export_lerobot([recordings["objects"]], tmp_path / "bad", fps=15)
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad.partial").exists()


def test_small_file_limits_split_episodes_across_files(recordings: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "split"
    export_lerobot(
        [recordings["success"], recordings["failure"]], out, data_files_size_in_mb=1e-6, video_files_size_in_mb=1e-6
    )
    rows = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [r["data/file_index"] for r in rows] == [0, 1] and [
        r["videos/observation.images.top/file_index"] for r in rows
    ] == [0, 1]
    assert rows[1]["videos/observation.images.top/from_timestamp"] == 0.0 and rows[1]["dataset_from_index"] == TICKS
    second = pq.read_table(out / "data/chunk-000/file-001.parquet")
    assert second["index"].to_pylist() == list(range(TICKS, 2 * TICKS))
    check_videos(out, rows[1], read_episode(recordings["failure"]), fps=50)
    assert sorted(p.name for p in (out / "videos/observation.images.top/chunk-000").iterdir()) == [
        "file-000.mp4",
        "file-001.mp4",
    ]


def test_cli(recordings: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main(["export-lerobot", "--out", str(out), "--repo-id", "me/fails", str(recordings["failure"])]) == 0
    said = capsys.readouterr().out
    assert "1 episodes (0 succeeded, 1 failed)" in said and "me/fails" in said
    assert json.loads((out / "meta/failforward.json").read_text())["repo_id"] == "me/fails"
    assert main(["export-lerobot", "--out", str(out), str(recordings["failure"])]) == 2
    assert "pass a new --out" in capsys.readouterr().err
