"""The whole failforward stack for one robot: robot bridge, policy, supervisor.

    ros2 launch failforward_ros failforward.launch.py preset:=sim_transfer_cube policy:=expert

The per-robot files (sim_aloha, aloha, franka) include this one with their preset. Nodes are
lifecycle nodes; this file configures and activates them in order (bridge first).
``NODES`` is the process list; tests/ros/test_node_graph.py starts exactly these executables with
the same parameters (launch itself has no wheel on PyPI), and a test checks the two agree.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, RegisterEventHandler
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

# (executable, node name): started in this order, each configured then activated.
NODES = [
    ("robot_bridge", "robot_bridge"),
    ("policy_node", "policy_node"),
    ("supervisor_node", "supervisor_node"),
    ("recorder_node", "recorder_node"),
]
ARGUMENTS = {
    "preset": ("sim_transfer_cube", "core preset; selects launch/params/<preset>.yaml"),
    "policy": ("expert", "policy kind (expert, hold, afil, remote: a policy server, see failforward serve)"),
    "robot_id": ("robot", "namespace of this robot's topics"),
    "supervisor_endpoint": ("", "OpenAI-compatible VLM server URL (presets whose supervisor backend is openai)"),
}


def _lifecycle(executable: str, name: str, params: PathJoinSubstitution) -> LifecycleNode:
    overrides = {
        "policy.kind": LaunchConfiguration("policy"),
        "supervisor_endpoint": LaunchConfiguration("supervisor_endpoint"),
    }
    return LifecycleNode(
        package="failforward_ros",
        executable=executable,
        name=name,
        namespace=LaunchConfiguration("robot_id"),
        parameters=[params, overrides],
        output="screen",
    )


def _configure_then_activate(node: LifecycleNode) -> list:
    configure = EmitEvent(
        event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=Transition.TRANSITION_CONFIGURE)
    )
    activate = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=node,
            goal_state="inactive",
            entities=[
                EmitEvent(
                    event=ChangeState(
                        lifecycle_node_matcher=matches_action(node), transition_id=Transition.TRANSITION_ACTIVATE
                    )
                )
            ],
        )
    )
    return [activate, configure]


def generate_launch_description() -> LaunchDescription:
    params = PathJoinSubstitution(
        [FindPackageShare("failforward_ros"), "params", [LaunchConfiguration("preset"), ".yaml"]]
    )
    entities = [
        DeclareLaunchArgument(name, default_value=default, description=text)
        for name, (default, text) in ARGUMENTS.items()
    ]
    for executable, name in NODES:
        node = _lifecycle(executable, name, params)
        entities += [node, *_configure_then_activate(node)]
    return LaunchDescription(entities)
