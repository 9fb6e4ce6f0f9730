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
from geometry_msgs.msg import Point, Pose, PoseArray, PoseStamped
from pydantic import TypeAdapter, ValidationError
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, JointState
from std_msgs.msg import ColorRGBA, Float64MultiArray, MultiArrayDimension, String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import Marker, MarkerArray

from failforward.config import RunConfig
from failforward.errors import ShapeError
from failforward.planner.display import TreeDisplay, tree_display
from failforward.planner.plan import Plan
from failforward.recovery.events import RecoveryEvent
from failforward.recovery.symbol_shapes import Shape, SymbolShapes
from failforward.sim.aloha_scene import SimState
from failforward.supervisor.diagnosis import SupervisorResult
from failforward.supervisor.scheduler import SupervisorReport
from failforward.types import ActionChunk, EpisodeOutcome, JointCommand, Observation
from failforward_ros.episode import EpisodeStart


# ----------------------------------------------------------------- time
def to_stamp(seconds: float) -> Time:
    ns = round(seconds * 1e9)
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def from_stamp(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


# --------------------------------------------------------------- config
CONFIG_SECTIONS = frozenset(RunConfig.model_fields)


# --------------------------------------------------------------- joints
def joint_state(
    stamp: float, names: tuple[str, ...], position: np.ndarray, velocity: np.ndarray | None = None
) -> JointState:
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
            raise ShapeError(
                f"JointState lacks joints {missing} or has {len(msg.position)} positions for "
                f"{len(msg.name)} names; publish all of {list(names)}."
            )
        return np.array([msg.position[index[n]] for n in names], dtype=np.float64)
    if len(msg.position) != len(names):
        raise ShapeError(f"JointState has {len(msg.position)} positions, expected {len(names)}.")
    return np.array(msg.position, dtype=np.float64)


def command_from_joint_state(msg: JointState, names: tuple[str, ...]) -> JointCommand:
    return JointCommand(from_stamp(msg.header.stamp), positions_from_joint_state(msg, names))


def observation_from_messages(
    state: JointState, names: tuple[str, ...], images: dict[str, np.ndarray] | None = None
) -> Observation:
    velocity = np.array(state.velocity) if len(state.velocity) == len(names) else np.zeros(len(names))
    return Observation(
        from_stamp(state.header.stamp), positions_from_joint_state(state, names), velocity, images=dict(images or {})
    )


def object_poses_msg(stamp: float, object_state: np.ndarray, frame_id: str = "world") -> PoseArray:
    """``[7 · n]`` object state (xyz [m] + quat w, x, y, z per object) → ``geometry_msgs/PoseArray``."""
    msg = PoseArray()
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), frame_id
    for x, y, z, qw, qx, qy, qz in np.asarray(object_state, dtype=np.float64).reshape(-1, 7):
        pose = Pose()
        pose.position.x, pose.position.y, pose.position.z = float(x), float(y), float(z)
        pose.orientation.w, pose.orientation.x = float(qw), float(qx)
        pose.orientation.y, pose.orientation.z = float(qy), float(qz)
        msg.poses.append(pose)
    return msg


def object_state_from_poses(msg: PoseArray, count: int) -> np.ndarray:
    """Inverse of :func:`object_poses_msg`; raises ``ShapeError`` unless it holds ``count`` finite poses."""
    if len(msg.poses) != count:
        raise ShapeError(f"objects/poses holds {len(msg.poses)} poses, the robot has {count} objects.")
    state = np.array(
        [
            [
                p.position.x,
                p.position.y,
                p.position.z,
                p.orientation.w,
                p.orientation.x,
                p.orientation.y,
                p.orientation.z,
            ]
            for p in msg.poses
        ],
        dtype=np.float64,
    ).reshape(-1)
    if not np.all(np.isfinite(state)):
        raise ShapeError("objects/poses has NaN/inf; the pose source is broken.")
    return state


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


