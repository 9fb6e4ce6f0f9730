"""Messages ↔ core types. The only module that imports both ROS 2 messages and the failforward core.

Conventions: joint order is the driver's (``RobotFeatures.joint_names``); images are ``rgb8``;
stamps carry the driver's clock (simulation time in simulation).
"""

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, JointState
from std_msgs.msg import ColorRGBA, Float64MultiArray, MultiArrayDimension, String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import Marker, MarkerArray

from failforward.config import RunConfig, get_preset
from failforward.errors import ConfigError, ShapeError
from failforward.sim.aloha_scene import SimState
from failforward.types import ActionChunk, EpisodeOutcome, JointCommand, Observation


# ----------------------------------------------------------------- time
def to_stamp(seconds: float) -> Time:
    ns = round(seconds * 1e9)
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def from_stamp(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


# --------------------------------------------------------------- config
CONFIG_SECTIONS = frozenset(RunConfig.model_fields)


def run_config_from_parameters(preset: str, overrides: dict[str, Any]) -> RunConfig:
    """A node's parameters → ``RunConfig``: the named preset with every ``section.field`` parameter applied."""
    if not preset:
        raise ConfigError("Parameter 'preset' is required: pass a params file from launch/params/.")
    return get_preset(preset).with_overrides(overrides)


# --------------------------------------------------------------- joints
def joint_state(stamp: float, names: tuple[str, ...], position: np.ndarray,
                velocity: np.ndarray | None = None) -> JointState:
    msg = JointState()
    msg.header.stamp = to_stamp(stamp)
    msg.name = list(names)
    msg.position = [float(x) for x in position]
    msg.velocity = [] if velocity is None else [float(x) for x in velocity]
    return msg


def positions_from_joint_state(msg: JointState, names: tuple[str, ...]) -> np.ndarray:
    """Positions ``[A]`` in ``names`` order; a message naming other joints is a ``ShapeError``."""
    if list(msg.name) != list(names):
        index = {name: i for i, name in enumerate(msg.name)}
        missing = [n for n in names if n not in index]
        if missing or len(msg.position) != len(msg.name):
            raise ShapeError(f"JointState lacks joints {missing} or has {len(msg.position)} positions for "
                             f"{len(msg.name)} names; publish all of {list(names)}.")
        return np.array([msg.position[index[n]] for n in names], dtype=np.float64)
    if len(msg.position) != len(names):
        raise ShapeError(f"JointState has {len(msg.position)} positions, expected {len(names)}.")
    return np.array(msg.position, dtype=np.float64)


def command_from_joint_state(msg: JointState, names: tuple[str, ...]) -> JointCommand:
    return JointCommand(from_stamp(msg.header.stamp), positions_from_joint_state(msg, names))


def observation_from_messages(state: JointState, names: tuple[str, ...],
                              images: dict[str, np.ndarray] | None = None) -> Observation:
    velocity = np.array(state.velocity) if len(state.velocity) == len(names) else np.zeros(len(names))
    return Observation(from_stamp(state.header.stamp), positions_from_joint_state(state, names), velocity,
                       images=dict(images or {}))


# --------------------------------------------------------------- images
def image_msg(stamp: float, camera: str, rgb: np.ndarray) -> Image:
    """``uint8 [H, W, 3]`` RGB → ``sensor_msgs/Image`` (rgb8)."""
    msg = Image()
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), camera
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding, msg.is_bigendian, msg.step = "rgb8", 0, int(rgb.shape[1] * 3)
    msg.data = np.ascontiguousarray(rgb).tobytes()
    return msg


def rgb_from_image(msg: Image) -> np.ndarray:
    """``sensor_msgs/Image`` (rgb8 or bgr8) → ``uint8 [H, W, 3]`` RGB."""
    if msg.encoding not in ("rgb8", "bgr8"):
        raise ShapeError(f"Image encoding {msg.encoding!r} is not supported; publish rgb8 or bgr8.")
    array = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.step)[:, : msg.width * 3]
    array = array.reshape(msg.height, msg.width, 3)
    return array[:, :, ::-1].copy() if msg.encoding == "bgr8" else array.copy()


def compressed_msg(stamp: float, camera: str, rgb: np.ndarray, quality: int = 85) -> CompressedImage:
    ok, data = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ShapeError(f"JPEG encoding failed for a {rgb.shape} image from {camera!r}.")
    msg = CompressedImage()
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), camera
    msg.format, msg.data = "jpeg", data.tobytes()
    return msg


def camera_info_msg(stamp: float, camera: str, k: np.ndarray, height: int, width: int) -> CameraInfo:
    """Pinhole ``K [3, 3]`` → CameraInfo (no distortion; ``P = [K | 0]``)."""
    msg = CameraInfo()
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), camera
    msg.height, msg.width, msg.distortion_model = height, width, "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = [float(x) for x in k.reshape(-1)]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [float(x) for x in np.hstack([k, np.zeros((3, 1))]).reshape(-1)]
    return msg


# ---------------------------------------------------------------- policy
def trajectory_msg(stamp: float, names: tuple[str, ...], chunk: ActionChunk, dt: float) -> JointTrajectory:
    """Chunk ``[H, A]`` → JointTrajectory with ``time_from_start = (i + 1) · dt``."""
    msg = JointTrajectory()
    msg.header.stamp, msg.joint_names = to_stamp(stamp), list(names)
    for i, row in enumerate(chunk.actions):
        point = JointTrajectoryPoint()
        point.positions = [float(x) for x in row]
        ns = round((i + 1) * dt * 1e9)
        point.time_from_start.sec, point.time_from_start.nanosec = ns // 1_000_000_000, ns % 1_000_000_000
        msg.points.append(point)
    return msg


