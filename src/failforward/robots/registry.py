"""Drivers and their descriptions registered by name; configs carry the name in their ``kind`` field.

A driver module registers two things under one name: the driver class (``register_driver``) and a function
that describes the robot without building the driver (``register_description``): its features and its task
prompt, for processes that only need to know the robot (a policy or supervisor node, a training run).
The driver computes its features through the same function, so the two never disagree.

Example:
    >>> from failforward.robots import describe_robot, make_driver
    >>> from failforward.config import SimAlohaConfig
    >>> describe_robot(SimAlohaConfig(task="transfer_cube")).features.action_dim
    14
    >>> driver = make_driver(SimAlohaConfig(task="transfer_cube"))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from failforward.config.robots import RobotConfig
from failforward.registry import Registry
from failforward.robots.base import RobotDriver
from failforward.types import RobotFeatures

DriverT = TypeVar("DriverT", bound=type[RobotDriver])
# Built-in drivers are imported on first use so that optional dependencies (MuJoCo,
# dynamixel-sdk, franky, ManiSkill) are only needed by the robot actually used.
_BUILTIN_MODULES = {
    "sim_aloha": "failforward.robots.sim_aloha",
    "aloha": "failforward.robots.aloha",
    "franka": "failforward.robots.franka",
    "maniskill": "failforward.robots.maniskill",
    # the fake arm of failforward.testing (no simulator): loop tests, and trying a graph on a bare machine
    "fake": "failforward.testing.fake_robot",
}
DRIVERS: Registry[Callable[[Any], RobotDriver]] = Registry("robot driver", _BUILTIN_MODULES)


@dataclass(frozen=True)
class RobotDescription:
    """What a robot is, known without building its driver.

    Attributes:
        features: joints (order, units, limits), cameras and control rate; equal to the driver's ``features``.
        prompt: the language instruction of a simulated task (the driver's ``task_prompt``); ``""`` on hardware,
            whose task people set up.
        episodic: the driver is an :class:`~failforward.robots.base.EpisodicDriver` (a simulator: seeded resets,
            privileged state, an outcome).
    """

    features: RobotFeatures
    prompt: str = ""
    episodic: bool = False


Describer = Callable[[Any], RobotDescription]
DESCRIPTIONS: Registry[Describer] = Registry("robot description", _BUILTIN_MODULES)


def register_driver(kind: str) -> Callable[[DriverT], DriverT]:
    """Class decorator: register a driver whose constructor takes its config."""
    return DRIVERS.register(kind)  # type: ignore[return-value]


def registered_drivers() -> tuple[str, ...]:
    """Names that ``make_driver`` accepts (built-in and registered)."""
    return DRIVERS.names()


def make_driver(config: RobotConfig) -> RobotDriver:
    """Build the driver named by ``config.kind``."""
    return DRIVERS.get(config.kind)(config)


def register_description(kind: str) -> Callable[[Describer], Describer]:
    """Decorator: register ``describe(config) -> RobotDescription`` for the driver registered as ``kind``."""
    return DESCRIPTIONS.register(kind)


def describe_robot(config: RobotConfig) -> RobotDescription:
    """Features and task prompt of the robot ``config`` names, without building its driver.

    Opens no port, socket or renderer: hardware reads its calibration, the simulated ALOHA parses its MJCF.
    ManiSkill is the exception: its limits live in the loaded env, so this loads the env once and closes it.
    """
    return DESCRIPTIONS.get(config.kind)(config)
