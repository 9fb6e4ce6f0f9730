"""Franka arm (FR3 / Panda) through ``franky`` (libfranka), registered as ``franka``.

Command vector ``[8]``: seven joint targets [rad] then the gripper opening normalized
(0 closed, 1 = ``gripper_max_width_m`` open). Each ``send_action`` replaces the running motion with
an asynchronous ``JointMotion`` to the new target (franky plans a jerk-limited trajectory, scaled
by ``relative_dynamics_factor``); the gripper moves asynchronously when its target changes by more
than 2 mm.

Example (franky-sim on loopback: ``franky-sim --simulator mujoco --hostname 127.0.0.2``)::

    cfg = FrankaConfig(host="127.0.0.2", realtime="ignore")
    with FrankaDriver(cfg) as robot:
        obs = robot.get_observation()
        robot.send_action(JointCommand(obs.timestamp, obs.joint_positions))

Faults: a lost connection raises :class:`FrankaConnectionError`; a control exception (reflex,
limit violation) raises :class:`FrankaControlError` and latches until ``recover()`` (which calls
``recover_from_errors``). The robot itself stops on both (libfranka's reflexes and brakes).
"""

from __future__ import annotations

import logging
import time

import franky
import numpy as np

from failforward.calibration import FrankaCalibration, load_calibration
from failforward.config import FrankaConfig
from failforward.errors import ConfigError, DriverError, NotConnectedError, ShapeError
from failforward.robots.base import RobotDriver
from failforward.robots.cameras import OpenCVCamera
from failforward.robots.registry import RobotDescription, register_description, register_driver
from failforward.types import CameraFeature, JointCommand, JointFeature, Observation, RobotFeatures

logger = logging.getLogger(__name__)

ARM_JOINTS = tuple(f"fr3_joint{i}" for i in range(1, 8))
GRIPPER_JOINT = "fr3_gripper"
GRIPPER_MAX_VELOCITY = 2.0  # [1/s] normalized opening
GRIPPER_DEADBAND = 0.002  # [m] smaller gripper target changes are not sent
# franky's own exceptions, and the RuntimeError("Net Exception") its gripper raises on a lost link
FRANKY_ERRORS = (franky.Exception, RuntimeError)


class FrankaConnectionError(DriverError):
    """No connection to the robot (wrong host, FCI not enabled, cable or network lost)."""


class FrankaControlError(DriverError):
    """The robot stopped a motion (reflex, joint or Cartesian limit); latched until ``recover()``."""


def _load(config: FrankaConfig) -> FrankaCalibration:
    calibration = load_calibration(config.calibration_dir)
    if not isinstance(calibration, FrankaCalibration):
        raise ConfigError(f"{config.calibration_dir} holds a {calibration.robot} calibration, not a Franka one.")
    return calibration


def _force_conditions(limit_n: float | None) -> tuple[franky.Condition, ...]:
    """``|F_axis| > limit`` [N] for each base-frame force axis, as franky conditions."""
    if limit_n is None:
        return ()
    axes = (franky.Measure.FORCE_X, franky.Measure.FORCE_Y, franky.Measure.FORCE_Z)
    return tuple((axis > limit_n) | (axis < -limit_n) for axis in axes)


def franka_features(config: FrankaConfig, calibration: FrankaCalibration) -> RobotFeatures:
    """The seven arm joints [rad] (limits and speeds from ``calibration``), the normalized gripper when
    ``config.gripper``, the configured cameras and ``config.control_hz``."""
    joints = tuple(
        JointFeature(name, "rad", lo, hi, v)
        for name, lo, hi, v in zip(
            ARM_JOINTS, calibration.joint_lower, calibration.joint_upper, calibration.max_velocity, strict=True
        )
    )
    if config.gripper:
        joints += (JointFeature(GRIPPER_JOINT, "normalized", 0.0, 1.0, GRIPPER_MAX_VELOCITY),)
    cameras = tuple(CameraFeature(c.name, c.height, c.width) for c in config.cameras)
    return RobotFeatures(joints, cameras, config.control_hz)


