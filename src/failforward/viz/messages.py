"""What the live view sends: Foxglove well-known messages (protobuf) and JSON payloads, built from core values.

Clock: every message is stamped with the wall-clock time [ns since the Unix epoch] at which the control loop
handed it over. The robot clock restarts with every simulated episode, which a live timeline cannot show, so it
travels in the JSON payloads as ``robot_time_s`` [s] instead.

Frames: tool paths and the 3-D diagnosis label are in :data:`~failforward.viz.chunk_preview.PREVIEW_FRAME`
(the robot's world frame); images carry their camera's name as ``frame_id``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from foxglove.messages import (
    Color,
    CompressedImage,
    JointState,
    JointStates,
    LinePrimitive,
    Log,
    LogLevel,
    Point3,
    Pose,
    Quaternion,
    SceneEntity,
    SceneEntityDeletion,
    SceneEntityDeletionType,
    SceneUpdate,
    TextPrimitive,
    Timestamp,
    Vector3,
)

from failforward.errors import ShapeError
from failforward.viz.chunk_preview import PREVIEW_FRAME

ARM_COLORS = {"left": Color(r=0.2, g=0.5, b=1.0, a=1.0), "right": Color(r=1.0, g=0.55, b=0.1, a=1.0)}
"""Tool-path colours per arm (RGBA in 0–1)."""
LABEL_POSITION_M = (0.0, 0.0, 0.45)
"""Where the 3-D diagnosis label floats [m] in the world frame: above the middle of the table."""


def stamp(ns: int) -> Timestamp:
    """``ns`` [ns since the epoch] as a Foxglove timestamp."""
    return Timestamp(ns // 1_000_000_000, ns % 1_000_000_000)


def joint_states(ns: int, names: tuple[str, ...], position: np.ndarray, velocity: np.ndarray | None) -> JointStates:
    """``foxglove.JointStates``: one entry per joint in the driver's order; ``position [A]`` in each joint's unit
    (rad, or normalized for grippers), ``velocity [A]`` per second when given."""
    joints = [
        JointState(
            name=name,
            position=float(position[i]),
            velocity=None if velocity is None else float(velocity[i]),
        )
        for i, name in enumerate(names)
    ]
    return JointStates(timestamp=stamp(ns), joints=joints)


def jpeg(ns: int, frame_id: str, image: np.ndarray, quality: int) -> CompressedImage:
    """``foxglove.CompressedImage`` (JPEG) of an RGB ``uint8 [H, W, 3]`` image."""
    ok, encoded = cv2.imencode(".jpg", np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ShapeError(f"JPEG encoding failed for {frame_id!r}, an image of shape {image.shape}.")
    return CompressedImage(timestamp=stamp(ns), frame_id=frame_id, data=encoded.tobytes(), format="jpeg")


def tool_paths(ns: int, paths: dict[str, np.ndarray]) -> SceneUpdate:
    """``foxglove.SceneUpdate``: one line strip per arm through its tool positions ``[H, 3]`` [m] (world frame);
    entity ``tool_path/<arm>`` replaces the previous chunk's."""
    entities = [
        SceneEntity(
            timestamp=stamp(ns),
            frame_id=PREVIEW_FRAME,
            id=f"tool_path/{arm}",
            lines=[
                LinePrimitive(
                    pose=_identity(),
                    thickness=3.0,
                    scale_invariant=True,
                    points=[Point3(x=float(x), y=float(y), z=float(z)) for x, y, z in points],
                    color=ARM_COLORS.get(arm, Color(r=1.0, g=1.0, b=1.0, a=1.0)),
                )
            ],
        )
        for arm, points in paths.items()
    ]
    return SceneUpdate(entities=entities)


def diagnosis_label(ns: int, text: str) -> SceneUpdate:
    """``foxglove.SceneUpdate``: the supervisor's latest answer as text above the table (entity ``supervisor``)."""
    x, y, z = LABEL_POSITION_M
    label = TextPrimitive(
        pose=Pose(position=Vector3(x=x, y=y, z=z), orientation=Quaternion(w=1.0)),
        billboard=True,
        font_size=14.0,
        scale_invariant=True,
        color=Color(r=1.0, g=1.0, b=1.0, a=1.0),
        text=text,
    )
    entity = SceneEntity(timestamp=stamp(ns), frame_id=PREVIEW_FRAME, id="supervisor", texts=[label])
    return SceneUpdate(entities=[entity])


def clear_scene(ns: int) -> SceneUpdate:
    """Delete every entity (a new episode: the previous one's paths and label go)."""
    return SceneUpdate(deletions=[SceneEntityDeletion(timestamp=stamp(ns), type=SceneEntityDeletionType.All)])


def log(ns: int, message: str, *, name: str, level: LogLevel = LogLevel.Info) -> Log:
    """``foxglove.Log``: one readable line for the Log panel (``name``: who says it)."""
    return Log(timestamp=stamp(ns), level=level, message=message, name=name)


def _identity() -> Pose:
    return Pose(position=Vector3(), orientation=Quaternion(w=1.0))


def guidance_payload(step: int, robot_time_s: float, guidance: np.ndarray, source: str) -> dict[str, Any]:
    """λ_t of one chunk: per denoise step ``[N]`` with its mean, max and final value (the Plot panel's series)."""
    values = [float(v) for v in guidance]
    return {
        "step": step,
        "robot_time_s": robot_time_s,
        "source": source,
        "lambda_t": values,
        "mean": float(np.mean(guidance)),
        "max": float(np.max(guidance)),
        "final": values[-1],
    }


GUIDANCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "failforward.Guidance",
    "properties": {
        "step": {"type": "integer", "description": "tick of the episode the chunk took over on"},
        "robot_time_s": {"type": "number", "description": "[s] robot clock of that tick"},
        "source": {"type": "string"},
        "lambda_t": {"type": "array", "items": {"type": "number"}, "description": "λ_t per denoise step"},
        "mean": {"type": "number"},
        "max": {"type": "number"},
        "final": {"type": "number", "description": "λ_t of the last denoise step"},
    },
}