def depth_msg(stamp: float, camera: str, depth: np.ndarray) -> Image:
    """``float32 [H, W]`` depth [m] along the optical axis → ``sensor_msgs/Image`` (32FC1, REP 118)."""
    depth = np.ascontiguousarray(depth, dtype="<f4")
    msg = Image()
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), camera
    msg.height, msg.width = int(depth.shape[0]), int(depth.shape[1])
    msg.encoding, msg.is_bigendian, msg.step = "32FC1", 0, int(depth.shape[1] * 4)
    msg.data = depth.tobytes()
    return msg


def depth_from_image(msg: Image) -> np.ndarray:
    """``sensor_msgs/Image`` 32FC1 [m] or 16UC1 [mm] (REP 118; 0 = no reading) → ``float32 [H, W]`` [m], NaN
    where there is no reading."""
    dtype: np.dtype[np.float32 | np.uint16]
    if msg.encoding == "32FC1":
        dtype, scale = np.dtype(">f4" if msg.is_bigendian else "<f4"), 1.0
    elif msg.encoding == "16UC1":
        dtype, scale = np.dtype(">u2" if msg.is_bigendian else "<u2"), 1e-3
    else:
        raise ShapeError(f"Depth encoding {msg.encoding!r} is not supported; publish 32FC1 [m] or 16UC1 [mm].")
    rows = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.step)
    depth = rows[:, : msg.width * dtype.itemsize].copy().view(dtype).astype(np.float32) * np.float32(scale)
    depth[~(depth > 0)] = np.nan
    return depth


def mask_msg(stamp: float, camera: str, mask: np.ndarray) -> Image:
    """``bool [H, W]`` (True: the pixel shows the robot) → ``sensor_msgs/Image`` mono8 (255 robot, 0 not)."""
    pixels = np.where(np.asarray(mask, dtype=bool), 255, 0).astype(np.uint8)
    msg = Image()
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), camera
    msg.height, msg.width = int(pixels.shape[0]), int(pixels.shape[1])
    msg.encoding, msg.is_bigendian, msg.step = "mono8", 0, int(pixels.shape[1])
    msg.data = pixels.tobytes()
    return msg


def mask_from_image(msg: Image) -> np.ndarray:
    """mono8 ``sensor_msgs/Image`` → ``bool [H, W]`` (nonzero pixels show the robot)."""
    if msg.encoding != "mono8":
        raise ShapeError(f"Robot mask encoding {msg.encoding!r} is not supported; publish mono8 (255 = robot).")
    rows = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.step)
    return rows[:, : msg.width] > 0


def pose_msg(stamp: float, world_from_camera: np.ndarray, frame_id: str = "world") -> PoseStamped:
    """``[4, 4]`` pose of a camera's optical frame (x right, y down, z forward) in ``frame_id`` [m] → PoseStamped."""
    msg = PoseStamped()
    msg.header.stamp, msg.header.frame_id = to_stamp(stamp), frame_id
    x, y, z = (float(v) for v in world_from_camera[:3, 3])
    msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = x, y, z
    qx, qy, qz, qw = (float(v) for v in Rotation.from_matrix(world_from_camera[:3, :3]).as_quat())
    o = msg.pose.orientation
    o.x, o.y, o.z, o.w = qx, qy, qz, qw
    return msg


def pose_from_msg(msg: PoseStamped) -> np.ndarray:
    """PoseStamped → ``[4, 4]`` homogeneous transform; a zero quaternion is a ``ShapeError``."""
    o, p = msg.pose.orientation, msg.pose.position
    quat = np.array([o.x, o.y, o.z, o.w], dtype=np.float64)
    if not np.all(np.isfinite(quat)) or np.linalg.norm(quat) < 1e-9:
        raise ShapeError(f"Camera pose has an invalid orientation {quat.tolist()}; publish a unit quaternion.")
    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_quat(quat).as_matrix()
    pose[:3, 3] = [p.x, p.y, p.z]
    return pose


