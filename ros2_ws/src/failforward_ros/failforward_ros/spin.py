"""Running one node as a process: init, spin on an explicit executor, shut down in the safe order.

The order matters with the PyPI ROS 2 wheels: executor shutdown, node destruction, then
``rclpy.shutdown()`` (exiting with a spinning thread once aborted the process).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.node import Node


def spin_node(
    make_node: Callable[[], Node], make_executor: Callable[[], Executor], argv: list[str] | None = None
) -> int:
    """Create the node, spin it until SIGINT or external shutdown, then ``node.release()`` (the node's
    own resources: driver, worker thread, files) and clean up ROS."""
    rclpy.init(args=argv if argv is not None else sys.argv)
    node = make_node()
    executor = make_executor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        release = getattr(node, "release", None)
        if release is not None:
            release()
        executor.shutdown()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
