"""The launch files as a user runs them, checked without ``launch`` (no wheel exists on PyPI).

``launch`` and ``launch_ros`` are replaced by recording stand-ins (the edge of what can be installed here),
so each launch file is imported and its ``generate_launch_description()`` runs for real; the lifecycle
event handlers it registers are then played like launch plays them, to check the bring-up order. The
package share is looked up the way launch does (``get_package_share_directory``), from the venv.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from failforward_ros.launch_args import package_share, run_config_from
from test_params import launch_nodes

from failforward.config import PRESETS, get_preset
from failforward.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = ROOT / "launch"
SETUP = ROOT / "ros2_ws" / "src" / "failforward_ros" / "setup.py"
ACTIVATION_ORDER = ["robot_bridge", "recorder_node", "supervisor_node", "policy_node"]


# ------------------------------------------------------------ launch stand-ins
@dataclass
class Recorded:
    """Any launch object: what it was built with."""

    kind: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def _recording(kind: str) -> type:
    class Stand(Recorded):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(kind, args, kwargs)

    Stand.__name__ = kind
    return Stand


STAND_INS = {
    "launch": ["LaunchDescription"],
    "launch.actions": [
        "DeclareLaunchArgument",
        "EmitEvent",
        "RegisterEventHandler",
        "IncludeLaunchDescription",
        "OpaqueFunction",
        "LogInfo",
    ],
    "launch.events": [],
    "launch.launch_description_sources": ["PythonLaunchDescriptionSource"],
    "launch.substitutions": ["LaunchConfiguration", "PathJoinSubstitution"],
    "launch_ros.actions": ["LifecycleNode", "Node"],
    "launch_ros.event_handlers": ["OnStateTransition"],
    "launch_ros.events.lifecycle": ["ChangeState"],
    "launch_ros.substitutions": ["FindPackageShare"],
    "launch_ros.parameter_descriptions": ["ParameterValue"],
}


@pytest.fixture
def launch_stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, classes in STAND_INS.items():
        module = types.ModuleType(name)
        for cls in classes:
            setattr(module, cls, _recording(cls))
        monkeypatch.setitem(sys.modules, name, module)
    sys.modules["launch.events"].matches_action = lambda action: ("matches", action)  # type: ignore[attr-defined]
    for parent in ("launch_ros", "launch_ros.events"):
        monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))


def load_launch_file(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem.replace(".", "_"), path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bring_up(description: Recorded) -> list[tuple[str, str]]:
    """Play the description's lifecycle events as launch would: [(node name, transition)] in order."""
    from lifecycle_msgs.msg import Transition

    entities = description.args[0]
    handlers = [e.args[0] for e in entities if e.kind == "RegisterEventHandler"]
    pending = [e for e in entities if e.kind == "EmitEvent"]
    reached = {Transition.TRANSITION_CONFIGURE: "inactive", Transition.TRANSITION_ACTIVATE: "active"}
    names = {Transition.TRANSITION_CONFIGURE: "configure", Transition.TRANSITION_ACTIVATE: "activate"}
    played: list[tuple[str, str]] = []
    while pending:
        change = pending.pop(0).kwargs["event"]
        node = change.kwargs["lifecycle_node_matcher"][1]
        transition = change.kwargs["transition_id"]
        played.append((node.kwargs["name"], names[transition]))
        assert len(played) < 50, "the lifecycle events never settle"
        for handler in handlers:
            if handler.kwargs["target_lifecycle_node"] is node and handler.kwargs["goal_state"] == reached[transition]:
                pending.extend(handler.kwargs["entities"])
    return played


# ------------------------------------------------------------------- tests
def test_nodes_come_up_one_after_the_other_in_the_promised_order(launch_stand_ins) -> None:
    description = load_launch_file(LAUNCH / "failforward.launch.py").generate_launch_description()
    played = bring_up(description)
    expected = [(name, step) for name in ACTIVATION_ORDER for step in ("configure", "activate")]
    assert played == expected  # each node is configured only once the one before it is active
    assert [name for _, name in launch_nodes(LAUNCH / "failforward.launch.py")] == ACTIVATION_ORDER


def test_policy_and_model_dir_default_to_the_presets(launch_stand_ins) -> None:
    module = load_launch_file(LAUNCH / "failforward.launch.py")
    declared = {
        e.args[0]: e.kwargs["default_value"]
        for e in module.generate_launch_description().args[0]
        if e.kind == "DeclareLaunchArgument"
    }
    assert declared["policy"] == "" and declared["model_dir"] == ""
    nodes = [e for e in module.generate_launch_description().args[0] if e.kind == "LifecycleNode"]
    for node in nodes:  # every node gets the launch arguments as the parameters node_params reads
        assert set(node.kwargs["parameters"][1]) == {"policy_kind", "model_dir", "supervisor_endpoint", "foxglove"}


