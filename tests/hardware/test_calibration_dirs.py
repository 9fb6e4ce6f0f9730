"""Every calibration directory is complete and valid (like mujoco_menagerie's model_dir_test)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from failforward.calibration import (
    CALIBRATION_FILE,
    AlohaCalibration,
    FrankaCalibration,
    calibration_dirs,
    load_calibration,
)
from failforward.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2] / "calibration"
DIRS = calibration_dirs(ROOT)


def test_there_is_a_calibration_for_each_robot() -> None:
    assert {d.parent.name for d in DIRS} >= {"aloha", "franka"}


@pytest.mark.parametrize("directory", DIRS, ids=lambda d: f"{d.parent.name}/{d.name}")
def test_directory_is_complete_and_valid(directory: Path) -> None:
    files = {p.name for p in directory.iterdir()}
    assert {CALIBRATION_FILE, "README.md", "CHANGELOG.md"} <= files, f"{directory} misses files"
    calibration = load_calibration(directory)
    assert calibration.robot == directory.parent.name
    changelog = (directory / "CHANGELOG.md").read_text()
    assert re.search(r"^- \d{4}-\d{2}-\d{2}: ", changelog, re.MULTILINE), "CHANGELOG needs dated '- YYYY-MM-DD: ' lines"
    assert len((directory / "README.md").read_text().split()) >= 20, "README must say where the numbers come from"


@pytest.mark.parametrize("directory", [d for d in DIRS if d.parent.name == "aloha"], ids=lambda d: d.name)
def test_aloha_arms_are_consistent(directory: Path) -> None:
    calibration = load_calibration(directory)
    assert isinstance(calibration, AlohaCalibration)
    arms = [calibration.follower_left, calibration.follower_right]
    assert arms[0].motor_ids == arms[1].motor_ids  # same arm model on both sides
    for arm in arms:
        assert arm.gripper.normalize(arm.gripper.open_rad) == pytest.approx(1.0)
        assert arm.gripper.normalize(arm.gripper.closed_rad) == pytest.approx(0.0)


def test_invalid_calibrations_are_rejected_with_the_field(tmp_path: Path) -> None:
    source = json.loads((ROOT / "franka/fr3_sim" / CALIBRATION_FILE).read_text())
    bad = tmp_path / "fr3_sim"
    bad.mkdir()
    source["home_rad"][3] = 0.5  # above joint 4's upper limit
    (bad / CALIBRATION_FILE).write_text(json.dumps(source))
    with pytest.raises(ConfigError, match="joint 4"):
        load_calibration(bad)
    source = json.loads((ROOT / "aloha/default" / CALIBRATION_FILE).read_text())
    source["follower_left"]["gripper"]["motor"]["id"] = 1  # clashes with the waist
    (bad / CALIBRATION_FILE).write_text(json.dumps(source | {"id": "fr3_sim"}))
    with pytest.raises(ConfigError, match="unique"):
        load_calibration(bad)


def test_directory_name_must_match_the_id(tmp_path: Path) -> None:
    source = json.loads((ROOT / "franka/fr3_sim" / CALIBRATION_FILE).read_text())
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / CALIBRATION_FILE).write_text(json.dumps(source))
    with pytest.raises(ConfigError, match="directory name"):
        load_calibration(tmp_path / "other")
    assert isinstance(load_calibration(ROOT / "franka/fr3_sim"), FrankaCalibration)
