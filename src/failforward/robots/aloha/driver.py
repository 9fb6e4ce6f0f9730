"""Real bimanual ALOHA over Dynamixel Protocol 2.0, registered as ``aloha``.

Example (against the emulator; on the robot leave the ports at their udev defaults)::

    from failforward.config import AlohaConfig
    from failforward.robots.dynamixel.emulator import DynamixelEmulator, aloha_buses
    with DynamixelEmulator(aloha_buses()) as emu:
        cfg = AlohaConfig(follower_left_port=emu.port("follower_left"),
                          follower_right_port=emu.port("follower_right"))
        with AlohaDriver(cfg) as robot:
            obs = robot.get_observation()
            sent = robot.send_action(JointCommand(obs.timestamp, obs.joint_positions))

Faults: a motor that stops answering or answers with bad CRCs raises ``MotorCommunicationError``,
a latched hardware error (overload, overheating) raises ``MotorHardwareError``. Either way the
reachable motors are first commanded to hold their last measured position, the fault is latched,
and every later command raises until ``recover()`` (which reboots faulted motors) succeeds.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from failforward.calibration import AlohaCalibration, load_calibration
from failforward.config import AlohaConfig
from failforward.errors import ConfigError, DriverError, NotConnectedError, ShapeError
from failforward.robots.aloha.arm import ArmState, DynamixelArm
from failforward.robots.aloha.joints import SIDES, arm_features
from failforward.robots.base import RobotDriver
from failforward.robots.cameras import OpenCVCamera
from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.bus import DynamixelBus
from failforward.robots.registry import RobotDescription, register_description, register_driver
from failforward.types import CameraFeature, JointCommand, Observation, RobotFeatures

logger = logging.getLogger(__name__)


def _load(config: AlohaConfig) -> AlohaCalibration:
    calibration = load_calibration(config.calibration_dir)
    if not isinstance(calibration, AlohaCalibration):
        raise ConfigError(f"{config.calibration_dir} holds a {calibration.robot} calibration, not an ALOHA one.")
    return calibration


def aloha_features(config: AlohaConfig, calibration: AlohaCalibration) -> RobotFeatures:
    """The followers' joints ``[14]`` (limits and speeds from ``calibration``), the configured cameras and
    ``config.control_hz``."""
    joints = arm_features("left", calibration.follower_left) + arm_features("right", calibration.follower_right)
    cameras = tuple(CameraFeature(c.name, c.height, c.width) for c in config.cameras)
    return RobotFeatures(joints, cameras, config.control_hz)


@register_description("aloha")
def describe_aloha(config: AlohaConfig) -> RobotDescription:
    """Features from the calibration; no port is opened. No prompt: people set up a real cell's task."""
    return RobotDescription(aloha_features(config, _load(config)))


