"""The real ALOHA driver against the Dynamixel emulator: contract, units, modes, first move, teleop."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from failforward.config import AlohaConfig
from failforward.errors import ConfigError, DriverError
from failforward.robots import make_driver
from failforward.robots.aloha import JOINT_NAMES, AlohaDriver
from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.emulator import DynamixelEmulator, aloha_buses, aloha_port_settings
from failforward.testing.driver_contract import RobotDriverContract
from failforward.types import JointCommand

ROOT = Path(__file__).resolve().parents[2]


def aloha_config(emulator: DynamixelEmulator, **overrides: object) -> AlohaConfig:
    """An ALOHA config on the emulator's ptys with the repository's default calibration, fast homing."""
    values = {"calibration_dir": ROOT / "calibration/aloha/default", "homing_speed": 3.0}
    return AlohaConfig(**(values | aloha_port_settings(emulator) | overrides))


class TestAlohaContract(RobotDriverContract):
    @pytest.fixture(autouse=True)
    def _use_emulator(self, shared_emulator: DynamixelEmulator) -> None:
        self.emulator = shared_emulator

    def make_driver(self) -> AlohaDriver:
        return AlohaDriver(aloha_config(self.emulator))


def test_joint_order_and_units_match_the_simulated_aloha() -> None:
    from failforward.sim.aloha_scene import JOINT_NAMES as SIM_JOINT_NAMES

    driver = make_driver(AlohaConfig())  # features need only the calibration, no hardware
    assert isinstance(driver, AlohaDriver)
    assert JOINT_NAMES == SIM_JOINT_NAMES == driver.features.joint_names
    units = [j.unit for j in driver.features.joints]
    assert units == (["rad"] * 6 + ["normalized"]) * 2


def test_connect_sets_modes_current_limit_return_delay_and_torque(shared_emulator: DynamixelEmulator) -> None:
    with AlohaDriver(aloha_config(shared_emulator)):
        joint = shared_emulator.motor_state("follower_left", 2)
        gripper = shared_emulator.motor_state("follower_right", 9)
    assert joint["operating_mode"] == ct.OperatingMode.POSITION and joint["torque_enable"] == 1
    assert gripper["operating_mode"] == ct.OperatingMode.CURRENT_BASED_POSITION
    assert gripper["current_limit"] == 300 and gripper["goal_current"] == 300
    assert joint["return_delay_time"] == 0


def test_commands_reach_the_motors_in_calibrated_units(shared_emulator: DynamixelEmulator) -> None:
    cal_grip = AlohaDriver(aloha_config(shared_emulator)).calibration.follower_left.gripper
    with AlohaDriver(aloha_config(shared_emulator)) as robot:
        target = robot.get_observation().joint_positions.copy()
        target[1], target[6], target[9] = -0.4, 0.8, 0.3
        sent = robot.send_action(JointCommand(0.0, target))
        time.sleep(0.4)
        measured = robot.get_observation().joint_positions
        shoulder = shared_emulator.motor_state("follower_left", 2)["goal_position"]
        shadow = shared_emulator.motor_state("follower_left", 3)["goal_position"]
        gripper_goal = shared_emulator.motor_state("follower_left", 9)["goal_position"]
    np.testing.assert_allclose(sent.positions, target, atol=2 * ct.RAD_PER_TICK)
    np.testing.assert_allclose(measured, target, atol=0.01)
    assert shoulder == shadow == ct.rad_to_ticks(-0.4)
    assert gripper_goal == ct.rad_to_ticks(cal_grip.denormalize(0.8))


def test_first_command_is_reached_by_a_smooth_move(shared_emulator: DynamixelEmulator) -> None:
    config = aloha_config(shared_emulator, homing_speed=2.0)
    with AlohaDriver(config) as robot:
        start = robot.get_observation().joint_positions
        target = start.copy()
        target[0] = start[0] + (0.6 if start[0] < 0 else -0.6)  # 0.3 s at 2 rad/s
        before = shared_emulator.packets_handled("follower_left")
        started = time.monotonic()
        robot.send_action(JointCommand(0.0, target))
        elapsed = time.monotonic() - started
        writes = shared_emulator.packets_handled("follower_left") - before
        robot.send_action(JointCommand(0.0, target))  # later commands are sent at once
        assert time.monotonic() - started - elapsed < 0.2  # no second 0.3 s move (one bus write, even under load)
    assert 0.25 <= elapsed <= 3.0  # 0.3 s planned; a loaded machine only makes it later
    assert writes >= 0.3 * config.control_hz * 0.8  # interpolated: many goals, not one jump


def test_leader_arms_drive_teleoperation() -> None:
    with DynamixelEmulator(aloha_buses(4_000_000)) as emu, AlohaDriver(aloha_config(emu)) as robot:
        emu.move_by_hand("leader_left", 1, ct.rad_to_ticks(0.25))
        leaders = robot.read_leaders()
        assert leaders[0] == pytest.approx(0.25, abs=ct.RAD_PER_TICK)
        assert emu.motor_state("leader_left", 1)["torque_enable"] == 0  # leaders move freely by hand
        sent = robot.send_action(JointCommand(0.0, leaders))
        assert sent.positions[0] == pytest.approx(0.25, abs=ct.RAD_PER_TICK)


def test_reading_leaders_without_leader_ports_is_a_config_error(shared_emulator: DynamixelEmulator) -> None:
    with AlohaDriver(aloha_config(shared_emulator)) as robot, pytest.raises(ConfigError, match="leader"):
        robot.read_leaders()


@pytest.fixture(scope="module")
def connected_aloha(shared_emulator: DynamixelEmulator):
    robot = AlohaDriver(aloha_config(shared_emulator))
    robot.connect()
    robot.send_action(JointCommand(0.0, robot.get_observation().joint_positions))  # the first, smooth move
    yield robot
    robot.disconnect()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=14, max_size=14),
        min_size=1,
        max_size=6,
    )
)
def test_no_command_sequence_sends_beyond_the_limits(connected_aloha: AlohaDriver, commands) -> None:
    features = connected_aloha.features
    for values in commands:
        target = np.array(values)
        if not np.all(np.isfinite(target)):
            with pytest.raises(DriverError, match="non-finite"):
                connected_aloha.send_action(JointCommand(0.0, target))
            continue
        sent = connected_aloha.send_action(JointCommand(0.0, target)).positions
        assert np.all(sent >= features.lower) and np.all(sent <= features.upper)
        expected = np.clip(target, features.lower, features.upper)
        np.testing.assert_allclose(sent, expected, atol=0.0035)  # within ~2 ticks (gripper: 2 ticks / range)
