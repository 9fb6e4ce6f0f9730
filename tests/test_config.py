from __future__ import annotations

import json
import typing

import pytest

from failforward.config import (
    PRESETS,
    AlohaConfig,
    FrankaConfig,
    RecoveryConfig,
    RobotConfig,
    RunConfig,
    SimAlohaConfig,
    flatten_config,
    get_preset,
    load_config,
)
from failforward.config.recovery import CorrectiveModeName
from failforward.errors import ConfigError, UnknownNameError


def test_unknown_preset_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'sim_insertion'"):
        get_preset("sim_insertoin")


def test_every_preset_round_trips_through_plain_data() -> None:
    for name, preset in PRESETS.items():
        assert load_config(preset.model_dump(mode="json")) == preset, name


def test_overrides_apply_dotted_keys_and_validate() -> None:
    cfg = get_preset("sim_transfer_cube").with_overrides(
        {"robot.task": "insertion", "supervisor.backend.task": "insertion", "episodes": 5}
    )
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


ROBOT_CONFIGS = typing.get_args(RunConfig.model_fields["robot"].annotation)


def test_every_robot_config_says_kind_task_and_control_rate() -> None:
    assert {c.__name__ for c in ROBOT_CONFIGS} >= {"SimAlohaConfig", "AlohaConfig", "FrankaConfig", "ManiSkillConfig"}
    for cls in ROBOT_CONFIGS:
        config = cls()
        assert isinstance(config, RobotConfig) and isinstance(config.task, str), cls
        assert typing.get_args(cls.model_fields["kind"].annotation) == (config.kind,), cls  # a one-value Literal
        assert config.control_hz > 0, cls
    assert SimAlohaConfig().control_hz == 50.0 and AlohaConfig().control_hz == 50.0 and FrankaConfig().task == ""


def test_simulated_rates_are_fixed_and_hardware_rates_configurable() -> None:
    with pytest.raises(ConfigError, match="extra"):
        load_config({"robot": {"kind": "sim_aloha", "control_hz": 25.0}})
    assert load_config({"robot": {"kind": "franka", "control_hz": 25.0}}).robot.control_hz == 25.0


def test_a_robot_config_without_a_control_rate_is_refused() -> None:
    with pytest.raises(TypeError, match="control_hz"):  # raised by the class statement

        class NoRate(RobotConfig):
            kind: typing.Literal["no_rate"] = "no_rate"
            task: str = ""


def test_corrective_modes_are_an_enum_written_as_before() -> None:
    for text in ("pmc", "vsf"):
        config = RecoveryConfig(mode=text)
        assert config.mode is CorrectiveModeName(text) and config.mode == text and f"{config.mode}" == text
        assert config.model_dump(mode="json")["mode"] == text and json.dumps(config.model_dump()["mode"]) == f'"{text}"'
    for refused in ("hold", "rewind", "PMC"):
        with pytest.raises(ValueError, match="pmc"):
            RecoveryConfig(mode=refused)
    flat = flatten_config(get_preset("sim_transfer_cube"))
    assert type(flat["recovery.mode"]) is str and flat["recovery.mode"] == "pmc"
    assert [m.value for m in CorrectiveModeName] == ["hold", "rewind", "pmc", "vsf"]


def test_overrides_switch_an_optional_section_on_by_its_fields() -> None:
    """How a ROS parameter file sets a section its preset leaves off (``None``): field by field."""
    fields = {"supervisor.detector.kind": "dual_head", "supervisor.detector.threshold": 0.02}
    detector = get_preset("sim_transfer_cube_afil").with_overrides(fields).supervisor.detector
    assert detector is not None and (detector.kind, detector.threshold) == ("dual_head", 0.02)
    with pytest.raises(ConfigError, match="threshold"):  # a section switched on still needs its required fields
        get_preset("sim_transfer_cube_afil").with_overrides({"supervisor.detector.kind": "dual_head"})
    with pytest.raises(ConfigError, match="detectr"):
        get_preset("sim_transfer_cube_afil").with_overrides({"supervisor.detectr.kind": "dual_head"})
    with pytest.raises(ConfigError, match="seed"):  # a section that is on keeps refusing fields it does not have
        get_preset("sim_transfer_cube_afil").with_overrides({"supervisor.schedule.seed": 1})
