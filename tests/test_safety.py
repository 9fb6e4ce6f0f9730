"""Property tests: no sequence of targets makes a safe command leave the limits or move too fast."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failforward.config import SafetyConfig
from failforward.control.safety import SafetyLayer
from failforward.errors import SafetyError, ShapeError
from failforward.types import JointFeature, RobotFeatures

FEATURES = RobotFeatures(
    joints=(
        JointFeature("shoulder", "rad", -1.0, 1.0, 2.0),
        JointFeature("elbow", "rad", -2.0, 0.5, 3.0),
        JointFeature("gripper", "normalized", 0.0, 1.0, 5.0),
    ),
    cameras=(),
    control_hz=50.0,
)
CONFIG = SafetyConfig(joint_margin=0.05, velocity_scale=0.5)
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)


def make_layer() -> SafetyLayer:
    layer = SafetyLayer(FEATURES, CONFIG, rate_hz=50.0)
    layer.reset(np.zeros(3) + [0.0, -0.5, 0.5])
    return layer


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(ANY_FLOAT, min_size=3, max_size=3), min_size=1, max_size=40))
def test_no_target_sequence_escapes_limits_or_rate(targets: list[list[float]]) -> None:
    layer = make_layer()
    span = FEATURES.upper - FEATURES.lower
    lower, upper = FEATURES.lower + 0.05 * span, FEATURES.upper - 0.05 * span
    max_step = 0.5 * FEATURES.max_velocity / 50.0
    previous = layer.last_command
    for target in targets:
        command = layer.clamp(np.array(target)).command
        assert np.all(np.isfinite(command))
        assert np.all(command >= lower - 1e-12) and np.all(command <= upper + 1e-12)
        assert np.all(np.abs(command - previous) <= max_step + 1e-12)
        previous = command


def test_nan_target_holds_the_last_command() -> None:
    layer = make_layer()
    first = layer.clamp(np.array([0.01, -0.5, 0.5])).command
    result = layer.clamp(np.array([np.nan, 0.0, 0.0]))
    assert result.held and np.array_equal(result.command, first)


def test_out_of_limit_target_is_clamped_and_reported() -> None:
    layer = make_layer()
    for _ in range(200):
        result = layer.clamp(np.array([5.0, -0.5, 0.5]))
    assert result.command[0] == pytest.approx(0.9) and result.limited[0]


def test_wrong_shape_and_missing_reset_are_typed_errors() -> None:
    with pytest.raises(SafetyError, match="before reset"):
        SafetyLayer(FEATURES, CONFIG, 50.0).clamp(np.zeros(3))
    with pytest.raises(ShapeError):
        make_layer().clamp(np.zeros(4))
    with pytest.raises(SafetyError, match="finite"):
        SafetyLayer(FEATURES, CONFIG, 50.0).reset(np.array([np.nan, 0.0, 0.0]))
