"""The gripper/offset measuring CLI against the emulator writes a valid calibration and a changelog line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from failforward.calibration import load_calibration
from failforward.robots.aloha.measure import main
from failforward.robots.dynamixel import control_table as ct

ROOT = Path(__file__).resolve().parents[2]


def test_measured_gripper_range_and_offsets_are_written(emulator, tmp_path: Path) -> None:
    directory = tmp_path / "default"
    shutil.copytree(ROOT / "calibration/aloha/default", directory)
    poses = iter(
        [
            lambda: emulator.move_by_hand("follower_right", 9, ct.rad_to_ticks(-0.5)),  # closed
            lambda: emulator.move_by_hand("follower_right", 9, ct.rad_to_ticks(1.3)),  # open
            lambda: emulator.move_by_hand("follower_right", 2, ct.rad_to_ticks(0.1)),  # zero pose: shoulder off by 0.1
        ]
    )
    main(
        [
            "--arm",
            "follower_right",
            "--port",
            emulator.port("follower_right"),
            "--calibration",
            str(directory),
            "--baudrate",
            "4000000",
            "--offsets",
        ],
        prompt=lambda _: next(poses)(),
    )
    calibration = load_calibration(directory)
    gripper = calibration.follower_right.gripper
    assert gripper.closed_rad == pytest.approx(-0.5, abs=ct.RAD_PER_TICK)
    assert gripper.open_rad == pytest.approx(1.3, abs=ct.RAD_PER_TICK)
    assert calibration.follower_right.joints[1].motors[0].offset_rad == pytest.approx(0.1, abs=ct.RAD_PER_TICK)
    assert calibration.follower_left == load_calibration(ROOT / "calibration/aloha/default").follower_left
    assert "follower_right: gripper closed" in (directory / "CHANGELOG.md").read_text().splitlines()[-1]
