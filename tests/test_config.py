from __future__ import annotations

import pytest

from failforward.config import PRESETS, RunConfig, SimAlohaConfig, get_preset, load_config
from failforward.errors import ConfigError, UnknownNameError


def test_unknown_preset_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'sim_insertion'"):
        get_preset("sim_insertoin")


def test_every_preset_round_trips_through_plain_data() -> None:
    for name, preset in PRESETS.items():
        assert load_config(preset.model_dump(mode="json")) == preset, name


def test_overrides_apply_dotted_keys_and_validate() -> None:
    cfg = get_preset("sim_transfer_cube").with_overrides(
        {"robot.task": "insertion", "supervisor.backend.task": "insertion", "episodes": 5})
    assert cfg.robot.task == "insertion" and cfg.episodes == 5
    with pytest.raises(ConfigError, match=r"must match robot\.task"):
        get_preset("sim_transfer_cube").with_overrides({"robot.task": "insertion"})
    with pytest.raises(ConfigError):
        cfg.with_overrides({"episodes": 0})
    with pytest.raises(UnknownNameError, match=r"Did you mean 'loop\.max_steps'"):
        cfg.with_overrides({"loop.max_step": 3})


def test_configs_are_frozen_and_reject_unknown_keys() -> None:
    cfg = RunConfig()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen assignment
        cfg.episodes = 3  # type: ignore[misc]
    with pytest.raises(ConfigError, match="extra"):
        load_config({"robot": {"kind": "sim_aloha", "tsk": "insertion"}})


def test_depth_cameras_must_be_rendered() -> None:
    with pytest.raises(ValueError, match="depth_cameras"):
        SimAlohaConfig(cameras=("top",), depth_cameras=("left_wrist",))
