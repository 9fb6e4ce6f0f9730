"""Control table of the Dynamixel X series (XM430-W350, XM540-W270), Protocol 2.0, and unit conversions.

Addresses and sizes from the ROBOTIS e-Manual. EEPROM (address < 64) can only be written with
torque disabled. Positions are 4096 ticks per revolution, 2048 at the centre (0 rad); velocity
units are 0.229 rev/min; current units 2.69 mA.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum, IntFlag


@dataclass(frozen=True)
class Register:
    """One control-table entry: ``address``, ``size`` [bytes], ``signed``, and whether it is writable."""

    name: str
    address: int
    size: int
    signed: bool = False
    writable: bool = True


MODEL_NUMBER = Register("model_number", 0, 2, writable=False)
FIRMWARE_VERSION = Register("firmware_version", 6, 1, writable=False)
ID = Register("id", 7, 1)
BAUD_RATE = Register("baud_rate", 8, 1)
RETURN_DELAY_TIME = Register("return_delay_time", 9, 1)
DRIVE_MODE = Register("drive_mode", 10, 1)
OPERATING_MODE = Register("operating_mode", 11, 1)
HOMING_OFFSET = Register("homing_offset", 20, 4, signed=True)
TEMPERATURE_LIMIT = Register("temperature_limit", 31, 1)
CURRENT_LIMIT = Register("current_limit", 38, 2)
VELOCITY_LIMIT = Register("velocity_limit", 44, 4)
MAX_POSITION_LIMIT = Register("max_position_limit", 48, 4)
MIN_POSITION_LIMIT = Register("min_position_limit", 52, 4)
SHUTDOWN = Register("shutdown", 63, 1)
TORQUE_ENABLE = Register("torque_enable", 64, 1)
LED = Register("led", 65, 1)
STATUS_RETURN_LEVEL = Register("status_return_level", 68, 1)
HARDWARE_ERROR_STATUS = Register("hardware_error_status", 70, 1, writable=False)
POSITION_P_GAIN = Register("position_p_gain", 84, 2)
GOAL_CURRENT = Register("goal_current", 102, 2, signed=True)
GOAL_VELOCITY = Register("goal_velocity", 104, 4, signed=True)
PROFILE_ACCELERATION = Register("profile_acceleration", 108, 4)
PROFILE_VELOCITY = Register("profile_velocity", 112, 4)
GOAL_POSITION = Register("goal_position", 116, 4, signed=True)
MOVING = Register("moving", 122, 1, writable=False)
PRESENT_CURRENT = Register("present_current", 126, 2, signed=True, writable=False)
PRESENT_VELOCITY = Register("present_velocity", 128, 4, signed=True, writable=False)
PRESENT_POSITION = Register("present_position", 132, 4, signed=True, writable=False)
PRESENT_INPUT_VOLTAGE = Register("present_input_voltage", 144, 2, writable=False)
PRESENT_TEMPERATURE = Register("present_temperature", 146, 1, writable=False)

REGISTERS: tuple[Register, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Register))
EEPROM_END = 64  # addresses below are EEPROM: writable only with torque off
TABLE_SIZE = 147 + 1

# One contiguous sync read per tick: present current (126), velocity (128), position (132).
STATE_BLOCK_ADDRESS = PRESENT_CURRENT.address
STATE_BLOCK_SIZE = PRESENT_POSITION.address + PRESENT_POSITION.size - PRESENT_CURRENT.address


class OperatingMode(IntEnum):
    CURRENT = 0
    VELOCITY = 1
    POSITION = 3
    EXTENDED_POSITION = 4
    CURRENT_BASED_POSITION = 5
    PWM = 16


class HardwareError(IntFlag):
    """Bits of Hardware Error Status (address 70)."""

    INPUT_VOLTAGE = 1 << 0
    OVERHEATING = 1 << 2
    MOTOR_ENCODER = 1 << 3
    ELECTRICAL_SHOCK = 1 << 4
    OVERLOAD = 1 << 5


@dataclass(frozen=True)
class MotorModel:
    """Per-model constants: model number, default current limit [units], stall current unit [A]."""

    name: str
    model_number: int
    current_limit: int
    velocity_limit: int
    current_unit_a: float = 0.00269


XM430_W350 = MotorModel("XM430-W350", 1020, current_limit=1193, velocity_limit=265)
XM540_W270 = MotorModel("XM540-W270", 1120, current_limit=2047, velocity_limit=230)
MODELS = {m.name: m for m in (XM430_W350, XM540_W270)}

TICKS_PER_REV = 4096
CENTER_TICK = 2048
RAD_PER_TICK = 2.0 * math.pi / TICKS_PER_REV
VELOCITY_UNIT_RAD_S = 0.229 * 2.0 * math.pi / 60.0  # one velocity unit [rad/s]

BAUD_CODES = {9600: 0, 57600: 1, 115200: 2, 1_000_000: 3, 2_000_000: 4, 3_000_000: 5, 4_000_000: 6, 4_500_000: 7}


def encode(value: int, size: int) -> bytes:
    """Little-endian two's complement bytes of ``value`` in ``size`` bytes."""
    return (int(value) & ((1 << (8 * size)) - 1)).to_bytes(size, "little")


def decode(data: bytes | bytearray, signed: bool) -> int:
    """Integer from little-endian ``data`` (two's complement when ``signed``)."""
    return int.from_bytes(bytes(data), "little", signed=signed)


def ticks_to_rad(ticks: float) -> float:
    """Position ticks → joint angle [rad] (2048 ticks = 0 rad)."""
    return (ticks - CENTER_TICK) * RAD_PER_TICK


def rad_to_ticks(rad: float) -> int:
    """Joint angle [rad] → nearest position tick."""
    return int(round(rad / RAD_PER_TICK + CENTER_TICK))
