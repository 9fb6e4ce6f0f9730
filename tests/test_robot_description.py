"""Contract: what ``describe_robot`` says without building a driver is what the driver says once built.

Hardware drivers are built without hardware (their features come from the calibration); ManiSkill needs its
own venv and is skipped elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import failforward.testing  # noqa: F401 - registers the fake robot
from failforward.config import AlohaConfig, CameraConfig, FrankaConfig, ManiSkillConfig, RobotConfig, SimAlohaConfig
from failforward.config.robots import FakeRobotConfig
from failforward.robots.base import EpisodicDriver
from failforward.robots.registry import DESCRIPTIONS, DRIVERS, describe_robot, make_driver

ROOT = Path(__file__).resolve().parents[1]
CAMERA = CameraConfig(name="top", device="/dev/video0", width=320, height=240)

# name → (config, modules the driver needs)
CASES: dict[str, tuple[Callable[[], RobotConfig], tuple[str, ...]]] = {
    "fake": (lambda: FakeRobotConfig(joint_names=("a", "b"), cameras=("top", "side"), control_hz=25.0), ()),
    "sim_aloha": (lambda: SimAlohaConfig(), ("mujoco", "gym_aloha")),
    "sim_aloha_insertion": (
        lambda: SimAlohaConfig(
            task="insertion",
            cameras=("top", "left_wrist"),
            depth_cameras=("top",),
            image_height=64,
            image_width=96,
            object_state=True,
        ),
        ("mujoco", "gym_aloha"),
    ),
    "aloha": (
        lambda: AlohaConfig(calibration_dir=ROOT / "calibration/aloha/default", cameras=(CAMERA,), control_hz=30.0),
        ("dynamixel_sdk",),
    ),
    "franka": (
        lambda: FrankaConfig(calibration_dir=ROOT / "calibration/franka/fr3_sim", cameras=(CAMERA,)),
        ("franky",),
    ),
    "franka_without_gripper": (
        lambda: FrankaConfig(calibration_dir=ROOT / "calibration/franka/fr3_sim", gripper=False),
        ("franky",),
    ),
    "maniskill": (lambda: ManiSkillConfig(task="PullCube-v1", object_state=True), ("mani_skill",)),
}


@pytest.mark.parametrize("case", CASES)
def test_description_is_what_the_driver_says(case: str) -> None:
    make_config, needs = CASES[case]
    for module in needs:
        pytest.importorskip(module)
    config = make_config()
    description = describe_robot(config)
    driver = make_driver(config)
    try:
        assert description.features == driver.features
        assert description.features.control_hz == config.control_hz
        assert description.episodic == isinstance(driver, EpisodicDriver)
        assert description.prompt == (driver.task_prompt if isinstance(driver, EpisodicDriver) else "")
    finally:
        driver.disconnect()


def test_every_driver_kind_has_a_description() -> None:
    assert set(DESCRIPTIONS.names()) == set(DRIVERS.names())
    assert set(DRIVERS.names()) <= set(CASES)  # every kind is checked above
