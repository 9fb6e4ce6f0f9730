"""Typed Dynamixel failures; each message names the bus, the motor and what to do."""

from __future__ import annotations

from failforward.errors import DriverError
from failforward.robots.dynamixel.control_table import HardwareError


class MotorCommunicationError(DriverError):
    """Motors did not answer (unplugged, unpowered, wrong baud rate) or answered with bad CRCs."""

    def __init__(self, message: str, bus: str, motor_ids: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.bus, self.motor_ids = bus, motor_ids


class MotorHardwareError(DriverError):
    """Motors latched a Hardware Error Status (overload, overheating...); their torque is off until reboot."""

    def __init__(self, bus: str, errors: dict[int, int], names: dict[int, str]) -> None:
        described = ", ".join(
            f"id {i} ({names.get(i, '?')}): {describe_hardware_error(bits)}" for i, bits in sorted(errors.items())
        )
        super().__init__(
            f"Hardware error on bus {bus}: {described}. The other motors are holding their position. "
            "Remove the load or let the motor cool down, then call recover() to reboot the faulted motors."
        )
        self.bus, self.errors = bus, dict(errors)


def describe_hardware_error(bits: int) -> str:
    """Readable names of the set Hardware Error Status bits, e.g. ``"OVERLOAD|OVERHEATING"``."""
    names = [flag.name for flag in HardwareError if bits & flag and flag.name]
    return "|".join(names) if names else f"unknown bits 0x{bits:02x}"
