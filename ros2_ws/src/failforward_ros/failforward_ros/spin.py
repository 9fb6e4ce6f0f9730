"""Running one node as a process: init, spin on an explicit executor, shut down in the safe order.

The order matters with the PyPI ROS 2 wheels: executor shutdown, node destruction, then
``rclpy.shutdown()`` (exiting with a spinning thread once aborted the process).

SIGINT and SIGTERM are handled here, not by rclpy (whose handlers shut the context down at once, so a node could
no longer publish its last outcome): the first signal asks the node to finish (:class:`~failforward_ros.interrupt.
Finishing`: the episode in progress ends as ``aborted: interrupted``, its file complete) while the executor keeps
spinning, for at most ``FINISH_TIMEOUT_S``; a second one only says so, a third exits at once. The process then
exits with status 0, a clean shutdown for ``ros2 launch`` (it reports any other status as a died process).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import rclpy
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from failforward_ros.interrupt import FINISH_TIMEOUT_S, Finishing, Interrupt

SPIN_PERIOD_S = 0.1  # [s] the longest a signal waits to be noticed by the spinning loop


def spin_node(
    make_node: Callable[[], Node], make_executor: Callable[[], Executor], argv: list[str] | None = None
) -> int:
    """Create the node, spin it until SIGINT, SIGTERM or external shutdown, let it finish its episode, then
    ``node.release()`` (the node's own resources: driver, worker thread, files) and clean up ROS."""
    rclpy.init(args=argv if argv is not None else sys.argv, signal_handler_options=SignalHandlerOptions.NO)
    node = make_node()
    executor = make_executor()
    executor.add_node(node)

    def announce(line: str) -> None:
        node.get_logger().warning(line)

    interrupt = Interrupt(announce=announce)
    try:
        with interrupt.installed():
            _spin(executor, interrupt)
            if interrupt.requested:
                _finish(node, executor)
    except ExternalShutdownException:
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


def _spin(executor: Executor, interrupt: Interrupt) -> None:
    """Spin until a signal or ROS shutdown (waits are bounded, so the signal handler gets to run)."""
    while rclpy.ok() and not interrupt.requested:
        executor.spin_once(timeout_sec=SPIN_PERIOD_S)


def _finish(node: Node, executor: Executor) -> None:
    """Let a :class:`Finishing` node end its episode while its callbacks keep being served."""
    if not isinstance(node, Finishing):
        return
    node.interrupt()
    deadline = time.monotonic() + FINISH_TIMEOUT_S
    while rclpy.ok() and node.finishing() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=SPIN_PERIOD_S)
    if node.finishing():
        node.get_logger().error(f"still finishing after {FINISH_TIMEOUT_S:.0f} s: releasing anyway")
