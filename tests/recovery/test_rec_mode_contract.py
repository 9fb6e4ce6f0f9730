"""Contract every registered corrective mode keeps: any diagnosis → a Correction or a typed Refusal, never an
exception, and every trajectory it plans is finite, of the driver's width, and starts where the robot is."""

from __future__ import annotations

import numpy as np
import pytest
from rec_helpers import HEIGHT, WIDTH

from failforward.config.recovery import RecoveryConfig
from failforward.errors import UnknownNameError
from failforward.kinematics.aloha_ik import AlohaIK
from failforward.recovery import HoldCorrection, PolicyCorrection, Refusal, TrajectoryCorrection
from failforward.recovery.camera import MujocoCamera
from failforward.recovery.context import JointHistory, PlanContext
from failforward.recovery.grasp import TopDownGraspEstimator
from failforward.recovery.modes.base import ModeResources, make_mode, registered_modes
from failforward.supervisor.commands import parse_commands
from failforward.supervisor.diagnosis import Diagnosis
from failforward.symbols.types import (
    Crosshair,
    DualCrosshair,
    GripperState,
    Lock,
    Rewind,
    RotatingArrow,
    StraightArrow,
)

TEXTS = [
    "",
    "Hold still.",
    "Move the right gripper left significantly and rotate it clockwise.",
    "Close the left gripper.",
    "Move the left gripper upward and the right gripper downward.",
    "gibberish",
]
SYMBOLS = [
    (),
    (Crosshair(position=(160.0, 120.0)),),
    (Crosshair(position=(0.0, 0.0)),),
    (StraightArrow(start=(100.0, 100.0), end=(320.0, 240.0), colors=("blue",)),),
    (DualCrosshair(start=(150.0, 100.0), end=(200.0, 140.0)),),
    (RotatingArrow(center=(5.0, 5.0), direction="clockwise"),),
    (GripperState(position=(10.0, 10.0), state="OFF"), Lock(position=(3.0, 3.0)), Rewind(position=(1.0, 1.0))),
]


@pytest.fixture
def contexts(driver):
    """Two planning contexts on the real scene: with depth and camera, and with neither."""
    obs = driver.get_observation()
    history = JointHistory(10.0)
    history.append(obs.timestamp - 1.0, obs.joint_positions, obs.joint_positions + 0.05)
    full = PlanContext(
        obs,
        obs.joint_positions,
        history,
        None,
        driver.render("top", depth=True),
        MujocoCamera(driver.scene, "top"),
        (HEIGHT, WIDTH),
    )
    bare = PlanContext(obs, obs.joint_positions, JointHistory(10.0))
    return full, bare


@pytest.mark.parametrize("name", sorted(set(registered_modes())))
def test_every_mode_answers_every_diagnosis_with_a_correction_or_a_refusal(name, driver, contexts) -> None:
    config = RecoveryConfig()
    mode = make_mode(
        name, config, ModeResources(driver.features, 0.02, AlohaIK(driver.task.xml_path), TopDownGraspEstimator())
    )
    start = contexts[0].hold_positions
    for text in TEXTS:
        for symbols in SYMBOLS:
            for success in (False, True):
                diagnosis = Diagnosis(
                    question="visual_correction_cot",
                    success=success,
                    command_text=text,
                    commands=parse_commands(text),
                    symbols=symbols,
                )
                for context in contexts:
                    result = mode.plan(diagnosis, context)
                    assert isinstance(result, TrajectoryCorrection | PolicyCorrection | HoldCorrection | Refusal)
                    if isinstance(result, Refusal):
                        assert result.mode == name and result.reason
                    if isinstance(result, TrajectoryCorrection):
                        assert result.targets.shape[1] == driver.features.action_dim
                        first_step = np.abs(result.targets[0] - start)
                        assert np.all(first_step <= driver.features.max_velocity * 0.02 + 1e-9)


def test_an_unknown_mode_name_says_which_exist() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'pmc'"):
        make_mode("pcm", RecoveryConfig(), ModeResources(features=None, control_dt=0.02))  # type: ignore[arg-type]
