"""One ViperX 300 S / WidowX arm on its own Dynamixel bus: unit conversion, set-up, state, goals, hold.

Joint vector of an arm ``[7]``: six joints [rad] (waist → wrist_rotate) then the gripper normalized
(0 closed, 1 open). Conversion per motor (see ``failforward.calibration.schema``)::

    motor_rad = (ticks − 2048) · 2π/4096,    q = sign · (motor_rad − offset_rad)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from failforward.calibration import ArmCalibration, MotorCalibration
from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.bus import DynamixelBus
from failforward.robots.dynamixel.errors import MotorCommunicationError, MotorHardwareError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ArmState:
    """Measured state of one arm: ``position [7]``, ``velocity [7]`` (rad, rad/s; gripper normalized, 1/s),
    ``current [7]`` [A] of each joint's primary motor, ``alerts``: ids whose status had the hardware alert bit."""

    position: np.ndarray
    velocity: np.ndarray
    current: np.ndarray
    alerts: tuple[int, ...]


class DynamixelArm:
    """Motors of one arm on ``bus`` described by ``calibration``; ``torque_on`` False for leader arms."""

    def __init__(self, name: str, bus: DynamixelBus, calibration: ArmCalibration, *, torque_on: bool = True) -> None:
        self.name, self.bus, self.calibration, self.torque_on = name, bus, calibration, torque_on
        self._motors: list[MotorCalibration] = [m for j in calibration.joints for m in j.motors]
        self._motors.append(calibration.gripper.motor)
        self._primary = [j.motors[0] for j in calibration.joints] + [calibration.gripper.motor]
        self.ids = tuple(m.id for m in self._motors)
        self.names = {m.id: f"{name}_{j.name}" for j in calibration.joints for m in j.motors}
        self.names[calibration.gripper.motor.id] = f"{name}_gripper"
        self.last: ArmState | None = None

    # ------------------------------------------------------------------ conversion
    def _q_from_ticks(self, motor: MotorCalibration, ticks: float) -> float:
        return motor.sign * (ct.ticks_to_rad(ticks) - motor.offset_rad)

    def _ticks_from_q(self, motor: MotorCalibration, q: float) -> int:
        return ct.rad_to_ticks(motor.sign * q + motor.offset_rad)

    def to_motor_angles(self, joints: np.ndarray) -> np.ndarray:
        """``[7]`` joints (gripper normalized) → ``[7]`` angles ``q`` [rad] (gripper denormalized)."""
        angles = np.array(joints, dtype=np.float64)
        angles[6] = self.calibration.gripper.denormalize(float(joints[6]))
        return angles

    def goal_ticks(self, joints: np.ndarray) -> dict[int, int]:
        """Goal Position per motor id for the ``[7]`` joint targets."""
        angles = self.to_motor_angles(joints)
        joints_ = self.calibration.joints
        goals = {m.id: self._ticks_from_q(m, angles[i]) for i, j in enumerate(joints_) for m in j.motors}
        goals[self.calibration.gripper.motor.id] = self._ticks_from_q(self.calibration.gripper.motor, angles[6])
        return goals

    def joints_from_goals(self, goals: dict[int, int]) -> np.ndarray:
        """``[7]`` joint values the primary motors' goal ticks stand for (what was actually sent)."""
        q = np.array([self._q_from_ticks(m, goals[m.id]) for m in self._primary])
        q[6] = self.calibration.gripper.normalize(q[6])
        return q

    # ------------------------------------------------------------------ set-up
    def configure(self) -> None:
        """Check every motor answers, reboot latched errors, set modes and limits, then torque as configured."""
        missing = self.bus.ping_missing(self.ids)
        if missing:
            raise MotorCommunicationError(
                f"Arm {self.name} on {self.bus.port_name}: motors {[self.names[i] for i in missing]} (ids "
                f"{list(missing)}) do not answer a ping. Check their cables and power, and the baud rate "
                f"({self.bus.baudrate}).",
                self.bus.name,
                missing,
            )
        self.reboot_faulted()
        for dxl_id in self.ids:
            self.bus.write(dxl_id, ct.TORQUE_ENABLE, 0)
            self._ensure(dxl_id, ct.RETURN_DELAY_TIME, 0)
            is_gripper = dxl_id == self.calibration.gripper.motor.id
            mode = ct.OperatingMode.CURRENT_BASED_POSITION if is_gripper else ct.OperatingMode.POSITION
            self._ensure(dxl_id, ct.OPERATING_MODE, int(mode))
        gripper = self.calibration.gripper
        self._ensure(gripper.motor.id, ct.CURRENT_LIMIT, gripper.current_limit)
        self.bus.write(gripper.motor.id, ct.GOAL_CURRENT, gripper.current_limit)
        if self.torque_on:
            self.set_torque(True)

    def _ensure(self, dxl_id: int, register: ct.Register, value: int) -> None:
        """Write an EEPROM value only if it differs (EEPROM has limited write cycles)."""
        if self.bus.read(dxl_id, register) != value:
            self.bus.write(dxl_id, register, value)

    def set_torque(self, on: bool) -> None:
        """Torque on (each motor holds where it is: goal = present) or off (free to move by hand)."""
        for dxl_id in self.ids:
            self.bus.write(dxl_id, ct.TORQUE_ENABLE, int(on))

    def hardware_errors(self) -> dict[int, int]:
        """Hardware Error Status per motor id, only those with bits set."""
        errors = {i: self.bus.read(i, ct.HARDWARE_ERROR_STATUS) for i in self.ids}
        return {i: bits for i, bits in errors.items() if bits}

    def reboot_faulted(self) -> dict[int, int]:
        """REBOOT every motor with a latched hardware error; returns the errors that were cleared."""
        errors = self.hardware_errors()
        for dxl_id, bits in errors.items():
            logger.warning(
                "arm %s: rebooting id %d (%s) after hardware error 0x%02x", self.name, dxl_id, self.names[dxl_id], bits
            )
            self.bus.reboot(dxl_id)
        return errors

    # ------------------------------------------------------------------ per tick
    def read_state(self) -> ArmState:
        """One SYNC_READ of current, velocity and position of every motor (shadows too, for their alert bits)."""
        data, errors = self.bus.sync_read(ct.STATE_BLOCK_ADDRESS, ct.STATE_BLOCK_SIZE, self.ids)
        position, velocity, current = np.zeros(7), np.zeros(7), np.zeros(7)
        for i, motor in enumerate(self._primary):
            raw = data[motor.id]
            ticks = ct.decode(raw[6:10], True)
            position[i] = self._q_from_ticks(motor, ticks)
            velocity[i] = motor.sign * ct.decode(raw[2:6], True) * ct.VELOCITY_UNIT_RAD_S
            current[i] = ct.decode(raw[0:2], True) * ct.MODELS[motor.model].current_unit_a
        grip = self.calibration.gripper
        position[6] = grip.normalize(position[6])
        velocity[6] = velocity[6] / (grip.open_rad - grip.closed_rad)
        alerts = tuple(i for i, e in errors.items() if e & 0x80)
        state = ArmState(position, velocity, current, alerts)
        self.last = state
        return state

    def raise_if_alerted(self, state: ArmState) -> None:
        """Raise :class:`MotorHardwareError` if any motor reported the hardware alert bit."""
        if state.alerts:
            errors = {i: self.bus.read(i, ct.HARDWARE_ERROR_STATUS) for i in state.alerts}
            raise MotorHardwareError(self.bus.name, errors, self.names)

    def write_goals(self, joints: np.ndarray) -> np.ndarray:
        """SYNC_WRITE Goal Position for ``[7]`` joint targets; returns the ``[7]`` values the ticks stand for."""
        goals = self.goal_ticks(joints)
        self.bus.sync_write(ct.GOAL_POSITION, goals)
        return self.joints_from_goals(goals)

    def hold(self) -> None:
        """Command every reachable motor to stay where it is now (best effort while handling a fault, logged).

        Reads the arm first; if that fails (this is the faulted bus) the last measured position is held.
        """
        if not self.torque_on:
            return
        try:
            self.read_state()
        except Exception as exc:  # the faulted arm itself: fall back to its last reading
            logger.warning("arm %s: holding its last measured position (%s)", self.name, exc)
        if self.last is None:
            return
        try:
            self.write_goals(self.last.position)
        except Exception as exc:  # holding is best effort while handling another fault
            logger.error("arm %s: could not send the hold command: %s", self.name, exc)
