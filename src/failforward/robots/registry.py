"""Drivers registered by name; configs carry the name in their ``kind`` field.

Example:
    >>> from failforward.robots import make_driver
    >>> from failforward.config import SimAlohaConfig
    >>> driver = make_driver(SimAlohaConfig(task="transfer_cube"))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from failforward.errors import UnknownNameError
from failforward.robots.base import RobotDriver

DriverT = TypeVar("DriverT", bound=type[RobotDriver])
_DRIVERS: dict[str, Callable[[Any], RobotDriver]] = {}
# Built-in drivers are imported on first use so that optional dependencies (MuJoCo,
# dynamixel-sdk, franky) are only needed by the robot actually used.
_BUILTIN_MODULES: dict[str, str] = {
    "sim_aloha": "failforward.robots.sim_aloha",
    "aloha": "failforward.robots.aloha",
    "franka": "failforward.robots.franka",
    "maniskill": "failforward.robots.maniskill",
}


def register_driver(kind: str) -> Callable[[DriverT], DriverT]:
    """Class decorator: register a driver whose constructor takes its config."""

    def decorate(cls: DriverT) -> DriverT:
        _DRIVERS[kind] = cls
        return cls

    return decorate


def registered_drivers() -> tuple[str, ...]:
    """Names that ``make_driver`` accepts (built-in and registered)."""
    return tuple(sorted(set(_DRIVERS) | set(_BUILTIN_MODULES)))


def make_driver(config: Any) -> RobotDriver:
    """Build the driver named by ``config.kind``."""
    if config.kind not in _DRIVERS and config.kind in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[config.kind])
    try:
        factory = _DRIVERS[config.kind]
    except KeyError:
        raise UnknownNameError("robot driver", config.kind, registered_drivers()) from None
    return factory(config)
