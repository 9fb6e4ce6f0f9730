"""What one exported dataset holds: frame rate, joints, task objects, cameras; and the features of ``info.json``.

Every episode of a dataset must match its :class:`DatasetSpec` (same joints, objects and cameras at the same image
size); the first exported episode sets it. Feature keys follow LeRobot: ``observation.state``, ``action``,
``observation.environment_state``, ``observation.images.<camera>``, plus the five index columns.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from failforward.errors import RecordingError
from failforward.record.reader import RecordedEpisode

POSE_FIELDS = ("x", "y", "z", "qw", "qx", "qy", "qz")  # one object's pose in object_state: xyz [m] + quat wxyz
IMAGE_PREFIX = "observation.images."


class LeRobotExportError(RecordingError):
    """Recorded episodes could not be exported as a LeRobot dataset; the message says what to change."""


@dataclass(frozen=True)
class Camera:
    """One camera's video feature: ``observation.images.<name>``, ``uint8 [height, width, 3]`` RGB frames."""

    name: str
    height: int
    width: int

    @property
    def key(self) -> str:
        return IMAGE_PREFIX + self.name


@dataclass(frozen=True)
class DatasetSpec:
    """The shape of every frame: ``A`` joints, ``O = 7 · objects`` environment numbers, the cameras.

    Attributes:
        fps: frames per second of the dataset (an integer, as LeRobot requires).
        joint_names: ``[A]`` names of ``observation.state`` / ``action`` entries (joint positions [rad or m]).
        object_names: the objects whose poses make ``observation.environment_state`` ``[7 · len]``; may be empty.
        cameras: the recorded cameras, sorted by name.
        robot: the recording's robot (LeRobot's ``robot_type``).
    """

    fps: int
    joint_names: tuple[str, ...]
    object_names: tuple[str, ...]
    cameras: tuple[Camera, ...]
    robot: str

    @property
    def action_dim(self) -> int:
        return len(self.joint_names)

    @property
    def environment_dim(self) -> int:
        return 7 * len(self.object_names)

    def environment_names(self) -> list[str]:
        """``[O]`` entry names: ``<object>.x``, ``<object>.y``, ..., ``<object>.qz``."""
        return [f"{name}.{part}" for name in self.object_names for part in POSE_FIELDS]

    def differences(self, other: DatasetSpec) -> list[str]:
        """What differs between two specs (empty when an episode fits the dataset)."""
        fields = ("fps", "joint_names", "object_names", "cameras")
        return [
            f"{name} {getattr(other, name)} (dataset: {getattr(self, name)})"
            for name in fields
            if getattr(self, name) != getattr(other, name)
        ]


def control_hz(episode: RecordedEpisode) -> float:
    """The recording's control rate [Hz]: ``control_hz`` metadata, else the median tick interval's inverse."""
    if "control_hz" in episode.metadata:
        return float(episode.metadata["control_hz"])
    if episode.length < 2:
        raise LeRobotExportError(f"{episode.path.name} has no control_hz metadata and under 2 ticks: pass --fps.")
    intervals = sorted(np.diff(episode.timestamps))
    return 1.0 / intervals[len(intervals) // 2]


def frame_stride(hz: float, fps: int) -> int:
    """Ticks per dataset frame: ``hz / fps``, which must be a whole number (a dataset frame is a recorded tick)."""
    stride = hz / fps
    if fps <= 0 or stride < 1 - 1e-6 or abs(stride - round(stride)) > 1e-6:
        raise LeRobotExportError(
            f"--fps {fps} does not divide the recording's control rate {hz:g} Hz: pass an --fps that does "
            f"(e.g. {_divisors(hz)}), or leave --fps out to export every tick."
        )
    return round(stride)


def default_fps(hz: float) -> int:
    """The recording's rate as the dataset's fps; a non-integer rate needs an explicit ``--fps``."""
    if abs(hz - round(hz)) > 1e-6 or round(hz) < 1:
        raise LeRobotExportError(f"The control rate {hz:g} Hz is not a whole number of frames per second: pass --fps.")
    return round(hz)


def spec_of(episode: RecordedEpisode, fps: int) -> DatasetSpec:
    """The spec an episode needs (its images loaded: the camera sizes come from them)."""
    cameras = tuple(
        Camera(name, int(frames.shape[1]), int(frames.shape[2])) for name, frames in sorted(episode.images.items())
    )
    return DatasetSpec(fps, episode.joint_names, _object_names(episode), cameras, episode.metadata.get("robot", ""))


def features(spec: DatasetSpec, video_info: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``info.json`` features: key → ``dtype``, ``shape``, ``names`` (and ``info`` for videos), in column order."""
    joints = list(spec.joint_names)
    vector = {"dtype": "float32", "shape": [spec.action_dim], "names": joints}
    result: dict[str, dict[str, Any]] = {"observation.state": dict(vector), "observation.velocity": dict(vector)}
    if spec.environment_dim:
        result["observation.environment_state"] = {
            "dtype": "float32",
            "shape": [spec.environment_dim],
            "names": spec.environment_names(),
        }
    for camera in spec.cameras:
        result[camera.key] = {
            "dtype": "video",
            "shape": [camera.height, camera.width, 3],
            "names": ["height", "width", "channels"],
            "info": video_info.get(camera.key, {}),
        }
    result["action"] = dict(vector)
    result["policy.action"] = dict(vector)
    for key, dtype in SCALARS.items():
        result[key] = {"dtype": dtype, "shape": [1], "names": None}
    return result


SCALARS = {
    "timestamp": "float32",  # frame_index / fps [s]: the frame's time in its episode's video
    "timestamp.recorded": "float64",  # [s] since the episode's first tick, on the recording's clock
    "frame_index": "int64",
    "episode_index": "int64",
    "index": "int64",
    "task_index": "int64",
    "next.done": "bool",
    "next.success": "bool",
}
"""Per-frame scalar columns and their dtypes."""


def _object_names(episode: RecordedEpisode) -> tuple[str, ...]:
    count = episode.object_state.shape[1] // 7 if episode.object_state.ndim == 2 else 0
    names = tuple(json.loads(episode.metadata.get("object_names", "[]")))
    return names if len(names) == count else tuple(f"object{i}" for i in range(count))


def _divisors(hz: float) -> str:
    whole = round(hz)
    found = [str(d) for d in range(whole, 0, -1) if whole % d == 0 and math.isclose(whole, hz)][:4]
    return ", ".join(found) or "a divisor of the rate"
