"""Where object poses may come from: ground truth for evaluation only, RGB-D where depth streams (``RunConfig``)."""

from __future__ import annotations

import pytest

from failforward.config import get_preset
from failforward.errors import ConfigError


def test_the_rgbd_preset_is_deployed_and_reads_no_ground_truth():
    config = get_preset("sim_transfer_cube_afil_rgbd")
    assert config.deployed and config.perception is not None and config.perception.kind == "rgbd"
    assert not config.robot.object_state and config.robot.depth_cameras == ("top",)
    assert get_preset("sim_transfer_cube_afil").perception.kind == "ground_truth"
    assert get_preset("sim_transfer_cube").perception is None


@pytest.mark.parametrize(
    "overrides",
    [{"perception": {"kind": "ground_truth"}}, {"robot.object_state": True}],
    ids=["ground_truth perception", "object_state"],
)
def test_a_deployed_run_refuses_the_simulators_poses(overrides):
    with pytest.raises(ConfigError, match=r"deployed \(deployed=true\).*for evaluation only.*or set deployed=false"):
        get_preset("sim_transfer_cube_afil_rgbd").with_overrides(overrides)


def test_a_real_cell_refuses_ground_truth():
    with pytest.raises(ConfigError, match=r"robot.kind='aloha' is a real cell.*perception.kind='rgbd'\)"):
        get_preset("aloha").with_overrides({"perception": {"kind": "ground_truth"}})


def test_ground_truth_needs_the_simulator_to_report_the_poses():
    with pytest.raises(ConfigError, match=r"passes the simulator's object poses through: set robot.object_state=true"):
        get_preset("sim_transfer_cube_afil").with_overrides({"robot.object_state": False})


def test_rgbd_needs_colour_and_depth_of_its_camera_and_no_ground_truth_beside_it():
    preset = get_preset("sim_transfer_cube_afil_rgbd")
    with pytest.raises(ConfigError, match=r"reads colour and depth of camera 'top': add it to .*robot.depth_cameras"):
        preset.with_overrides({"robot.depth_cameras": []})
    with pytest.raises(ConfigError, match=r"the policy could read the truth; set robot.object_state=false"):
        preset.with_overrides({"deployed": False, "robot.object_state": True})
    with pytest.raises(ConfigError, match=r"the 'franka' driver streams no depth yet"):
        get_preset("franka").with_overrides({"perception": {"kind": "rgbd"}})


def test_rgbd_is_chosen_by_override_on_a_simulated_preset():
    config = get_preset("sim_transfer_cube").with_overrides(
        {"robot.depth_cameras": ["top"], "perception": {"kind": "rgbd", "max_occlusion_s": 1.0}}
    )
    assert config.perception.kind == "rgbd" and config.perception.max_occlusion_s == 1.0
