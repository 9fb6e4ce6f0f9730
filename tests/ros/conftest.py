"""Real rclpy + Fast DDS between processes: one ROS domain per test module, reserved on this host.

Every test here is marked ``ros``. Each module's graph runs in its own domain id, reserved like ROS 2's
``domain_coordinator`` (a bound port ``32768 + id`` holds it), so parallel test runs on one host never share
a domain. Only ids whose Fast DDS ports stay valid and outside Linux's ephemeral port range (32768–60999)
are used: 1–101 and 215–232 (discovery port ``7400 + 250 · id``; above 232 it overflows 65535).
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy", reason="ROS 2 wheels (the ros extra) are not installed")

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)  # the chosen domain shows in a failing test's captured log

HERE = Path(__file__).parent
DOMAIN_IDS = (*range(1, 102), *range(215, 233))  # 0 is every ROS 2 user's default: left alone
LOCK_PORT_BASE = 32768  # as ROS 2's domain_coordinator, so both reserve from one pool
_modules = itertools.count()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.ros)


def reserve_domain_id(start: int) -> tuple[int, socket.socket]:
    """The first free id of ``DOMAIN_IDS`` from index ``start`` on (cyclically) and the socket holding it."""
    for offset in range(len(DOMAIN_IDS)):
        domain_id = DOMAIN_IDS[(start + offset) % len(DOMAIN_IDS)]
        lock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            lock.bind(("", LOCK_PORT_BASE + domain_id))
        except OSError:
            lock.close()
            continue
        return domain_id, lock
    raise RuntimeError(f"all {len(DOMAIN_IDS)} usable ROS domain ids are held by other processes on this host")


@pytest.fixture(scope="module")
def ros_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    # The pid spreads concurrent runs over the ids (37 is coprime with their count, 119, so neighbouring pids
    # start far apart); the counter gives each module of a run the next id. The reservation settles clashes.
    domain_id, lock = reserve_domain_id(os.getpid() * 37 + next(_modules))
    logger.info("ROS_DOMAIN_ID=%d for %s (pid %d)", domain_id, request.module.__name__, os.getpid())
    env = dict(os.environ)
    env.update(
        ROS_DOMAIN_ID=str(domain_id),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        FASTDDS_BUILTIN_TRANSPORTS="LARGE_DATA",
        AMENT_PREFIX_PATH=sys.prefix,
        MUJOCO_GL=env.get("MUJOCO_GL", "egl"),
    )
    saved = dict(os.environ)
    os.environ.update(env)
    rclpy.init()
    try:
        yield env
    finally:
        rclpy.shutdown()
        os.environ.clear()
        os.environ.update(saved)
        lock.close()
