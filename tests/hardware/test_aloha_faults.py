"""ALOHA faults against the emulator: a clear typed error, arms held or torque-safe, nothing recorded lost."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from failforward.config import AlohaConfig, BrokerConfig, LoopConfig, RecordConfig, SafetyConfig
from failforward.control.assembly import assemble_loop
from failforward.errors import DriverError
from failforward.policy.hold import HoldPolicy
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.robots.aloha import AlohaDriver
from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.emulator import DynamixelEmulator, aloha_port_settings
from failforward.robots.dynamixel.errors import MotorCommunicationError, MotorHardwareError
from failforward.types import JointCommand, TickRecord, TickSubscriber

ROOT = Path(__file__).resolve().parents[2]


def aloha_config(emulator: DynamixelEmulator, **overrides: object) -> AlohaConfig:
    """An ALOHA config on the emulator's ptys with the repository's default calibration, fast homing."""
    values = {"calibration_dir": ROOT / "calibration/aloha/default", "homing_speed": 3.0}
    return AlohaConfig(**(values | aloha_port_settings(emulator) | overrides))


def _goal_equals_present(emulator: DynamixelEmulator, bus: str, dxl_id: int) -> bool:
    state = emulator.motor_state(bus, dxl_id)
    return abs(state["goal_position"] - state["present_position"]) <= 2


def _settled_driver(emulator: DynamixelEmulator) -> tuple[AlohaDriver, np.ndarray]:
    robot = AlohaDriver(aloha_config(emulator))
    robot.connect()
    q = robot.get_observation().joint_positions
    robot.send_action(JointCommand(0.0, q))
    return robot, q


def test_unplugged_motor_raises_holds_the_others_and_recovers_after_replug(emulator) -> None:
    robot, q = _settled_driver(emulator)
    try:
        target = q.copy()
        target[7] += 0.05  # right waist moving when the left elbow is unplugged
        robot.send_action(JointCommand(0.0, target))
        emulator.unplug("follower_left", 4)
        with pytest.raises(MotorCommunicationError, match=r"follower_left.*\[4\].*cable") as info:
            robot.get_observation()
        assert info.value.motor_ids == (4,)
        time.sleep(0.1)
        assert _goal_equals_present(emulator, "follower_right", 1)  # held where it was, not still moving on
        assert emulator.motor_state("follower_right", 1)["torque_enable"] == 1
        with pytest.raises(DriverError, match="recover"):
            robot.send_action(JointCommand(0.0, q))
        with pytest.raises(MotorCommunicationError, match="do not answer a ping"):
            robot.recover()  # still unplugged
        emulator.replug("follower_left", 4)
        robot.recover()
        sent = robot.send_action(JointCommand(0.0, q))
        np.testing.assert_allclose(sent.positions, q, atol=0.01)
    finally:
        robot.disconnect()


def test_transient_crc_errors_are_retried_and_persistent_ones_raise(emulator) -> None:
    robot, _ = _settled_driver(emulator)
    try:
        emulator.corrupt_crc("follower_right", 2, count=1)
        robot.get_observation()  # one bad reply: the retry succeeds
        emulator.corrupt_crc("follower_right", 2, count=-1)
        with pytest.raises(MotorCommunicationError, match="CRC"):
            robot.get_observation()
        assert robot.fault is not None
    finally:
        emulator.corrupt_crc("follower_right", 2, count=0)
        robot.disconnect()


def test_overload_raises_a_hardware_error_and_recover_reboots_the_motor(emulator) -> None:
    robot, q = _settled_driver(emulator)
    try:
        emulator.hardware_error("follower_left", 6, ct.HardwareError.OVERLOAD)
        with pytest.raises(MotorHardwareError, match=r"id 6 \(follower_left_forearm_roll\): OVERLOAD") as info:
            robot.get_observation()
        assert info.value.errors == {6: ct.HardwareError.OVERLOAD}
        assert emulator.motor_state("follower_left", 6)["torque_enable"] == 0  # the firmware cut its torque
        assert emulator.motor_state("follower_left", 1)["torque_enable"] == 1  # the others hold
        robot.recover()
        state = emulator.motor_state("follower_left", 6)
        assert state["hardware_error_status"] == 0 and state["torque_enable"] == 1
        robot.send_action(JointCommand(0.0, q))
    finally:
        robot.disconnect()


def test_connect_reboots_motors_with_a_latched_hardware_error(emulator) -> None:
    emulator.hardware_error("follower_right", 9, ct.HardwareError.OVERHEATING)
    with AlohaDriver(aloha_config(emulator)) as robot:
        robot.get_observation()
    state = emulator.motor_state("follower_right", 9)
    assert state["hardware_error_status"] == 0 and state["torque_enable"] == 1


def test_connect_names_every_missing_motor(emulator) -> None:
    emulator.unplug("follower_right", 7)
    emulator.unplug("follower_right", 8)
    robot = AlohaDriver(aloha_config(emulator))
    with pytest.raises(MotorCommunicationError, match=r"right_wrist_angle.*right_wrist_rotate.*\[7, 8\]"):
        robot.connect()
    assert not robot.is_connected


def test_slow_bus_still_works_and_a_dead_slow_one_is_a_communication_error(emulator) -> None:
    robot, _ = _settled_driver(emulator)
    try:
        emulator.slow_bus("follower_left", 0.003)
        started = time.perf_counter()
        robot.get_observation()
        assert time.perf_counter() - started > 0.003
        emulator.slow_bus("follower_left", 0.2)  # beyond the SDK's packet timeout
        with pytest.raises(MotorCommunicationError):
            robot.get_observation()
    finally:
        robot.disconnect()


class _UnplugAt(TickSubscriber):
    def __init__(self, emulator: DynamixelEmulator, step: int) -> None:
        self.emulator, self.step = emulator, step

    def on_tick(self, tick: TickRecord) -> None:
        if tick.step == self.step:
            self.emulator.unplug("follower_left", 2)


def test_a_fault_mid_episode_keeps_every_recorded_tick(emulator, tmp_path) -> None:
    robot = AlohaDriver(aloha_config(emulator))
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "fault")
    with robot:
        loop = assemble_loop(
            robot,
            HoldPolicy(),
            loop=LoopConfig(max_steps=50),
            safety=SafetyConfig(),
            broker=BrokerConfig(),
            prompt="hold still",
            subscribers=[recorder, _UnplugAt(emulator, 9)],
        )
        result = loop.run_episode(0, seed=0)
    assert result.steps == 10 and "MotorCommunicationError" in result.error
    episode = read_episode(recorder.files[-1], load_images=False)
    assert episode.length == 10  # ticks 0–9 all on disk
    assert episode.outcome is not None and not episode.outcome.success
    assert "MotorCommunicationError" in episode.outcome.reason


def test_a_stale_camera_raises_and_holds_the_arms(emulator, tmp_path) -> None:
    import cv2

    from failforward.config import CameraConfig
    from failforward.robots.cameras import StaleFrameError

    path = tmp_path / "top.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    for k in range(3):  # 0.1 s of video, then the "camera" stalls
        writer.write(np.full((48, 64, 3), 40 * k, dtype=np.uint8))
    writer.release()
    camera = CameraConfig(name="top", device=str(path), width=64, height=48, stale_after_s=0.15)
    with AlohaDriver(aloha_config(emulator, cameras=(camera,))) as robot:
        obs = robot.get_observation()
        assert obs.images["top"].shape == (48, 64, 3)
        assert abs(obs.timestamp - obs.frame_times["top"]) <= 0.15  # when it was grabbed, on the robot clock
        robot.send_action(JointCommand(0.0, obs.joint_positions))
        time.sleep(0.4)
        with pytest.raises(StaleFrameError, match="top"):
            robot.get_observation()
        assert _goal_equals_present(emulator, "follower_left", 1)
        with pytest.raises(DriverError, match="recover"):
            robot.send_action(JointCommand(0.0, obs.joint_positions))
