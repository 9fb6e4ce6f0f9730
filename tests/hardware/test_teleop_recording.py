"""Teleoperation through the control loop: leaders drive followers (via safety) and episodes are recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dynamixel_sdk", reason="install the hw extra: pip install -e '.[hw]'")

from failforward.config import get_preset
from failforward.control.runtime import run
from failforward.errors import ConfigError
from failforward.record.reader import read_episode
from failforward.robots.aloha.joints import ARM_MAX_VELOCITY, GRIPPER_MAX_VELOCITY
from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.emulator import DynamixelEmulator, aloha_buses, aloha_port_settings

ROOT = Path(__file__).resolve().parents[2]


def teleop_config(emulator: DynamixelEmulator, output: Path, **extra: object):
    ports = {f"robot.{key}": value for key, value in aloha_port_settings(emulator).items()}
    return get_preset("aloha_teleop").with_overrides(
        {
            **ports,
            "robot.calibration_dir": str(ROOT / "calibration" / "aloha" / "default"),
            "loop.max_steps": 60,
            "record.output_dir": str(output),
            **extra,
            "robot.comm_retries": 8,  # the emulator is a process on a shared, loaded CI machine: allow late replies
        }
    )


def test_leader_motion_is_followed_and_recorded(tmp_path: Path) -> None:
    with DynamixelEmulator(aloha_buses(4_000_000)) as emulator:
        emulator.move_by_hand("leader_left", 1, ct.rad_to_ticks(0.2))  # operator turns the left waist
        result = run(teleop_config(emulator, tmp_path), run_name="teleop")
    episode = result.episodes[0]
    assert episode.error is None and episode.steps == 60
    recorded = read_episode(episode.files[0])
    assert recorded.length == 60
    np.testing.assert_allclose(recorded.policy_actions[:, 0], 0.2, atol=2 * ct.RAD_PER_TICK)
    assert recorded.sent_actions[-1, 0] == pytest.approx(0.2, abs=2 * ct.RAD_PER_TICK)
    assert recorded.joint_positions[-1, 0] == pytest.approx(0.2, abs=0.02)  # the follower got there
    per_tick = np.full(14, ARM_MAX_VELOCITY / 50)
    per_tick[[6, 13]] = GRIPPER_MAX_VELOCITY / 50
    quantum = 1e-3  # the driver reports what the motors were sent: positions rounded to motor ticks
    assert np.all(np.abs(np.diff(recorded.sent_actions, axis=0)) <= per_tick + quantum)  # via the safety layer


def test_teleop_without_leaders_is_a_config_error(tmp_path: Path) -> None:
    with DynamixelEmulator(aloha_buses(4_000_000, ("follower_left", "follower_right"))) as emulator:
        no_leaders = {"robot.leader_left_port": None, "robot.leader_right_port": None}
        with pytest.raises(ConfigError, match="leader arms"):  # refused with the config, before any motor is pinged
            run(teleop_config(emulator, tmp_path, **no_leaders), run_name="no-leaders")
