"""Node parameters → ``RunConfig``: a node's parameter file (a core preset, field by field) and launch arguments.

See :mod:`failforward_ros.launch_args` for what each launch argument does.
"""

from __future__ import annotations

from rclpy.node import Node

from failforward_ros import convert
from failforward_ros.launch_args import LAUNCH_PARAMETERS, run_config_from


def declared_run_config(node: Node):  # -> RunConfig (the core is imported through launch_args only)
    """Build the ``RunConfig`` from the node's (file-declared) parameters and its launch arguments."""
    values = {
        name: param.value
        for name, param in node.get_parameters_by_prefix("").items()
        if name == "preset" or name.split(".")[0] in convert.CONFIG_SECTIONS
    }  # skips ROS's own
    launch = {name: _string_parameter(node, name) for name in LAUNCH_PARAMETERS}
    return run_config_from(str(values.pop("preset", "")), values, launch)


def _string_parameter(node: Node, name: str) -> str:
    return str(node.get_parameter(name).value or "") if node.has_parameter(name) else ""