def guidance_msg(chunk: ActionChunk) -> Float64MultiArray:
    """λ_t per denoise step ``[N]`` → Float64MultiArray labelled ``lambda_t``."""
    msg = Float64MultiArray()
    msg.layout.dim = [MultiArrayDimension(label="lambda_t", size=chunk.guidance.size, stride=chunk.guidance.size)]
    msg.data = [float(x) for x in chunk.guidance]
    return msg


def chunk_preview_msg(stamp: float, paths: dict[str, np.ndarray], frame_id: str = "world") -> MarkerArray:
    """Tool paths ``{arm: [H, 3]}`` [m] → one LINE_STRIP marker per arm (left blue, right orange)."""
    colours = {"left": ColorRGBA(r=0.2, g=0.5, b=1.0, a=1.0), "right": ColorRGBA(r=1.0, g=0.55, b=0.1, a=1.0)}
    markers = MarkerArray()
    for index, (arm, path) in enumerate(sorted(paths.items())):
        marker = Marker(ns="chunk_preview", id=index, type=Marker.LINE_STRIP, action=Marker.ADD)
        marker.header.stamp, marker.header.frame_id = to_stamp(stamp), frame_id
        marker.scale.x = 0.005
        marker.pose.orientation.w = 1.0
        marker.color = colours.get(arm, ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0))
        marker.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in path]
        markers.markers.append(marker)
    return markers


# ------------------------------------------------- sim state and outcomes
def sim_state_msg(state: SimState, outcome: EpisodeOutcome) -> String:
    """Privileged simulator state as JSON in std_msgs/String: no standard message carries object poses,
    contacts and task stage together (it is simulator-only data, like a motion-capture feed)."""
    payload = {
        "time": state.time,
        "qpos": state.qpos.tolist(),
        "qvel": state.qvel.tolist(),
        "object_poses": {k: v.tolist() for k, v in state.object_poses.items()},
        "contacts": sorted(list(pair) for pair in state.contacts),
        "stage": state.stage,
        "outcome": {"success": outcome.success, "stage": outcome.stage, "reason": outcome.reason},
    }
    return String(data=json.dumps(payload))


def sim_state_from_msg(msg: String) -> tuple[SimState, EpisodeOutcome]:
    payload = json.loads(msg.data)
    state = SimState(
        time=float(payload["time"]),
        qpos=np.asarray(payload["qpos"], dtype=np.float64),
        qvel=np.asarray(payload["qvel"], dtype=np.float64),
        object_poses={k: np.asarray(v, dtype=np.float64) for k, v in payload["object_poses"].items()},
        contacts=frozenset(tuple(pair) for pair in payload["contacts"]),
        stage=int(payload["stage"]),
        success=int(payload["stage"]) == 4,
    )
    out = payload["outcome"]
    return state, EpisodeOutcome(bool(out["success"]), int(out["stage"]), str(out["reason"]))


def outcome_msg(index: int, seed: int, outcome: EpisodeOutcome, steps: int) -> String:
    """Episode outcome as JSON in std_msgs/String (no standard message for a task outcome)."""
    return String(data=json.dumps({"episode": index, "seed": seed, "success": outcome.success,
                                   "stage": outcome.stage, "reason": outcome.reason, "steps": steps}))


def outcome_fields(msg: String) -> dict[str, Any]:
    """The JSON of an ``episode/outcome`` message as MCAP ``episode`` metadata fields (the recorder's keys)."""
    payload = json.loads(msg.data)
    return {"success": "true" if payload.get("success") else "false", "stage": str(payload.get("stage", 0)),
            "reason": str(payload.get("reason", "")), "seed": str(payload.get("seed", "")),
            "episode_index": str(payload.get("episode", "")), "steps": str(payload.get("steps", ""))}


# ------------------------------------------------------------ any message
def ros_type_name(msg: Any) -> str:
    """``sensor_msgs.msg.JointState`` instance → ``"sensor_msgs/msg/JointState"``."""
    return f"{type(msg).__module__.split('.')[0]}/msg/{type(msg).__name__}"


def message_to_dict(msg: Any) -> Any:
    """A ROS 2 message as plain data (nested dicts, lists, numbers, bytes) for the MCAP serializer."""
    if hasattr(msg, "get_fields_and_field_types"):
        return {name: message_to_dict(getattr(msg, name)) for name in msg.get_fields_and_field_types()}
    if isinstance(msg, (bytes, bytearray)):
        return bytes(msg)
    if isinstance(msg, (list, tuple)):
        return [message_to_dict(item) for item in msg]
    if isinstance(msg, np.ndarray) or type(msg).__name__ == "array":
        return msg.tolist()
    return msg


# ------------------------------------------------------------ diagnostics
def diagnostics_msg(stamp: float, name: str, level_ok: bool, message: str, values: dict[str, Any]) -> DiagnosticArray:
    status = DiagnosticStatus(
        level=DiagnosticStatus.OK if level_ok else DiagnosticStatus.WARN,
        name=name,
        message=message,
        hardware_id=name,
        values=[KeyValue(key=str(k), value=f"{v:.3f}" if isinstance(v, float) else str(v)) for k, v in values.items()],
    )
    msg = DiagnosticArray(status=[status])
    msg.header.stamp = to_stamp(stamp)
    return msg


def error_diagnostics(stamp: float, name: str, message: str) -> DiagnosticArray:
    msg = diagnostics_msg(stamp, name, False, message, {})
    msg.status[0].level = DiagnosticStatus.ERROR
    return msg