def intrinsics_from_camera_info(msg: CameraInfo) -> tuple[np.ndarray, int, int]:
    """CameraInfo → ``(K [3, 3] [px], height, width)`` of the image it describes."""
    k = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if k[0, 0] <= 0 or k[1, 1] <= 0 or msg.height == 0 or msg.width == 0:
        raise ShapeError(
            f"CameraInfo of {msg.header.frame_id!r} is uncalibrated (K={k.tolist()}, "
            f"{msg.width}x{msg.height}); publish the camera's intrinsics."
        )
    return k, int(msg.height), int(msg.width)


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


SYMBOLS_NS = "supervisor_symbols"
_MARKER_TYPES = {
    "arrow": Marker.ARROW,
    "polyline": Marker.LINE_STRIP,
    "segments": Marker.LINE_LIST,
    "point": Marker.SPHERE,
    "text": Marker.TEXT_VIEW_FACING,
}


def _shape_marker(stamp: float, frame_id: str, index: int, shape: Shape) -> Marker:
    """One shape → one marker (points or position [m] in ``frame_id``; sizes [m] as :class:`Shape` states)."""
    marker = Marker(ns=SYMBOLS_NS, id=index, type=_MARKER_TYPES[shape.kind], action=Marker.ADD, text=shape.text)
    marker.header.stamp, marker.header.frame_id = to_stamp(stamp), frame_id
    marker.pose.orientation.w = 1.0
    marker.color = ColorRGBA(r=shape.rgb[0], g=shape.rgb[1], b=shape.rgb[2], a=1.0)
    size = float(shape.size)
    if shape.kind in ("point", "text"):
        x, y, z = (float(c) for c in shape.points[0])
        marker.pose.position = Point(x=x, y=y, z=z)
        marker.scale.x = marker.scale.y = marker.scale.z = size  # text: only z (the height) counts
    else:
        marker.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in shape.points]
        marker.scale.x = size  # line width; an arrow's shaft diameter
        if shape.kind == "arrow":
            marker.scale.y, marker.scale.z = 2.5 * size, 4.0 * size  # head diameter and length
    return marker


def symbol_markers_msg(stamp: float, shapes: SymbolShapes) -> MarkerArray:
    """An answer's symbols in 3-D → MarkerArray: a DELETEALL of the previous answer's, then one marker per shape
    (``frame_id`` = ``shapes.frame``: ``world``, or the camera's optical frame for symbols on the image plane)."""
    clear = Marker(ns=SYMBOLS_NS, action=Marker.DELETEALL)
    clear.header.stamp, clear.header.frame_id = to_stamp(stamp), shapes.frame
    markers = [_shape_marker(stamp, shapes.frame, i, shape) for i, shape in enumerate(shapes.shapes)]
    return MarkerArray(markers=[clear, *markers])


PLAN_NS = "planner_tree"


def plan_msg(cycle: Any) -> String:
    """One planning cycle (``failforward.control.plan_step.PlanCycle``) as JSON: reason, node, subgoals, value, the
    searched tree (no standard message carries a plan tree; the recorder writes the same JSON)."""
    return String(data=json.dumps(cycle.to_dict()))


def plan_tree_msg(stamp: float, plan: Plan) -> MarkerArray:
    """The searched tree (:func:`failforward.planner.display.tree_display`) → MarkerArray: a DELETEALL of the previous
    tree, one sphere per node (red → green by value; the chosen path larger), the edges as a line list (the path's
    thicker) and a text label per node on the path."""
    display = tree_display(plan)
    clear = Marker(ns=PLAN_NS, action=Marker.DELETEALL)
    clear.header.stamp, clear.header.frame_id = to_stamp(stamp), display.frame
    return MarkerArray(markers=[clear, *_tree_markers(stamp, display)])


