"""PMC on the real simulated ALOHA: symbols → IK → trajectory, executed through the safety layer."""

from __future__ import annotations

import numpy as np
import pytest
from rec_helpers import HEIGHT, WIDTH, cube_centre, cube_pixel, drive, report_of

from failforward.config import BrokerConfig
from failforward.config.recovery import PmcConfig, RecoveryConfig
from failforward.control.broker import ChunkBroker
from failforward.kinematics.aloha_ik import AlohaIK
from failforward.policy.hold import HoldPolicy
from failforward.recovery import RecoveryState, TrajectoryCorrection
from failforward.recovery.context import JointHistory, PlanContext
from failforward.recovery.grasp import TopDownGraspEstimator
from failforward.recovery.modes.base import ModeResources, make_mode
from failforward.supervisor.commands import parse_commands
from failforward.supervisor.diagnosis import Diagnosis
from failforward.symbols.types import Crosshair, GripperState, Lock, StraightArrow
from failforward.types import EpisodeInfo


def diagnosis(text: str, symbols: tuple = ()) -> Diagnosis:
    return Diagnosis(
        question="visual_correction_cot",
        success=False,
        failure_type="gripper 6d-pose",
        command_text=text,
        commands=parse_commands(text),
        symbols=symbols,
        symbol_frame=0,
    )


def tool_position(driver, side: str = "right") -> np.ndarray:
    ik = AlohaIK(driver.task.xml_path)
    return ik.tool_poses(ik.arms_from_qpos(driver.scene.data.qpos))[side]


@pytest.fixture
def pmc(driver):
    """``plan(diagnosis, config)`` with a real PMC mode on the driver's scene (no motion)."""
    from failforward.recovery.camera import MujocoCamera

    ik = AlohaIK(driver.task.xml_path)

    def plan(d: Diagnosis, config: RecoveryConfig | None = None):
        config = config or RecoveryConfig()
        mode = make_mode("pmc", config, ModeResources(driver.features, 0.02, ik, TopDownGraspEstimator()))
        obs = driver.get_observation()
        context = PlanContext(
            obs,
            obs.joint_positions,
            JointHistory(10.0),
            None,
            driver.render("top", depth=True),
            MujocoCamera(driver.scene, "top"),
            (HEIGHT, WIDTH),
        )
        return mode.plan(d, context)

    return plan


def test_pmc_grasps_the_cube_under_a_crosshair_through_the_safety_layer(driver, safety, sim_controller) -> None:
    controller = sim_controller(RecoveryConfig())
    controller.on_episode_start(EpisodeInfo(0, 0, "transfer_cube", "", "sim_aloha", driver.features))
    uv = cube_pixel(driver, HEIGHT, WIDTH)
    regrasp = diagnosis(
        "Open the right gripper, and move the right gripper forward significantly.",
        (GripperState(position=(250.0, 60.0), state="ON"), Crosshair(position=uv)),
    )
    obs, trace = drive(
        driver,
        controller,
        safety,
        ChunkBroker(BrokerConfig()),
        HoldPolicy(),
        320,
        lambda tick, o: report_of(regrasp, o) if tick == 0 else None,
    )
    planned = controller.events[2]
    assert planned.kind == "planned" and planned.reason == "open → pregrasp → grasp → close"
    done = trace.kinds.index("ResumePolicy")
    assert set(trace.kinds[:done]) == {"JointOverride"} and controller.state is RecoveryState.NOMINAL
    sent = np.array(trace.sent[:done])
    assert np.max(np.abs(np.diff(sent[:, 7:13], axis=0))) <= 1.0 * 0.02 + 1e-9  # PMC's own speed limit
    assert np.ptp(sent[:, :7], axis=0).max() == 0.0  # the left arm held still
    cube = cube_centre(driver)
    assert np.linalg.norm(tool_position(driver).translation() - cube) < 0.01
    assert driver.privileged_state().stage >= 1 and 0.4 < obs.joint_positions[13] < 0.9  # closed on the cube


def test_pmc_moves_the_tool_by_the_configured_distance_along_the_robot_axes(pmc, driver) -> None:
    start = tool_position(driver).translation()
    result = pmc(diagnosis("Move the right gripper upward significantly and to the left slightly."))
    assert isinstance(result, TrajectoryCorrection) and result.arm == "right"
    ik = AlohaIK(driver.task.xml_path)
    end = ik.tool_poses(result.targets[-1][np.r_[0:6, 7:13]])["right"].translation()
    left = np.array([-1.0, 0.0, 0.0])  # head camera: image-up is world +y, so robot-left is world −x
    np.testing.assert_allclose(end - start, 0.06 * np.array([0, 0, 1.0]) + 0.02 * left, atol=0.01)


def test_pmc_rotates_clockwise_as_seen_from_the_head_camera(pmc, driver) -> None:
    before = tool_position(driver).rotation()
    result = pmc(diagnosis("Rotate the right gripper clockwise."))
    ik = AlohaIK(driver.task.xml_path)
    after = ik.tool_poses(result.targets[-1][np.r_[0:6, 7:13]])["right"].rotation()
    yaw = (after @ before.inverse()).log()
    assert yaw[2] == pytest.approx(-0.35, abs=0.1)  # the head camera looks down: clockwise = negative yaw
    assert np.linalg.norm(yaw[:2]) < 0.1


def test_an_arrow_without_text_moves_along_its_coloured_axis(pmc, driver) -> None:
    start = tool_position(driver).translation()
    uv = cube_pixel(driver, HEIGHT, WIDTH)
    arrow = StraightArrow(start=uv, end=(uv[0] + 4.0, uv[1] - 10.0), colors=("red",))  # red: forward only
    result = pmc(diagnosis("Open the right gripper.", (arrow,)))
    ik = AlohaIK(driver.task.xml_path)
    end = ik.tool_poses(result.targets[-1][np.r_[0:6, 7:13]])["right"].translation()
    depth = driver.render("top", depth=True)[int(uv[1]), int(uv[0])]
    forward = 10.0 / driver.scene.camera_intrinsics("top", HEIGHT, WIDTH)[1, 1] * depth  # [m], image-up = world +y
    np.testing.assert_allclose(end - start, [0.0, forward, 0.0], atol=0.01)
    assert result.targets[-1][13] == 1.0  # opened


@pytest.mark.parametrize(
    ("text", "symbols", "config", "reason"),
    [
        ("Open the right gripper.", (Crosshair(position=(400.0, 10.0)),), None, "outside the 320x240"),
        (
            "Move the right gripper upward significantly.",
            (),
            RecoveryConfig(pmc=PmcConfig(workspace_upper_m=(0.45, 1.0, 0.2))),
            "outside the workspace box",
        ),
        (
            "Move the right gripper forward significantly and left significantly.",
            (),
            RecoveryConfig(
                pmc=PmcConfig(significant_m=0.5, workspace_lower_m=(-2.0, -2.0, 0.0), workspace_upper_m=(2.0, 2.0, 2.0))
            ),
            "cannot reach",
        ),
        ("Move the left gripper left and the right gripper right.", (), None, "both grippers"),
        ("Hold the right gripper still.", (Lock(position=(10.0, 10.0)),), None, "PMC cannot follow"),
        ("Move it upward.", (), None, "no gripper"),
    ],
)
def test_pmc_refuses_what_it_cannot_follow_with_a_reason(pmc, text, symbols, config, reason) -> None:
    result = pmc(diagnosis(text, symbols), config)
    assert result.mode == "pmc" and reason in result.reason
