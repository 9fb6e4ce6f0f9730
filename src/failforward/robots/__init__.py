"""Robot drivers: the interface, optional capabilities, the registry and the built-in drivers."""

from failforward.robots.base import EpisodicDriver, RobotDriver
from failforward.robots.capabilities import LeaderArms, OnDemandCamera, SceneAccess
from failforward.robots.registry import (
    RobotDescription,
    describe_robot,
    make_driver,
    register_description,
    register_driver,
    registered_drivers,
)

__all__ = [
    "EpisodicDriver",
    "LeaderArms",
    "OnDemandCamera",
    "RobotDescription",
    "RobotDriver",
    "SceneAccess",
    "describe_robot",
    "make_driver",
    "register_description",
    "register_driver",
    "registered_drivers",
]
