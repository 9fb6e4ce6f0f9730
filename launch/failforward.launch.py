"""The whole failforward stack for one robot: robot bridge, recorder, supervisor, policy.

    ros2 launch failforward_ros failforward.launch.py preset:=sim_transfer_cube_afil [policy:=hold]
        [model_dir:=/abs/path/to/model] [robot_id:=sim] [supervisor_endpoint:=http://host:8000/v1]

The per-robot files (sim_aloha, aloha, franka) include this one with their preset. Nodes are lifecycle
nodes, brought up one after the other in ``NODES`` order: each is configured once the previous one is
active, then activated. So the recorder is recording before the supervisor and the policy run, and the
policy node comes last. The policy node also enforces the order itself (it starts episodes only once the
bridge publishes and the recorder reports ready), so a graph started by hand keeps the promise too.

``policy`` and ``model_dir`` default to the preset's (empty: not overridden). ``NODES`` is the process
list; tests/ros start exactly these executables with the same parameters (launch itself has no wheel on
PyPI), and tests check the two agree and that every file named here exists.

TF: ``robot_state_publisher`` (in the robot's namespace) publishes ``robot_description`` and the TF of the
preset's robot from ``joint_states``, with the URDF ``failforward.robots.urdf`` names for the robot kind
(``share/failforward_ros/urdf/``; root frame ``world``, camera frames named like the cameras). It is in every
ROS 2 install but not on PyPI, so it never runs in the venv's tests: there tests/test_urdf_kinematics.py
(the URDFs' forward kinematics against the MuJoCo models) is the check of the TF it publishes.
"""

from pathlib import Path

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, LogInfo, OpaqueFunction, RegisterEventHandler
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

# (executable, node name): configured and activated one after the other, in this order.
NODES = [
    ("robot_bridge", "robot_bridge"),
    ("recorder_node", "recorder_node"),
    ("supervisor_node", "supervisor_node"),
    ("policy_node", "policy_node"),
]
ARGUMENTS = {
    "preset": ("sim_transfer_cube", "core preset; selects share/failforward_ros/params/<preset>.yaml"),
    "policy": ("", "policy kind (expert, hold, afil, remote: a policy server); empty: the preset's"),
    "model_dir": ("", "AFIL model directory (manifest.json); empty: the preset's, found under the package share"),
    "robot_id": ("robot", "namespace of this robot's topics"),
    "supervisor_endpoint": ("", "OpenAI-compatible VLM server URL (selects the openai supervisor backend)"),
    "foxglove": ("", "true: the policy node serves a Foxglove live view (ws://127.0.0.1:8765); empty: the preset's"),
}
LAUNCH_PARAMETERS = {
    "policy_kind": "policy",
    "model_dir": "model_dir",
    "supervisor_endpoint": "supervisor_endpoint",
    "foxglove": "foxglove",
}
"""Node parameter → launch argument (failforward_ros.node_params applies them when not empty)."""


def _lifecycle(executable: str, name: str, params: PathJoinSubstitution) -> LifecycleNode:
    overrides = {parameter: LaunchConfiguration(argument) for parameter, argument in LAUNCH_PARAMETERS.items()}
    return LifecycleNode(
        package="failforward_ros",
        executable=executable,
        name=name,
        namespace=LaunchConfiguration("robot_id"),
        parameters=[params, overrides],
        output="screen",
    )


def _transition(node: LifecycleNode, transition_id: int) -> EmitEvent:
    return EmitEvent(event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=transition_id))


def _when(node: LifecycleNode, state: str, then: EmitEvent) -> RegisterEventHandler:
    return RegisterEventHandler(OnStateTransition(target_lifecycle_node=node, goal_state=state, entities=[then]))


def _bring_up_in_order(nodes: list[LifecycleNode]) -> list:
    """Configure the first node; activate each once configured; configure the next once it is active."""
    entities: list = []
    for node, following in zip(nodes, [*nodes[1:], None], strict=True):
        entities.append(_when(node, "inactive", _transition(node, Transition.TRANSITION_ACTIVATE)))
        if following is not None:
            entities.append(_when(node, "active", _transition(following, Transition.TRANSITION_CONFIGURE)))
    return [*entities, _transition(nodes[0], Transition.TRANSITION_CONFIGURE)]


def robot_urdf(preset: str) -> Path | None:
    """The URDF of ``preset``'s robot kind in the package share; ``None`` for a robot without one (fake, maniskill)."""
    from ament_index_python.packages import get_package_share_directory

    from failforward.config import get_preset
    from failforward.robots.urdf import URDF_OF_KIND

    name = URDF_OF_KIND.get(get_preset(preset).robot.kind)
    return None if name is None else Path(get_package_share_directory("failforward_ros")) / "urdf" / name


def _simulated(preset: str) -> bool:
    """True when the preset's robot is a simulator (the graph then runs on simulated time from /clock)."""
    from failforward_ros.episode import simulated

    from failforward.config import get_preset

    return simulated(get_preset(preset))


def _robot_state_publisher(context) -> list:
    """robot_state_publisher with the preset's URDF as ``robot_description`` (resolved once the preset is known)."""
    preset, namespace = context.launch_configurations["preset"], context.launch_configurations["robot_id"]
    urdf = robot_urdf(preset)
    if urdf is None:
        return [LogInfo(msg=f"preset {preset}: its robot has no URDF, so no robot_state_publisher and no TF")]
    return [
        Node(
            package="robot_state_publisher",
            executable="robot_state_publisher",
            name="robot_state_publisher",
            namespace=namespace,
            parameters=[
                {
                    "robot_description": ParameterValue(urdf.read_text(), value_type=str),  # not YAML
                    "use_sim_time": _simulated(preset),  # TF stamped on the /clock robot_bridge publishes in sim
                }
            ],
            output="screen",
        )
    ]


def generate_launch_description() -> LaunchDescription:
    params = PathJoinSubstitution(
        [FindPackageShare("failforward_ros"), "params", [LaunchConfiguration("preset"), ".yaml"]]
    )
    entities = [
        DeclareLaunchArgument(name, default_value=default, description=text)
        for name, (default, text) in ARGUMENTS.items()
    ]
    nodes = [_lifecycle(executable, name, params) for executable, name in NODES]
    tf = OpaqueFunction(function=_robot_state_publisher)
    return LaunchDescription([*entities, tf, *nodes, *_bring_up_in_order(nodes)])