@register_driver("aloha")
class AlohaDriver(RobotDriver):
    """Two follower arms, OpenCV cameras, and optionally two leader arms for teleoperation
    (:class:`~failforward.robots.capabilities.LeaderArms`)."""

    def __init__(self, config: AlohaConfig) -> None:
        self.config = config
        self.calibration = _load(config)
        self._features = aloha_features(config, self.calibration)
        # one position tick in joint units: targets are kept a tick inside the limits so that the
        # quantized command that is actually sent never lies outside them
        grip_ticks = [
            abs(a.gripper.open_rad - a.gripper.closed_rad) / ct.RAD_PER_TICK
            for a in (self.calibration.follower_left, self.calibration.follower_right)
        ]
        tick = np.full(14, ct.RAD_PER_TICK)
        tick[[6, 13]] = [1.0 / n for n in grip_ticks]
        self._send_lower = self._features.lower + tick
        self._send_upper = self._features.upper - tick
        self._followers: list[DynamixelArm] = []
        self._leaders: list[DynamixelArm] = []
        self._cameras: list[OpenCVCamera] = []
        self._fault: DriverError | None = None
        self._needs_first_move = True

    @property
    def features(self) -> RobotFeatures:
        return self._features

    @property
    def is_connected(self) -> bool:
        return bool(self._followers)

    @property
    def fault(self) -> DriverError | None:
        """The latched fault, if any (cleared by ``recover()``)."""
        return self._fault

    # ------------------------------------------------------------------ lifecycle
    def connect(self) -> None:
        """Open the buses, configure the motors (rebooting latched errors), torque on, open the cameras."""
        if self.is_connected:
            return
        cfg, cal = self.config, self.calibration
        ports = {"follower_left": cfg.follower_left_port, "follower_right": cfg.follower_right_port}
        arms = [("follower_left", cal.follower_left, True), ("follower_right", cal.follower_right, True)]
        if cfg.leader_left_port and cfg.leader_right_port:
            if cal.leader_left is None or cal.leader_right is None:
                raise ConfigError(f"Leader ports are set but {cfg.calibration_dir} has no leader calibration.")
            ports |= {"leader_left": cfg.leader_left_port, "leader_right": cfg.leader_right_port}
            arms += [("leader_left", cal.leader_left, False), ("leader_right", cal.leader_right, False)]
        opened: list[DynamixelArm] = []
        try:
            for name, arm_cal, torque in arms:
                bus = DynamixelBus(name, ports[name], cfg.baudrate, cfg.comm_retries)
                bus.open()
                arm = DynamixelArm(name, bus, arm_cal, torque_on=torque)
                opened.append(arm)
                arm.configure()
            for camera_config in cfg.cameras:
                camera = OpenCVCamera(camera_config)
                camera.open()
                self._cameras.append(camera)
        except BaseException:
            self._close(opened)
            raise
        self._followers = [a for a in opened if a.torque_on]
        self._leaders = [a for a in opened if not a.torque_on]
        self._fault, self._needs_first_move = None, True
        logger.info("ALOHA connected: %s", {a.name: a.bus.port_name for a in opened})

    def disconnect(self) -> None:
        """Leave the arms holding their position with torque on (they would fall with torque off); close ports."""
        arms = self._followers + self._leaders
        for arm in self._followers:
            arm.hold()
        self._close(arms)
        self._followers, self._leaders = [], []

    def _close(self, arms: list[DynamixelArm]) -> None:
        for camera in self._cameras:
            camera.close()
        self._cameras = []
        for arm in arms:
            arm.bus.close()

    def _require_connection(self) -> None:
        if not self.is_connected:
            raise NotConnectedError("AlohaDriver is not connected: call connect() or use it as a context manager.")

    # ------------------------------------------------------------------ faults
    def _fail(self, error: DriverError) -> DriverError:
        """Hold every arm, latch ``error`` and return it for raising."""
        for arm in self._followers:
            arm.hold()
        self._fault = error
        logger.error("ALOHA fault, arms held: %s", error)
        return error

    def recover(self) -> None:
        """Reboot faulted motors, reconfigure every arm and clear the latched fault.

        The next command moves smoothly (``homing_speed``) from where the arms are. Raises again if a
        motor still does not answer.
        """
        self._require_connection()
        for arm in self._followers + self._leaders:
            arm.configure()
        self._fault, self._needs_first_move = None, True

    # ------------------------------------------------------------------ observe
    def _read_arms(self, arms: list[DynamixelArm]) -> list[ArmState]:
        states = []
        for arm in arms:
            try:
                state = arm.read_state()
                arm.raise_if_alerted(state)
            except DriverError as exc:
                raise self._fail(exc) from exc
            states.append(state)
        return states

    def get_observation(self) -> Observation:
        """Joint state of both followers ``[14]`` and the newest frame of each camera, with when it was grabbed."""
        self._require_connection()
        t = time.monotonic()
        states = self._read_arms(self._followers)
        images, frame_times = {}, {}
        for camera in self._cameras:
            try:
                frame = camera.read()
            except DriverError as exc:
                raise self._fail(exc) from exc
            images[camera.config.name], frame_times[camera.config.name] = frame.image, frame.timestamp
        return Observation(
            timestamp=t,
            joint_positions=np.concatenate([s.position for s in states]),
            joint_velocities=np.concatenate([s.velocity for s in states]),
            images=images,
            frame_times=frame_times,
        )

    @property
    def has_leaders(self) -> bool:
        """True when both leader ports are configured (teleoperation)."""
        return bool(self.config.leader_left_port and self.config.leader_right_port)

    def read_leaders(self) -> np.ndarray:
        """Leader arm joints ``[14]`` in the followers' units (for teleoperation: send them as the command)."""
        self._require_connection()
        if not self._leaders:
            raise ConfigError("No leader arms: set leader_left_port and leader_right_port in AlohaConfig.")
        return np.concatenate([s.position for s in self._read_arms(self._leaders)])

    # ------------------------------------------------------------------ command
    def _checked(self, command: JointCommand) -> np.ndarray:
        positions = command.positions
        if positions.shape != (self._features.action_dim,):
            raise ShapeError(f"aloha expects positions [{self._features.action_dim}], got {positions.shape}.")
        if not np.all(np.isfinite(positions)):
            raise DriverError("aloha refuses non-finite joint targets; pass commands through the safety layer.")
        return np.clip(positions, self._send_lower, self._send_upper)

    def send_action(self, command: JointCommand) -> JointCommand:
        """Send ``[14]`` joint targets (clamped to the calibrated limits); returns what the motors were sent.

        The first command after ``connect()``/``recover()`` is reached by a smooth blocking move.
        """
        self._require_connection()
        if self._fault is not None:
            raise DriverError(f"ALOHA is holding after a fault ({self._fault}); call recover() first.")
        target = self._checked(command)
        if self._needs_first_move:
            self.move_to(target)
        return JointCommand(time.monotonic(), self._write(target))

    def _write(self, target: np.ndarray) -> np.ndarray:
        sent = []
        for arm, half in zip(self._followers, np.split(target, len(SIDES)), strict=True):
            try:
                sent.append(arm.write_goals(half))
            except DriverError as exc:
                raise self._fail(exc) from exc
        return np.concatenate(sent)

    def move_to(self, target: np.ndarray, speed: float | None = None) -> None:
        """Blocking smooth move from the measured pose to ``target [14]`` (cosine profile).

        Duration = largest joint distance / ``speed`` (default ``config.homing_speed`` [rad/s], grippers [1/s]).
        """
        self._require_connection()
        target = self._checked(JointCommand(0.0, target))
        start = self.get_observation().joint_positions
        speed = speed or self.config.homing_speed
        duration = float(np.max(np.abs(target - start))) / speed
        period = 1.0 / self.config.control_hz
        steps = max(int(np.ceil(duration / period)), 1)
        t0 = time.monotonic()
        for k in range(1, steps + 1):
            s = 0.5 - 0.5 * np.cos(np.pi * k / steps)
            self._write(start + s * (target - start))
            time.sleep(max(t0 + k * period - time.monotonic(), 0.0))
        self._needs_first_move = False

    def home(self) -> None:
        """Smooth move to the calibrated home pose, grippers half open."""
        cal = self.calibration
        home = np.array([*cal.follower_left.home_rad, 0.5, *cal.follower_right.home_rad, 0.5])
        self.move_to(home)
