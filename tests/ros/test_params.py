"""Every launch/params file loads into exactly its preset; launch files and the tested process list agree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from failforward.config import PRESETS, flatten_config, get_preset

ROOT = Path(__file__).resolve().parents[2]
PARAMS = sorted((ROOT / "launch" / "params").glob("*.yaml"))


def _flat(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def test_there_is_a_params_file_per_preset() -> None:
    assert {p.stem for p in PARAMS} == set(PRESETS)


@pytest.mark.parametrize("path", PARAMS, ids=lambda p: p.stem)
def test_params_file_mirrors_its_preset(path: Path) -> None:
    parameters = _flat(yaml.safe_load(path.read_text())["/**"]["ros__parameters"])
    preset = parameters.pop("preset")
    assert preset == path.stem
    assert parameters == flatten_config(get_preset(preset))  # field by field, no defaults of its own
    assert get_preset(preset).with_overrides(parameters) == get_preset(preset)


def launch_nodes(path: Path) -> list[tuple[str, str]]:
    """The ``NODES`` list of a launch file, read without importing ``launch`` (no wheel exists)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "NODES" for t in node.targets):
            return [tuple(item) for item in ast.literal_eval(node.value)]
    raise AssertionError(f"{path} has no NODES list")


def test_launch_executables_are_console_scripts() -> None:
    setup = (ROOT / "ros2_ws" / "src" / "failforward_ros" / "setup.py").read_text()
    for executable, _ in launch_nodes(ROOT / "launch" / "failforward.launch.py"):
        assert f'"{executable} = failforward_ros.' in setup, f"{executable} is not installed"


def robot_defaults(path: Path) -> dict[str, str]:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "DEFAULTS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path} has no DEFAULTS")


@pytest.mark.parametrize("robot", ["sim_aloha", "aloha", "franka"])
def test_robot_launch_files_name_an_existing_preset(robot: str) -> None:
    path = ROOT / "launch" / f"{robot}.launch.py"
    defaults = robot_defaults(path)
    get_preset(defaults["preset"])  # raises with "did you mean" if it does not exist
    assert "failforward.launch.py" in path.read_text()
    ast.parse(path.read_text())
