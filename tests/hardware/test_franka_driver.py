"""The Franka driver against franky-sim (MuJoCo FR3 speaking the libfranka protocol on loopback).

Skipped when franky or franky-sim is not installed. Each module run serves a random 127.x.y.z
address so parallel test runs do not collide.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("franky", reason="install the hw extra: pip install -e '.[hw]'")
pytest.importorskip("franky_sim", reason="install the hw extra: pip install -e '.[hw]'")

from failforward.config import BrokerConfig, FrankaConfig, LoopConfig, RecordConfig, SafetyConfig
from failforward.control.assembly import assemble_loop
from failforward.errors import DriverError
from failforward.policy.hold import HoldPolicy
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.robots import make_driver
from failforward.robots.franka import FrankaConnectionError, FrankaDriver
from failforward.testing.driver_contract import RobotDriverContract
from failforward.types import JointCommand, TickRecord, TickSubscriber

ROOT = Path(__file__).resolve().parents[2]


class FrankySim:
    """``franky-sim --simulator mujoco`` in its own process group on one loopback address."""

    def __init__(self) -> None:
        self.host = f"127.{random.randint(1, 250)}.{random.randint(0, 255)}.{random.randint(1, 250)}"
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60.0) -> FrankySim:
        cmd = [
            sys.executable,
            "-c",
            "from franky_sim.run_server import main; main()",
            "--simulator",
            "mujoco",
            "--hostname",
            self.host,
        ]
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        deadline, seen = time.monotonic() + timeout, []
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.5)
            line = self.process.stdout.readline() if ready else ""
            seen.append(line)
            if "Connect to the server" in line:
                return self
            if self.process.poll() is not None:
                break
        self.stop()
        pytest.fail(f"franky-sim did not start within {timeout} s: {''.join(seen)[-2000:]}")

    def stop(self) -> None:
        """SIGTERM (franky-sim ignores SIGINT), then SIGKILL, to our own process group only."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(5.0)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5.0)


def franka_config(host: str, **overrides: object) -> FrankaConfig:
    values = {
        "host": host,
        "realtime": "ignore",
        "relative_dynamics_factor": 0.3,
        "calibration_dir": ROOT / "calibration/franka/fr3_sim",
    }
    return FrankaConfig(**(values | overrides))


@pytest.fixture(scope="module")
def franky_sim() -> Iterator[FrankySim]:
    sim = FrankySim().start()
    try:
        yield sim
    finally:
        sim.stop()


class TestFrankaContract(RobotDriverContract):
    @pytest.fixture(autouse=True)
    def _use_sim(self, franky_sim: FrankySim) -> None:
        self.host = franky_sim.host

    def make_driver(self) -> FrankaDriver:
        return FrankaDriver(franka_config(self.host))


def test_registry_builds_the_franka_driver_and_features_come_from_calibration() -> None:
    driver = make_driver(franka_config("127.0.0.1"))
    assert isinstance(driver, FrankaDriver) and not driver.is_connected
    assert driver.features.action_dim == 8
    assert driver.features.upper[3] == pytest.approx(-0.1518)  # FR3 joint 4 never reaches 0


def test_joint_target_and_gripper_are_reached(franky_sim: FrankySim) -> None:
    with FrankaDriver(franka_config(franky_sim.host)) as robot:
        start = robot.get_observation().joint_positions
        target = start.copy()
        # Toward the middle of joint 1's range: an earlier test may have left it at a limit.
        middle = (robot.features.lower[0] + robot.features.upper[0]) / 2
        target[0] += 0.15 if start[0] <= middle else -0.15
        target[7] = 0.5
        robot.send_action(JointCommand(0.0, target))
        assert robot.wait_for_motion(10.0)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            reached = robot.get_observation().joint_positions
            if abs(reached[7] - 0.5) < 0.03:
                break
            time.sleep(0.05)
    assert reached[0] == pytest.approx(target[0], abs=0.03)  # [rad]
    assert reached[7] == pytest.approx(0.5, abs=0.03)  # 0.04 m of 0.08 m, ±2.4 mm


