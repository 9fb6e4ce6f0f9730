"""failforward on a real Franka arm through franky (libfranka).

    ros2 launch failforward_ros franka.launch.py [preset:=franka]
        [policy:=<preset's>] [model_dir:=<preset's>] [robot_id:=franka]

Includes failforward.launch.py (the node list) with this robot's defaults.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare

DEFAULTS = {
    "preset": "franka",
    "policy": "",
    "model_dir": "",
    "robot_id": "franka",
    "supervisor_endpoint": "",
    "foxglove": "",
}


def generate_launch_description() -> LaunchDescription:
    stack = PathJoinSubstitution([FindPackageShare("failforward_ros"), "launch", "failforward.launch.py"])
    arguments = [DeclareLaunchArgument(name, default_value=value) for name, value in DEFAULTS.items()]
    forwarded = {name: LaunchConfiguration(name) for name in DEFAULTS}
    return LaunchDescription(
        [
            *arguments,
            IncludeLaunchDescription(PythonLaunchDescriptionSource(stack), launch_arguments=forwarded.items()),
        ]
    )