def _tree_markers(stamp: float, display: TreeDisplay) -> list[Marker]:
    def marker(index: int, kind: int, size: float) -> Marker:
        m = Marker(ns=PLAN_NS, id=index, type=kind, action=Marker.ADD)
        m.header.stamp, m.header.frame_id = to_stamp(stamp), display.frame
        m.pose.orientation.w = 1.0
        m.scale.x = m.scale.y = m.scale.z = size
        return m

    markers: list[Marker] = []
    where = {n.id: n.position for n in display.nodes}
    path = {n.id for n in display.nodes if n.on_path}
    for node in display.nodes:
        sphere = marker(len(markers), Marker.SPHERE, 0.03 if node.on_path else 0.018)
        sphere.pose.position = Point(x=node.position[0], y=node.position[1], z=node.position[2])
        sphere.color = ColorRGBA(r=node.rgb[0], g=node.rgb[1], b=node.rgb[2], a=1.0)
        markers.append(sphere)
        if node.on_path:
            text = marker(len(markers), Marker.TEXT_VIEW_FACING, 0.025)
            text.pose.position = Point(x=node.position[0], y=node.position[1], z=node.position[2] + 0.03)
            text.color, text.text = ColorRGBA(r=1.0, g=1.0, b=1.0, a=1.0), node.label
            markers.append(text)
    for on_path, width in ((False, 0.003), (True, 0.008)):
        lines = marker(len(markers), Marker.LINE_LIST, width)
        lines.color = ColorRGBA(r=0.2, g=0.9, b=0.3, a=1.0) if on_path else ColorRGBA(r=0.7, g=0.7, b=0.7, a=0.8)
        pairs = [(a, b) for a, b in display.edges if (a in path and b in path) == on_path]
        lines.points = [Point(x=p[0], y=p[1], z=p[2]) for a, b in pairs for p in (where[a], where[b])]
        if lines.points:
            markers.append(lines)
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


def report_json(report: SupervisorReport) -> str:
    """A supervisor answer as the JSON of ``supervisor/diagnosis`` (also the recorder's ``/supervisor/diagnosis``)."""
    return json.dumps(
        {
            "episode": report.episode,
            "episode_id": report.episode_id,
            "step": report.step,
            "latency_s": report.latency_s,
            "queried_at": report.queried_at,
            "frame_times": list(report.frame_times),
            "result": report.result.model_dump(mode="json"),
        }
    )


_RESULT = TypeAdapter(SupervisorResult)


def report_from_msg(msg: String) -> SupervisorReport:
    """``supervisor/diagnosis`` JSON → ``SupervisorReport``; anything malformed is a ``ShapeError`` saying what.

    Times are [s] of the robot clock (the bridge's stamps); ``queried_at`` defaults to the newest frame time.
    """
    try:
        payload = json.loads(msg.data)
        result = _RESULT.validate_python(payload["result"])
        frame_times = tuple(float(t) for t in payload.get("frame_times", ()))
        queried_at = float(payload.get("queried_at", frame_times[-1] if frame_times else np.nan))
        report = SupervisorReport(
            result,
            int(payload.get("episode", 0)),
            int(payload.get("step", 0)),
            queried_at,
            frame_times,
            float(payload.get("latency_s", 0.0)),
            str(payload["episode_id"]),
        )
    except (ValueError, KeyError, TypeError, IndexError, ValidationError) as exc:
        raise ShapeError(
            f"malformed supervisor/diagnosis message ({type(exc).__name__}: {str(exc)[:200]}); "
            "publish the JSON of supervisor_node (episode_id, step, frame_times, result)."
        ) from exc
    if not np.isfinite(report.queried_at) or not all(np.isfinite(report.frame_times)):
        raise ShapeError("malformed supervisor/diagnosis message: frame_times and queried_at must be finite [s].")
    return report