def test_relative_cartesian_motion_moves_the_end_effector(franky_sim: FrankySim) -> None:
    with FrankaDriver(franka_config(franky_sim.host)) as robot:
        before = np.array(robot.robot.current_pose.end_effector_pose.translation)
        robot.move_cartesian((0.0, 0.0, -0.03))
        after = np.array(robot.robot.current_pose.end_effector_pose.translation)
    np.testing.assert_allclose(after - before, [0.0, 0.0, -0.03], atol=0.005)  # [m]


def test_stop_condition_halts_the_motion_and_latches_until_recover(franky_sim: FrankySim) -> None:
    """The contact-force reactions' wiring, exercised with a time condition (franky-sim reports no external
    force): the condition stops a long move early, the next command raises, recover() clears it."""
    import franky

    with FrankaDriver(franka_config(franky_sim.host), stop_conditions=(franky.Measure.REL_TIME > 0.1,)) as robot:
        start = robot.get_observation().joint_positions
        target = start.copy()
        target[0] += 0.6  # several seconds at this dynamics factor
        robot.send_action(JointCommand(0.0, target))
        robot.wait_for_motion(5.0)
        stopped_at = robot.get_observation().joint_positions
        assert abs(stopped_at[0] - start[0]) < 0.3  # stopped early, far from the target
        with pytest.raises(DriverError, match=r"Motion stopped"):
            robot.send_action(JointCommand(0.0, target))
        robot.recover()
        assert robot.get_observation().joint_positions.shape == (8,)


def test_contact_force_conditions_cover_both_directions_of_every_axis() -> None:
    driver = FrankaDriver(franka_config("127.0.0.1", contact_force_limit_n=25.0))
    rendered = [str(c) for c in driver._stop_conditions]
    assert rendered == [f"(F_{a} > 25.000000) || (F_{a} < -25.000000)" for a in "xyz"]
    assert FrankaDriver(franka_config("127.0.0.1", contact_force_limit_n=None))._stop_conditions == ()


def test_unreachable_host_is_a_clear_connection_error() -> None:
    driver = FrankaDriver(franka_config("127.254.254.254"))
    with pytest.raises(FrankaConnectionError, match=r"Cannot connect.*FCI"):
        driver.connect()
    assert not driver.is_connected


def test_lost_connection_raises_and_latches() -> None:
    sim = FrankySim().start()
    robot = FrankaDriver(franka_config(sim.host))
    try:
        robot.connect()
        q = robot.get_observation().joint_positions
        sim.stop()
        with pytest.raises(FrankaConnectionError, match="Lost the connection"):
            for _ in range(50):  # the loss shows up within a few ticks
                robot.send_action(JointCommand(0.0, q))
                robot.get_observation()
                time.sleep(0.02)
        with pytest.raises(DriverError, match="recover"):
            robot.send_action(JointCommand(0.0, q))
    finally:
        robot.disconnect()
        sim.stop()


class _StopSimAt(TickSubscriber):
    def __init__(self, sim: FrankySim, step: int) -> None:
        self.sim, self.step = sim, step

    def on_tick(self, tick: TickRecord) -> None:
        if tick.step == self.step:
            self.sim.stop()


def test_lost_connection_mid_episode_keeps_every_recorded_tick(tmp_path: Path) -> None:
    sim = FrankySim().start()
    robot = FrankaDriver(franka_config(sim.host))
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "franka_fault")
    try:
        with robot:
            loop = assemble_loop(
                robot,
                HoldPolicy(),
                loop=LoopConfig(max_steps=400, rate_hz=10.0, realtime=True),
                safety=SafetyConfig(),
                broker=BrokerConfig(),
                prompt="hold",
                subscribers=[recorder, _StopSimAt(sim, 4)],
            )
            result = loop.run_episode(0, seed=0)
    finally:
        sim.stop()
    assert result.error is not None and "FrankaConnectionError" in result.error
    episode = read_episode(recorder.files[-1], load_images=False)
    assert episode.length == result.steps >= 5  # every tick before the loss is on disk
    assert "FrankaConnectionError" in episode.outcome.reason
