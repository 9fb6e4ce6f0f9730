"""Training data from real MCAP episodes written by the project's recorder and read by its reader."""

from __future__ import annotations

from pathlib import Path

import afil_helpers
import numpy as np
import pytest

from failforward.config import RecordConfig
from failforward.errors import RecordingError
from failforward.learn.config import TrainConfig
from failforward.learn.episodes import load_recorded
from failforward.learn.trainer import train
from failforward.policy.afil import get_model_preset
from failforward.record.recorder import EpisodeRecorder
from failforward.types import (
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
    joints=tuple(JointFeature(f"j{i}", "rad", -2.0, 2.0, 2.0) for i in range(4)),
    cameras=(CameraFeature("top", 48, 48), CameraFeature("left_wrist", 48, 48)),
    control_hz=50.0,
)


def record(directory: Path, episodes) -> None:
    recorder = EpisodeRecorder(RecordConfig(output_dir=directory, chunk_kib=16), "run")
    for index, e in enumerate(episodes):
        recorder.on_episode_start(EpisodeInfo(index, index, "toy", e.prompt, "toy", FEATURES))
        for step in range(e.length):
            t = step * 0.02
            images = {"top": np.full((48, 48, 3), step, np.uint8), "left_wrist": np.zeros((48, 48, 3), np.uint8)}
            obs = Observation(t, e.joint_positions[step], np.zeros(4), images=images)
            sent = JointCommand(t, e.actions[step])
            recorder.on_tick(TickRecord(step, obs, e.actions[step] + 1.0, sent, None, {}))
        recorder.on_episode_end(EpisodeOutcome(e.success, 1, "toy"))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, list]:
    source = afil_helpers.toy_episodes(1, 1, length=6)
    directory = tmp_path_factory.mktemp("episodes")
    record(directory, source)
    return directory / "run", source


def test_recorded_episodes_become_arrays(recorded):
    directory, source = recorded
    episodes = load_recorded([directory])
    assert [e.success for e in episodes] == [True, False]
    np.testing.assert_allclose(episodes[0].joint_positions, source[0].joint_positions)
    np.testing.assert_allclose(episodes[1].actions, source[1].actions)  # "sent" by default
    assert episodes[0].prompt == "move the arm"
    assert episodes[0].images["top"].shape == (6, 48, 48, 3)
    policy = load_recorded([directory], action_source="policy", load_images=False)
    np.testing.assert_allclose(policy[0].actions, source[0].actions + 1.0)
    assert policy[0].images == {}


def test_train_from_recorded_with_resized_images(recorded, tmp_path):
    directory, _ = recorded
    cfg = TrainConfig(model=get_model_preset("tiny_vision"), out_dir=tmp_path, steps=2, batch_size=4)
    result = train(cfg, load_recorded([directory]), progress=False)
    assert len(result.losses) == 2 and np.isfinite(result.losses).all()


def test_no_episodes_is_a_clear_error(tmp_path):
    with pytest.raises(RecordingError, match=r"No \.mcap episodes"):
        load_recorded([tmp_path])
