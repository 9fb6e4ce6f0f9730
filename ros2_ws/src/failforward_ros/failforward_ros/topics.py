"""Topic and service names of the node graph (relative names: remap or namespace them per robot)."""

JOINT_STATES = "joint_states"
JOINT_COMMANDS = "joint_commands"
COMMAND_SENT = "command_sent"
SIM_STATE = "sim/state"
POLICY_CHUNK = "policy/chunk"
POLICY_GUIDANCE = "policy/guidance"
CHUNK_PREVIEW = "policy/chunk_preview"
EPISODE_OUTCOME = "episode/outcome"
EPISODE_START = "episode/start"  # JSON in std_msgs/String: episode_id, seed, stamp, prompt (latched, robot_bridge)
DIAGNOSIS = "supervisor/diagnosis"
ANNOTATED = "supervisor/annotated"
SYMBOLS = "supervisor/symbols"  # visualization_msgs/MarkerArray: the answer's symbols in 3-D (latched)
RECOVERY_EVENT = "recovery/event"
PLANNER_PLAN = "planner/plan"  # std_msgs/String: JSON of each System-2 planning cycle (reason, subgoals, tree)
PLANNER_TREE = "planner/tree"  # visualization_msgs/MarkerArray: the searched tree, chosen path highlighted
OBJECT_POSES = "objects/poses"  # geometry_msgs/PoseArray in world, RobotFeatures.object_names order
DIAGNOSTICS = "/diagnostics"


def image_topic(camera: str) -> str:
    return f"cameras/{camera}/image_raw"


def compressed_topic(camera: str) -> str:
    return f"cameras/{camera}/image_raw/compressed"


def camera_info_topic(camera: str) -> str:
    return f"cameras/{camera}/camera_info"


def depth_topic(camera: str) -> str:
    """Depth registered to the camera's colour image: 32FC1 [m] along the optical axis (REP 118)."""
    return f"cameras/{camera}/depth/image_raw"


def robot_mask_topic(camera: str) -> str:
    """Robot self-filter of the camera's image: mono8, 255 where the pixel shows the robot itself."""
    return f"cameras/{camera}/robot_mask"


def camera_pose_topic(camera: str) -> str:
    """PoseStamped of the camera's optical frame (x right, y down, z forward) in ``world`` [m]."""
    return f"cameras/{camera}/pose"
