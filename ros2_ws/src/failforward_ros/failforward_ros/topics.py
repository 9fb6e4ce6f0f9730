"""Topic and service names of the node graph (relative names: remap or namespace them per robot)."""

JOINT_STATES = "joint_states"
JOINT_COMMANDS = "joint_commands"
COMMAND_SENT = "command_sent"
SIM_STATE = "sim/state"
POLICY_CHUNK = "policy/chunk"
POLICY_GUIDANCE = "policy/guidance"
CHUNK_PREVIEW = "policy/chunk_preview"
EPISODE_OUTCOME = "episode/outcome"
DIAGNOSIS = "supervisor/diagnosis"
ANNOTATED = "supervisor/annotated"
DIAGNOSTICS = "/diagnostics"


def image_topic(camera: str) -> str:
    return f"cameras/{camera}/image_raw"


def compressed_topic(camera: str) -> str:
    return f"cameras/{camera}/image_raw/compressed"


def camera_info_topic(camera: str) -> str:
    return f"cameras/{camera}/camera_info"
