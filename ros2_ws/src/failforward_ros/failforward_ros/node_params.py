"""Node parameters → ``RunConfig``. Parameter files mirror a core preset; nodes add no defaults.

A parameter file names its preset and lists the preset's fields as nested parameters::

    /**:
      ros__parameters:
        preset: sim_transfer_cube
        robot: {task: transfer_cube, cameras: [top]}

``supervisor_endpoint`` (a launch argument) overrides ``supervisor.backend.base_url`` when not empty.
"""

from __future__ import annotations

from rclpy.node import Node

from failforward_ros import convert


def declared_run_config(node: Node):
    """Build the ``RunConfig`` from the node's (file-declared) parameters."""
    values = {
        name: param.value
        for name, param in node.get_parameters_by_prefix("").items()
        if name == "preset" or name.split(".")[0] in convert.CONFIG_SECTIONS
    }  # skips ROS's own
    preset = values.pop("preset", "")
    endpoint = node.get_parameter("supervisor_endpoint").value if node.has_parameter("supervisor_endpoint") else ""
    if endpoint:  # launch argument: where the OpenAI-compatible VLM server is
        values["supervisor.backend.base_url"] = endpoint
    overrides = {name: v if isinstance(v, (str, bool, int, float)) else list(v) for name, v in values.items()}
    return convert.run_config_from_parameters(str(preset), overrides)
