"""The whole runtime (config → registry → loop → safety → recorder) drives the real ALOHA driver on the emulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from failforward.config import AlohaConfig, LoopConfig, PolicyConfig, RecordConfig, RunConfig, load_config
from failforward.control.runtime import run
from failforward.record.reader import read_episode
from failforward.robots.dynamixel.emulator import aloha_port_settings

ROOT = Path(__file__).resolve().parents[2]


def test_a_hold_episode_runs_and_is_recorded(emulator, tmp_path: Path) -> None:
    robot = AlohaConfig(calibration_dir=ROOT / "calibration/aloha/default", **aloha_port_settings(emulator))
    config = RunConfig(
        robot=robot,
        policy=PolicyConfig(kind="hold"),
        loop=LoopConfig(max_steps=15),
        record=RecordConfig(output_dir=tmp_path),
        episodes=1,
    )
    assert load_config(config.model_dump()) == config  # the discriminated union round-trips
    result = run(config, run_name="aloha_hold")
    episode_result = result.episodes[0]
    assert episode_result.error is None and episode_result.steps == 15
    episode = read_episode(episode_result.files[0], load_images=False)
    assert episode.length == 15 and episode.joint_names[6] == "left_arm_gripper"
    np.testing.assert_allclose(episode.sent_actions, episode.joint_positions, atol=0.01)  # holding still
