"""Drivers registered by name; configs carry the name in their ``kind`` field.

Example:
    >>> from failforward.robots import make_driver
    >>> from failforward.config import SimAlohaConfig
    >>> driver = make_driver(SimAlohaConfig(task="transfer_cube"))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from failforward.registry import Registry
from failforward.robots.base import RobotDriver

DriverT = TypeVar("DriverT", bound=type[RobotDriver])
# Built-in drivers are imported on first use so that optional dependencies (MuJoCo,
# dynamixel-sdk, franky, ManiSkill) are only needed by the robot actually used.
DRIVERS: Registry[Callable[[Any], RobotDriver]] = Registry("robot driver", {
    "sim_aloha": "failforward.robots.sim_aloha",
    "aloha": "failforward.robots.aloha",
    "franka": "failforward.robots.franka",
    "maniskill": "failforward.robots.maniskill",
})


def register_driver(kind: str) -> Callable[[DriverT], DriverT]:
    """Class decorator: register a driver whose constructor takes its config."""
    return DRIVERS.register(kind)  # type: ignore[return-value]


def registered_drivers() -> tuple[str, ...]:
    """Names that ``make_driver`` accepts (built-in and registered)."""
    return DRIVERS.names()


def make_driver(config: Any) -> RobotDriver:
    """Build the driver named by ``config.kind``."""
    return DRIVERS.get(config.kind)(config)