@register_description("franka")
def describe_franka(config: FrankaConfig) -> RobotDescription:
    """Features from the calibration; no connection is made. No prompt: people set up a real cell's task."""
    return RobotDescription(franka_features(config, _load(config)))


@register_driver("franka")
class FrankaDriver(RobotDriver):
    """One Franka arm, its gripper and OpenCV cameras."""

    def __init__(self, config: FrankaConfig, *, stop_conditions: tuple[franky.Condition, ...] = ()) -> None:
        """``stop_conditions``: extra franky conditions (beyond the contact-force limit) that stop a motion
        and latch a fault, e.g. ``franky.Measure.REL_TIME > 5.0``."""
        self.config = config
        self._stop_conditions = _force_conditions(config.contact_force_limit_n) + tuple(stop_conditions)
        self.calibration = _load(config)
        self._features = franka_features(config, self.calibration)
        self._robot: franky.Robot | None = None
        self._gripper: franky.Gripper | None = None
        self._cameras: list[OpenCVCamera] = []
        self._gripper_target: float | None = None
        self._fault: DriverError | None = None

    @property
    def features(self) -> RobotFeatures:
        return self._features

    @property
    def is_connected(self) -> bool:
        return self._robot is not None

    @property
    def robot(self) -> franky.Robot:
        """The franky robot (for Cartesian motions and reactions beyond the joint interface)."""
        if self._robot is None:
            raise NotConnectedError("FrankaDriver is not connected: call connect() or use it as a context manager.")
        return self._robot

    # ------------------------------------------------------------------ lifecycle
    def connect(self) -> None:
        """Connect to the arm (and gripper), clear old errors, set the dynamics factor, open cameras."""
        if self._robot is not None:
            return
        realtime = franky.RealtimeConfig.Enforce if self.config.realtime == "enforce" else franky.RealtimeConfig.Ignore
        try:
            robot = franky.Robot(self.config.host, realtime_config=realtime)
            robot.relative_dynamics_factor = self.config.relative_dynamics_factor
            if robot.has_errors:
                logger.warning("Franka at %s reports errors at connect; recovering", self.config.host)
                robot.recover_from_errors()
            gripper = franky.Gripper(self.config.host) if self.config.gripper else None
        except FRANKY_ERRORS as exc:
            raise FrankaConnectionError(
                f"Cannot connect to the Franka at {self.config.host}: {exc}. Check the network cable, that FCI "
                "is activated in Desk and the brakes are open (or that franky-sim serves this address)."
            ) from exc
        self._robot, self._gripper, self._fault = robot, gripper, None
        try:
            for camera_config in self.config.cameras:
                camera = OpenCVCamera(camera_config)
                camera.open()
                self._cameras.append(camera)
        except BaseException:
            self.disconnect()
            raise

    def disconnect(self) -> None:
        """Stop any motion (the arm holds with its brakes/controller) and drop the connection. Idempotent."""
        for camera in self._cameras:
            camera.close()
        self._cameras = []
        if self._robot is not None:
            try:
                self._robot.stop()
            except FRANKY_ERRORS as exc:
                logger.warning("Franka stop at disconnect failed: %s", exc)
        self._robot, self._gripper, self._gripper_target = None, None, None

    def recover(self) -> None:
        """Clear a latched control error (``recover_from_errors``); the next command starts a new motion."""
        try:
            self.robot.recover_from_errors()
        except FRANKY_ERRORS as exc:
            raise self._translate(exc) from exc
        self._fault = None

    # ------------------------------------------------------------------ faults
    def _guarded(self, motion: franky.JointMotion) -> franky.JointMotion:
        """Attach a stop reaction per stop condition: the motion halts and the driver latches a fault."""
        for condition in self._stop_conditions:
            reaction = franky.JointPositionReaction(condition, franky.JointStopMotion())
            reaction.register_callback(lambda state, rel, abs_, c=condition: self._on_stop_condition(c))
            motion.add_reaction(reaction)
        return motion

    def _on_stop_condition(self, condition: franky.Condition) -> None:
        """Called by franky's control thread when a stop condition holds; the next command raises."""
        self._fault = FrankaControlError(
            f"Motion stopped: {condition} held (contact or limit). Check the cell, then call recover()."
        )
        logger.error("%s", self._fault)

    def _translate(self, exc: Exception) -> DriverError:
        """Map a franky exception to a typed, latched driver error."""
        lost = isinstance(exc, franky.NetworkException | franky.ProtocolException)
        if lost or (type(exc) is RuntimeError and "Net" in str(exc)):
            error: DriverError = FrankaConnectionError(
                f"Lost the connection to the Franka at {self.config.host}: {exc}. The robot stops by itself; "
                "check the network, then disconnect() and connect() again."
            )
        elif isinstance(exc, franky.ControlException):
            error = FrankaControlError(
                f"The Franka stopped the motion: {exc}. Check for a collision or a limit, then call recover()."
            )
        else:
            error = DriverError(f"Franka command failed: {exc}.")
        self._fault = error
        logger.error("%s", error)
        return error

    # ------------------------------------------------------------------ observe
    def get_observation(self) -> Observation:
        """Joint positions and velocities ``[8]`` (gripper normalized) and camera frames."""
        robot = self.robot
        try:
            state = robot.current_joint_state
            width = self._gripper.width if self._gripper is not None else None
        except FRANKY_ERRORS as exc:
            raise self._translate(exc) from exc
        q, dq = np.asarray(state.position, dtype=np.float64), np.asarray(state.velocity, dtype=np.float64)
        if width is not None:
            q = np.append(q, width / self.calibration.gripper_max_width_m)
            dq = np.append(dq, 0.0)
        images = {}
        for camera in self._cameras:
            images[camera.config.name] = camera.read().image
        return Observation(time.monotonic(), q, dq, images)

    # ------------------------------------------------------------------ command
    def send_action(self, command: JointCommand) -> JointCommand:
        """Start a motion to ``[8]`` targets (clamped to the calibrated limits); returns the clamped targets."""
        robot = self.robot
        if self._fault is not None:
            raise DriverError(f"Franka is stopped after a fault ({self._fault}); call recover() first.")
        positions = command.positions
        if positions.shape != (self._features.action_dim,):
            raise ShapeError(f"franka expects positions [{self._features.action_dim}], got {positions.shape}.")
        if not np.all(np.isfinite(positions)):
            raise DriverError("franka refuses non-finite joint targets; pass commands through the safety layer.")
        sent = np.clip(positions, self._features.lower, self._features.upper)
        try:
            robot.move(self._guarded(franky.JointMotion(sent[:7].tolist())), asynchronous=True)
            if self._gripper is not None:
                self._command_gripper(self._gripper, float(sent[7]))
        except FRANKY_ERRORS as exc:
            raise self._translate(exc) from exc
        return JointCommand(time.monotonic(), sent)

    def _command_gripper(self, gripper: franky.Gripper, opening: float) -> None:
        width = opening * self.calibration.gripper_max_width_m
        if self._gripper_target is None or abs(width - self._gripper_target) > GRIPPER_DEADBAND:
            gripper.move_async(width, self.config.gripper_speed)
            self._gripper_target = width

    def wait_for_motion(self, timeout: float = 10.0) -> bool:
        """Block until the current arm motion finished (True) or ``timeout`` [s] passed (False)."""
        try:
            return bool(self.robot.join_motion(timeout=timeout))
        except FRANKY_ERRORS as exc:
            raise self._translate(exc) from exc

    def move_cartesian(self, translation_m: tuple[float, float, float], *, asynchronous: bool = False) -> None:
        """Relative Cartesian motion of the end effector by ``translation_m`` [m] in the base frame."""
        if self._fault is not None:
            raise DriverError(f"Franka is stopped after a fault ({self._fault}); call recover() first.")
        try:
            pose = self.robot.current_pose.end_effector_pose  # base frame; orientation is kept
            target = franky.Affine((np.asarray(pose.translation) + translation_m).tolist(), pose.quaternion)
            self.robot.move(franky.CartesianMotion(target), asynchronous=asynchronous)
        except FRANKY_ERRORS as exc:
            raise self._translate(exc) from exc
