"""ManiSkill presets and config, checked in every venv (no ManiSkill needed)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from failforward.config import ManiSkillConfig, get_preset, load_config
from failforward.config.maniskill import MANISKILL_CONTROL_HZ
from failforward.errors import ConfigError, DriverError
from failforward.robots.registry import make_driver

PRESETS = {
    "maniskill_stack_cube": "StackCube-v1",
    "maniskill_lift_peg_upright": "LiftPegUpright-v1",
    "maniskill_pull_cube": "PullCube-v1",
}


@pytest.mark.parametrize(("preset", "task"), PRESETS.items())
def test_presets_run_the_expert_at_maniskill_rate_within_the_env_limit(preset: str, task: str) -> None:
    config = get_preset(preset)
    assert isinstance(config.robot, ManiSkillConfig) and config.robot.task == task
    assert config.policy.kind == "maniskill_expert" and not config.supervisor.enabled
    assert config.loop.rate_hz == MANISKILL_CONTROL_HZ and not config.loop.realtime
    assert config.robot.max_episode_steps >= config.loop.max_steps  # the env never truncates before the loop


def test_unknown_task_is_rejected_with_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="PullCube-v1"):
        load_config({"robot": {"kind": "maniskill", "task": "PushCube-v1"}})


def test_config_does_not_import_maniskill() -> None:
    code = "import sys, failforward.config, failforward.robots.maniskill; sys.exit('mani_skill' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0


@pytest.mark.skipif(importlib.util.find_spec("mani_skill") is not None, reason="ManiSkill is installed here")
def test_without_maniskill_the_driver_says_how_to_set_it_up() -> None:
    with pytest.raises(DriverError, match=r"setup_maniskill\.sh"):
        make_driver(ManiSkillConfig())
