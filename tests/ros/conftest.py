"""Real rclpy + Fast DDS between processes: one ROS domain per test module."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator

import pytest

rclpy = pytest.importorskip("rclpy", reason="ROS 2 wheels (the ros extra) are not installed")


@pytest.fixture(scope="module")
def ros_env() -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(
        ROS_DOMAIN_ID=str(random.randint(100, 200)),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        FASTDDS_BUILTIN_TRANSPORTS="LARGE_DATA",
        AMENT_PREFIX_PATH=sys.prefix,
        MUJOCO_GL=env.get("MUJOCO_GL", "egl"),
    )
    saved = dict(os.environ)
    os.environ.update(env)
    rclpy.init()
    yield env
    rclpy.shutdown()
    os.environ.clear()
    os.environ.update(saved)


