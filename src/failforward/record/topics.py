"""Topic names of an episode file (shared by the recorder, the reader and the ROS nodes)."""

JOINT_STATES = "/joint_states"
POLICY_ACTION = "/policy/action"
COMMAND_SENT = "/command/sent"
POLICY_CHUNK = "/policy/chunk"
GUIDANCE = "/policy/guidance"
TASK_PROMPT = "/task/prompt"
OBJECT_STATE = "/objects/state"  # std_msgs/Float64MultiArray [7 · objects] per tick, when the robot offers it
DIAGNOSIS = "/supervisor/diagnosis"
RECOVERY_EVENT = "/recovery/event"
PLANNER_PLAN = "/planner/plan"  # std_msgs/String holding JSON: one System-2 planning cycle (plan, tree, reason)
EPISODE_METADATA = "episode"  # outcome and identity, written when the episode ends
RECORDING_METADATA = "recording"  # clock and identity, written when the file opens (a killed file keeps it)


def camera_topic(camera: str) -> str:
    """``top`` → ``/cameras/top/image_raw/compressed``."""
    return f"/cameras/{camera}/image_raw/compressed"


def camera_from_topic(topic: str) -> str | None:
    """Inverse of :func:`camera_topic`; ``None`` for other topics."""
    parts = topic.strip("/").split("/")
    if len(parts) == 4 and parts[0] == "cameras" and parts[2:] == ["image_raw", "compressed"]:
        return parts[1]
    return None
