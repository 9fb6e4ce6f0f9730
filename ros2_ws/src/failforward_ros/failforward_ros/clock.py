"""One clock for the graph: in simulation robot_bridge publishes its graph clock on ``/clock`` and every node runs
on it (``use_sim_time``), so that node clocks, message stamps and recordings agree; on hardware nodes keep the
system clock.

The graph clock (see ``BridgeCore.graph_time``) is simulated time [s], continued across resets. Timers that pace
real work (a recorder's grace period, a poll) run on :func:`steady_clock`, which advances when simulated time
stands still (between episodes, after the last one).
"""

from __future__ import annotations

from builtin_interfaces.msg import Time
from rclpy.clock import Clock, ClockType
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosgraph_msgs.msg import Clock as ClockMsg

from failforward_ros.recorder_core import NodeClock

CLOCK_TOPIC = "/clock"


def use_graph_clock(node: Node, simulated: bool) -> NodeClock:
    """Put ``node`` on the graph clock: ``use_sim_time`` true when the robot is ``simulated`` (robot_bridge then
    publishes ``/clock``; see ``episode.simulated``), as set otherwise. Returns the clock the node now runs on."""
    if simulated and not node.get_parameter("use_sim_time").value:
        node.set_parameters([Parameter("use_sim_time", Parameter.Type.BOOL, True)])
    return "sim" if node.get_parameter("use_sim_time").value else "system"


def now_ns(node: Node) -> int:
    """[ns] on ``node``'s clock (simulated time under ``use_sim_time``, else the system clock)."""
    return node.get_clock().now().nanoseconds


def now_s(node: Node) -> float:
    """[s] on ``node``'s clock, for message stamps."""
    return now_ns(node) * 1e-9


def steady_clock() -> Clock:
    """A clock that always advances (for timers that pace real work, never simulated time)."""
    return Clock(clock_type=ClockType.STEADY_TIME)


def clock_msg(t: float) -> ClockMsg:
    """``rosgraph_msgs/Clock`` at ``t`` [s] of the graph clock."""
    ns = round(t * 1e9)
    return ClockMsg(clock=Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000))
