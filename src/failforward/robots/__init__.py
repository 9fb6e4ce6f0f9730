"""Robot drivers: the interface, the registry and the built-in drivers."""

from failforward.robots.base import EpisodicDriver, RobotDriver
from failforward.robots.registry import make_driver, register_driver, registered_drivers

__all__ = ["EpisodicDriver", "RobotDriver", "make_driver", "register_driver", "registered_drivers"]
