"""Shared contract tests (like dm_env.test_utils) and fakes registered like real implementations.

Importing this package registers :class:`FakeRobot` as the ``fake`` robot driver, so
``make_driver(FakeRobotConfig())`` builds it.
"""

from failforward.config.robots import FakeRobotConfig
from failforward.testing.fake_robot import FakeRobot, FakeState

__all__ = ["FakeRobot", "FakeRobotConfig", "FakeState"]
