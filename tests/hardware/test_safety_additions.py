"""Safety layer additions: latched e-stop, deadman watchdog, Cartesian workspace box (property tests)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failforward.config import SafetyConfig
from failforward.control.estop import EStop
from failforward.control.safety import SafetyLayer
from failforward.control.watchdog import DeadmanWatchdog
from failforward.errors import SafetyError
from failforward.types import JointFeature, RobotFeatures

FEATURES = RobotFeatures(
    joints=(
        JointFeature("shoulder", "rad", -2.5, 2.5, 2.0),
        JointFeature("elbow", "rad", -2.5, 2.5, 3.0),
        JointFeature("gripper", "normalized", 0.0, 1.0, 5.0),
    ),
    cameras=(),
    control_hz=50.0,
)
RATE = 50.0
BOX = SafetyConfig(joint_margin=0.02, workspace_lower_m=(-0.3, -0.5, -0.1), workspace_upper_m=(0.8, 0.5, 0.1))
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)
TARGETS = st.lists(ANY_FLOAT, min_size=3, max_size=3).map(np.array)


def planar_fk(q: np.ndarray) -> np.ndarray:
    """Tip of a planar two-link arm (0.5 m, 0.4 m) in the base frame [m]: ``[1, 3]``."""
    elbow = 0.5 * np.array([np.cos(q[0]), np.sin(q[0])])
    tip = elbow + 0.4 * np.array([np.cos(q[0] + q[1]), np.sin(q[0] + q[1])])
    return np.array([[tip[0], tip[1], 0.0]])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _bounds(config: SafetyConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    span = FEATURES.upper - FEATURES.lower
    lower, upper = FEATURES.lower + config.joint_margin * span, FEATURES.upper - config.joint_margin * span
    return lower, upper, config.velocity_scale * FEATURES.max_velocity / RATE


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(TARGETS, st.floats(0.0, 0.5), st.sampled_from(["none", "feed", "trigger", "reset"])),
        min_size=1,
        max_size=40,
    )
)
def test_no_input_sequence_sends_beyond_limits_or_rate_and_estop_blocks_until_reset(steps) -> None:
    clock, estop = FakeClock(), EStop()
    watchdog = DeadmanWatchdog(0.2, clock)
    config = SafetyConfig(joint_margin=0.05, velocity_scale=0.5)
    layer = SafetyLayer(FEATURES, config, RATE, watchdog=watchdog, estop=estop)
    layer.reset(np.array([0.0, 0.5, 0.5]))
    lower, upper, max_step = _bounds(config)
    previous = layer.last_command
    for target, dt, event in steps:
        clock.now += dt
        {"feed": watchdog.feed, "trigger": lambda: estop.trigger("test"), "reset": estop.reset, "none": lambda: None}[
            event
        ]()
        if estop.is_latched:
            with pytest.raises(SafetyError, match="E-stop"):
                layer.clamp(target)
            continue
        result = layer.clamp(target)
        command = result.command
        assert np.all(np.isfinite(command))
        assert np.all(command >= lower - 1e-12) and np.all(command <= upper + 1e-12)
        assert np.all(np.abs(command - previous) <= max_step + 1e-12)
        if watchdog.age() > 0.2:
            assert result.held and result.reason == "watchdog"
            np.testing.assert_array_equal(command, previous)
        previous = command


@settings(max_examples=150, deadline=None)
@given(st.lists(TARGETS, min_size=1, max_size=60))
def test_starting_inside_the_workspace_box_no_command_leaves_it(targets) -> None:
    layer = SafetyLayer(FEATURES, BOX, RATE, forward_kinematics=planar_fk)
    layer.reset(np.array([0.0, 1.0, 0.5]))  # tip at (0.72, 0.34): inside
    lower, upper, max_step = _bounds(BOX)
    previous = layer.last_command
    for target in targets:
        command = layer.clamp(target).command
        tip = planar_fk(command)[0]
        assert np.all(tip >= np.array(BOX.workspace_lower_m) - 1e-9)
        assert np.all(tip <= np.array(BOX.workspace_upper_m) + 1e-9)
        assert np.all(command >= lower - 1e-12) and np.all(command <= upper + 1e-12)
        assert np.all(np.abs(command - previous) <= max_step + 1e-12)
        previous = command


def test_workspace_box_shortens_a_step_that_would_leave_it() -> None:
    layer = SafetyLayer(FEATURES, BOX, RATE, forward_kinematics=planar_fk)
    start = np.array([0.0, 0.3, 0.5])  # tip x ≈ 0.88 m: starts 8 cm outside the box (x ≤ 0.8 m)
    layer.reset(start)
    outside_before = planar_fk(start)[0, 0] - 0.8
    result = layer.clamp(start + np.array([0.0, -0.1, 0.0]))  # straightening the elbow moves x further out
    assert result.workspace_limited
    assert planar_fk(result.command)[0, 0] - 0.8 <= outside_before + 1e-12


def test_a_workspace_box_without_kinematics_is_refused() -> None:
    with pytest.raises(SafetyError, match="forward_kinematics"):
        SafetyLayer(FEATURES, BOX, RATE)


def test_estop_keeps_the_first_reason_latches_across_threads_and_needs_reset() -> None:
    estop = EStop()
    thread = threading.Thread(target=estop.trigger, args=("operator button",))
    thread.start()
    thread.join()
    estop.trigger("second")
    assert estop.is_latched and estop.reason == "operator button"
    layer = SafetyLayer(FEATURES, SafetyConfig(), RATE, estop=estop)
    layer.reset(np.zeros(3) + 0.5)
    with pytest.raises(SafetyError, match="operator button"):
        layer.clamp(np.zeros(3) + 0.5)
    estop.reset()
    assert layer.clamp(np.zeros(3) + 0.5).command.shape == (3,)


def test_watchdog_expires_after_its_timeout_and_feeding_revives_it() -> None:
    clock = FakeClock()
    watchdog = DeadmanWatchdog(0.2, clock)
    clock.now = 0.19
    assert not watchdog.expired
    clock.now = 0.21
    assert watchdog.expired and watchdog.age() == pytest.approx(0.21)
    watchdog.feed()
    assert not watchdog.expired
    with pytest.raises(ValueError, match="positive"):
        DeadmanWatchdog(0.0)