@pytest.mark.parametrize("robot", ["sim_aloha", "aloha", "franka"])
def test_robot_launch_files_build_and_forward_every_argument(launch_stand_ins, robot: str) -> None:
    description = load_launch_file(LAUNCH / f"{robot}.launch.py").generate_launch_description()
    include = next(e for e in description.args[0] if e.kind == "IncludeLaunchDescription")
    forwarded = dict(include.kwargs["launch_arguments"])
    stack = load_launch_file(LAUNCH / "failforward.launch.py")
    assert set(forwarded) <= set(stack.ARGUMENTS)
    assert {"preset", "policy", "model_dir"} <= set(forwarded)


def test_the_package_share_is_found_from_the_venv() -> None:
    share = package_share()
    assert share is not None, "get_package_share_directory('failforward_ros') failed: run ./run once to link it"
    installed = set(re.findall(r'f"share/\{PACKAGE\}/(\w+)', SETUP.read_text()))
    assert installed >= {"launch", "params", "rviz", "models"}
    for sub in installed:  # what a colcon install puts in the share is in the venv's share too
        assert (share / sub).is_dir(), f"share/failforward_ros/{sub} is missing"
    for path in LAUNCH.glob("*.launch.py"):
        assert (share / "launch" / path.name).is_file()
    preset_files = {p.stem for p in (share / "params").glob("*.yaml")}
    for robot in ("sim_aloha", "aloha", "franka"):
        text = (LAUNCH / f"{robot}.launch.py").read_text()
        default = re.search(r'"preset": "(\w+)"', text)
        assert default and default.group(1) in preset_files
    assert (share / "rviz" / "failforward.rviz").is_file()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_robot_state_publisher_gets_the_urdf_of_the_presets_robot(launch_stand_ins, preset: str) -> None:
    """The URDF the launch file names for the preset's robot exists in the share and becomes robot_description."""
    from failforward.robots.urdf import URDF_OF_KIND

    module = load_launch_file(LAUNCH / "failforward.launch.py")
    tf = next(e for e in module.generate_launch_description().args[0] if e.kind == "OpaqueFunction")
    context = types.SimpleNamespace(launch_configurations={"preset": preset, "robot_id": "sim"})
    [action] = tf.kwargs["function"](context)
    kind = get_preset(preset).robot.kind
    if kind not in URDF_OF_KIND:
        assert action.kind == "LogInfo" and module.robot_urdf(preset) is None
        return
    urdf = module.robot_urdf(preset)
    assert urdf is not None and urdf.is_file(), f"{urdf} is missing: is the URDF shipped in share/failforward_ros/urdf?"
    assert urdf == package_share() / "urdf" / URDF_OF_KIND[kind]
    assert action.kind == "Node" and action.kwargs["executable"] == "robot_state_publisher"
    assert action.kwargs["namespace"] == "sim"  # joint_states and robot_description of this robot
    description = action.kwargs["parameters"][0]["robot_description"]
    assert description.kwargs["value_type"] is str and description.args[0] == urdf.read_text()
    assert '<link name="world"' in description.args[0]
    assert action.kwargs["parameters"][0]["use_sim_time"] == (kind == "sim_aloha")  # TF on robot_bridge's /clock


def test_the_shipped_model_is_found_from_any_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # ros2 launch runs nodes wherever the user is
    config = run_config_from("sim_transfer_cube_afil", {}, {"policy_kind": "", "model_dir": ""})
    model_dir = Path(config.policy.model_dir)  # type: ignore[union-attr]
    assert (model_dir / "manifest.json").is_file()


def test_a_policy_argument_replaces_the_presets_policy_section() -> None:
    assert get_preset("sim_transfer_cube_afil").policy.kind == "afil"
    config = run_config_from("sim_transfer_cube_afil", {}, {"policy_kind": "hold"})
    assert config.policy.kind == "hold"
    same = run_config_from("sim_transfer_cube_afil", {}, {"policy_kind": "afil"})
    assert same.policy.kind == "afil"


def test_a_missing_model_dir_says_how_to_pass_one(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="model_dir:="):
        run_config_from("sim_transfer_cube_afil", {}, {"model_dir": "models/no_such_model"})


def test_a_supervisor_endpoint_selects_the_openai_backend() -> None:
    assert get_preset("sim_transfer_cube").supervisor.backend.kind == "sim_oracle"
    config = run_config_from(
        "sim_transfer_cube", {"supervisor.backend.stall_s": 1.0}, {"supervisor_endpoint": "http://h:1/v1"}
    )
    assert config.supervisor.backend.kind == "openai" and config.supervisor.backend.base_url == "http://h:1/v1"
    aloha = run_config_from("aloha", {}, {"supervisor_endpoint": "http://h:2/v1"})
    assert aloha.supervisor.backend.base_url == "http://h:2/v1"  # type: ignore[union-attr]


def test_a_foxglove_argument_turns_the_live_view_on() -> None:
    assert not get_preset("sim_transfer_cube").viz.foxglove.enabled
    assert run_config_from("sim_transfer_cube", {}, {"foxglove": "True"}).viz.foxglove.enabled
    assert not run_config_from("sim_transfer_cube", {}, {"foxglove": ""}).viz.foxglove.enabled
    with pytest.raises(ConfigError, match="foxglove"):
        run_config_from("sim_transfer_cube", {}, {"foxglove": "yes please"})
