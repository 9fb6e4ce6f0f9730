"""The real bimanual ALOHA (ViperX 300 S followers over Dynamixel Protocol 2.0), registered as ``aloha``."""

from failforward.robots.aloha.driver import AlohaDriver
from failforward.robots.aloha.joints import JOINT_NAMES

__all__ = ["JOINT_NAMES", "AlohaDriver"]
