"""One emulated X-series motor: its control table, first-order dynamics and injected faults.

Dynamics (position modes, torque on, no hardware error): the position ``p`` [ticks] follows the
goal ``g`` as a first-order lag with time constant ``tau`` [s], its speed capped by Velocity Limit::

    p(t + dt) = p + clip((g − p)(1 − exp(−dt/tau)), ±v_max dt)

Present current is proportional to the position error, capped by Goal Current in
current-based position mode and by Current Limit always. A stall (``stall_at``) stops the
motion at a tick, like a gripper closing on an object, and the current saturates there.
With torque off the motor coasts to rest where it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from failforward.robots.dynamixel import control_table as ct
from failforward.robots.dynamixel.protocol import ALERT_BIT, ErrorNumber

CURRENT_PER_TICK = 4.0  # [current units per tick of position error], a stiff position loop


@dataclass
class MotorSpec:
    """What is plugged in: ``dxl_id``, model name and the initial position [ticks]."""

    dxl_id: int
    model: str = "XM430-W350"
    position: float = ct.CENTER_TICK


class EmulatedMotor:
    """Register memory + state of one motor. Times are seconds of the emulator's monotonic clock."""

    def __init__(self, spec: MotorSpec, now: float, tau: float = 0.05) -> None:
        self.spec = spec
        self.model = ct.MODELS[spec.model]
        self.tau = tau
        self.position = float(spec.position)
        self.velocity = 0.0  # [ticks/s]
        self.current = 0.0  # [current units]
        self.stall_at: float | None = None
        self.last_update = now
        self.table = bytearray(ct.TABLE_SIZE)
        self.reset_table()

    # ------------------------------------------------------------------ registers
    def reset_table(self) -> None:
        """Factory defaults (a reboot keeps EEPROM; the emulator keeps everything but RAM defaults)."""
        self._set(ct.MODEL_NUMBER, self.model.model_number)
        self._set(ct.FIRMWARE_VERSION, 46)
        self._set(ct.ID, self.spec.dxl_id)
        self._set(ct.BAUD_RATE, 1)
        self._set(ct.RETURN_DELAY_TIME, 250)
        self._set(ct.OPERATING_MODE, ct.OperatingMode.POSITION)
        self._set(ct.TEMPERATURE_LIMIT, 80)
        self._set(ct.CURRENT_LIMIT, self.model.current_limit)
        self._set(ct.VELOCITY_LIMIT, self.model.velocity_limit)
        self._set(ct.MAX_POSITION_LIMIT, 4095)
        self._set(ct.MIN_POSITION_LIMIT, 0)
        self._set(
            ct.SHUTDOWN,
            int(ct.HardwareError.OVERLOAD | ct.HardwareError.OVERHEATING | ct.HardwareError.ELECTRICAL_SHOCK),
        )
        self._set(ct.STATUS_RETURN_LEVEL, 2)
        self._set(ct.PRESENT_INPUT_VOLTAGE, 120)
        self._set(ct.PRESENT_TEMPERATURE, 35)
        self.reboot_ram()

    def reboot_ram(self) -> None:
        """RAM after power-up or REBOOT: torque off, no hardware error, goal at the present position."""
        self._set(ct.TORQUE_ENABLE, 0)
        self._set(ct.HARDWARE_ERROR_STATUS, 0)
        self._set(ct.GOAL_CURRENT, self.get(ct.CURRENT_LIMIT))
        self._set(ct.GOAL_POSITION, int(round(self.position)))
        if self.get(ct.PRESENT_TEMPERATURE) >= self.get(ct.TEMPERATURE_LIMIT):
            self._set(ct.PRESENT_TEMPERATURE, 35)

    def get(self, register: ct.Register) -> int:
        return ct.decode(self.table[register.address : register.address + register.size], register.signed)

    def _set(self, register: ct.Register, value: int) -> None:
        self.table[register.address : register.address + register.size] = ct.encode(value, register.size)

    @property
    def hardware_error(self) -> int:
        return self.get(ct.HARDWARE_ERROR_STATUS)

    def status_error(self) -> int:
        """Error byte of this motor's status packets: the alert bit while a hardware error is latched."""
        return ALERT_BIT if self.hardware_error else 0

    def read(self, address: int, length: int, now: float) -> tuple[int, bytes]:
        """READ: (error number, data). Out-of-table reads are a data-range error."""
        if address + length > ct.TABLE_SIZE or length == 0:
            return ErrorNumber.DATA_RANGE, b""
        self.advance(now)
        return ErrorNumber.NONE, bytes(self.table[address : address + length])

    def write(self, address: int, data: bytes, now: float) -> int:
        """WRITE: returns an error number; EEPROM needs torque off, read-only entries refuse."""
        if address + len(data) > ct.TABLE_SIZE or not data:
            return ErrorNumber.DATA_RANGE
        if address < ct.EEPROM_END and self.get(ct.TORQUE_ENABLE):
            return ErrorNumber.ACCESS
        for register in ct.REGISTERS:
            overlaps = address < register.address + register.size and register.address < address + len(data)
            if overlaps and not register.writable:
                return ErrorNumber.ACCESS
        self.advance(now)
        if address <= ct.TORQUE_ENABLE.address < address + len(data):
            enable = data[ct.TORQUE_ENABLE.address - address]
            if enable and self.hardware_error:
                return ErrorNumber.RESULT_FAIL  # a latched error keeps torque off until REBOOT
            if enable and not self.get(ct.TORQUE_ENABLE):
                self._set(ct.GOAL_POSITION, int(round(self.position)))  # real motors do not jump on enable
        self.table[address : address + len(data)] = data
        self._clamp_goal_current()
        return ErrorNumber.NONE

    def _clamp_goal_current(self) -> None:
        limit = self.get(ct.CURRENT_LIMIT)
        goal = self.get(ct.GOAL_CURRENT)
        if abs(goal) > limit:
            self._set(ct.GOAL_CURRENT, int(math.copysign(limit, goal)))

    # ------------------------------------------------------------------ faults
    def raise_hardware_error(self, bits: int, now: float) -> None:
        """Latch hardware error ``bits``; errors in the Shutdown mask disable torque (as the firmware does)."""
        self.advance(now)
        self._set(ct.HARDWARE_ERROR_STATUS, self.hardware_error | bits)
        if bits & ct.HardwareError.OVERHEATING:
            self._set(ct.PRESENT_TEMPERATURE, self.get(ct.TEMPERATURE_LIMIT) + 1)
        if bits & self.get(ct.SHUTDOWN):
            self._set(ct.TORQUE_ENABLE, 0)

    # ------------------------------------------------------------------ dynamics
    def advance(self, now: float) -> None:
        """Integrate the motion from ``last_update`` to ``now`` and refresh the present-value registers."""
        dt = max(now - self.last_update, 0.0)
        self.last_update = now
        before = self.position
        if self.get(ct.TORQUE_ENABLE) and self.get(ct.OPERATING_MODE) in (3, 4, 5) and dt > 0:
            goal = float(self._goal_ticks())
            v_max = self.get(ct.VELOCITY_LIMIT) * ct.VELOCITY_UNIT_RAD_S / ct.RAD_PER_TICK
            step = (goal - self.position) * (1.0 - math.exp(-dt / self.tau))
            self.position += max(-v_max * dt, min(v_max * dt, step))
            self.position = self._apply_stall(before, self.position)
            self.current = self._current(goal)
        else:
            self.current = 0.0
        self.velocity = (self.position - before) / dt if dt > 0 else 0.0
        self._publish_present()

    def _goal_ticks(self) -> int:
        goal = self.get(ct.GOAL_POSITION)
        if self.get(ct.OPERATING_MODE) == ct.OperatingMode.POSITION:
            goal = min(max(goal, self.get(ct.MIN_POSITION_LIMIT)), self.get(ct.MAX_POSITION_LIMIT))
        return goal

    def _apply_stall(self, before: float, after: float) -> float:
        if self.stall_at is None:
            return after
        lo, hi = min(before, after), max(before, after)
        return self.stall_at if lo < self.stall_at < hi else after

    def _current(self, goal: float) -> float:
        limit = float(self.get(ct.CURRENT_LIMIT))
        if self.get(ct.OPERATING_MODE) == ct.OperatingMode.CURRENT_BASED_POSITION:
            limit = min(limit, abs(float(self.get(ct.GOAL_CURRENT))))
        return max(-limit, min(limit, CURRENT_PER_TICK * (goal - self.position)))

    def _publish_present(self) -> None:
        self._set(ct.PRESENT_POSITION, int(round(self.position)))
        velocity_units = self.velocity * ct.RAD_PER_TICK / ct.VELOCITY_UNIT_RAD_S
        self._set(ct.PRESENT_VELOCITY, int(round(velocity_units)))
        self._set(ct.PRESENT_CURRENT, int(round(self.current)))
        self._set(ct.MOVING, int(abs(self.velocity) > 1.0))