def episode_start_msg(start: EpisodeStart) -> String:
    """An episode start as the JSON of ``episode/start``: its identity, seed, first stamp [s] and task prompt."""
    payload = {"episode_id": start.episode_id, "seed": start.seed, "stamp": start.stamp, "prompt": start.prompt}
    return String(data=json.dumps(payload))


def episode_start_from_msg(data: str) -> EpisodeStart:
    """``episode/start`` JSON (or the reset service's message) → ``EpisodeStart``; ``ShapeError`` if malformed."""
    try:
        payload = json.loads(data)
        prompt = str(payload.get("prompt", ""))  # absent from bridges older than the prompt
        start = EpisodeStart(str(payload["episode_id"]), int(payload["seed"]), float(payload["stamp"]), prompt)
    except (ValueError, KeyError, TypeError) as exc:
        raise ShapeError(
            f"malformed episode/start message ({type(exc).__name__}: {str(exc)[:200]}); robot_bridge "
            "publishes {episode_id, seed, stamp, prompt}."
        ) from exc
    if not start.episode_id or not np.isfinite(start.stamp):
        raise ShapeError("malformed episode/start message: episode_id must be non-empty and stamp finite [s].")
    return start


def recovery_event_msg(event: RecoveryEvent) -> String:
    """A recovery-machine transition as JSON in std_msgs/String (the recorder's ``/recovery/event``)."""
    return String(data=json.dumps(event.to_dict()))


def outcome_msg(index: int, seed: int, outcome: EpisodeOutcome, steps: int, episode_id: str = "") -> String:
    """Episode outcome as JSON in std_msgs/String (no standard message for a task outcome)."""
    return String(
        data=json.dumps(
            {
                "episode": index,
                "episode_id": episode_id,
                "seed": seed,
                "success": outcome.success,
                "stage": outcome.stage,
                "reason": outcome.reason,
                "steps": steps,
            }
        )
    )


def outcome_fields(msg: String) -> dict[str, Any]:
    """The JSON of an ``episode/outcome`` message as MCAP ``episode`` metadata fields (the recorder's keys)."""
    payload = json.loads(msg.data)
    return {
        "success": "true" if payload.get("success") else "false",
        "stage": str(payload.get("stage", 0)),
        "reason": str(payload.get("reason", "")),
        "seed": str(payload.get("seed", "")),
        "episode_index": str(payload.get("episode", "")),
        "episode_id": str(payload.get("episode_id", "")),
        "steps": str(payload.get("steps", "")),
    }


# ------------------------------------------------------------ any message
def ros_type_name(msg: Any) -> str:
    """``sensor_msgs.msg.JointState`` instance → ``"sensor_msgs/msg/JointState"``."""
    return f"{type(msg).__module__.split('.')[0]}/msg/{type(msg).__name__}"


SINGLE_BYTE_TYPES = ("octet", "byte")
"""ROS IDL scalar types rclpy holds as ``bytes`` of length 1 (``DiagnosticStatus.level``) that the MCAP serializer
writes as integers."""


def message_to_dict(msg: Any) -> Any:
    """A ROS 2 message as plain data (nested dicts, lists, numbers, bytes) for the MCAP serializer.

    Single-byte fields (``octet``/``byte``, which rclpy holds as ``b"\\x01"``) become integers; byte sequences stay
    ``bytes``.
    """
    if hasattr(msg, "get_fields_and_field_types"):
        return {
            name: _single_byte(getattr(msg, name)) if kind in SINGLE_BYTE_TYPES else message_to_dict(getattr(msg, name))
            for name, kind in msg.get_fields_and_field_types().items()
        }
    if isinstance(msg, (bytes, bytearray)):
        return bytes(msg)
    if isinstance(msg, (list, tuple)):
        return [message_to_dict(item) for item in msg]
    if isinstance(msg, np.ndarray) or type(msg).__name__ == "array":
        return msg.tolist()
    return msg


def _single_byte(value: Any) -> int:
    return value[0] if isinstance(value, (bytes, bytearray)) else int(value)


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
