"""One recorded episode → its dataset frames: the per-frame columns of ``data/*.parquet`` and the camera frames.

A dataset frame is every ``stride``-th recorded tick (``stride = control_hz / fps``; 1 exports every tick).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from failforward.record.lerobot.spec import DatasetSpec
from failforward.record.reader import RecordedEpisode
from failforward.types import EpisodeOutcome


@dataclass(frozen=True)
class EpisodeFrames:
    """An episode as dataset frames. ``T`` frames.

    Attributes:
        columns: column name → ``[T]`` or ``[T, D]`` array, in :func:`~.spec.features` order (videos excluded).
        images: video key → ``uint8 [T, H, W, 3]`` RGB frames.
        outcome: the recorded outcome.
    """

    columns: dict[str, np.ndarray]
    images: dict[str, np.ndarray]
    outcome: EpisodeOutcome

    @property
    def length(self) -> int:
        return int(self.columns["frame_index"].shape[0])


def episode_frames(
    episode: RecordedEpisode, spec: DatasetSpec, stride: int, *, episode_index: int, first_index: int, task_index: int
) -> EpisodeFrames:
    """The frames of ``episode``, numbered from ``first_index`` (its first frame's global ``index``)."""
    assert episode.outcome is not None, "cut-off episodes are skipped before this"
    ticks = np.arange(0, episode.length, stride)
    length = len(ticks)
    frame_index = np.arange(length, dtype=np.int64)
    last = frame_index == length - 1
    columns: dict[str, np.ndarray] = {
        "observation.state": _float32(episode.joint_positions[ticks]),
        "observation.velocity": _float32(episode.joint_velocities[ticks]),
    }
    if spec.environment_dim:
        columns["observation.environment_state"] = _float32(episode.object_state[ticks])
    columns["action"] = _float32(episode.sent_actions[ticks])
    columns["policy.action"] = _float32(episode.policy_actions[ticks])
    columns.update(
        {
            "timestamp": (frame_index / spec.fps).astype(np.float32),
            "timestamp.recorded": episode.timestamps[ticks] - episode.timestamps[0],
            "frame_index": frame_index,
            "episode_index": np.full(length, episode_index, dtype=np.int64),
            "index": first_index + frame_index,
            "task_index": np.full(length, task_index, dtype=np.int64),
            "next.done": last,
            "next.success": last & episode.outcome.success,
        }
    )
    images = {camera.key: episode.images[camera.name][ticks] for camera in spec.cameras}
    return EpisodeFrames(columns, images, episode.outcome)


def _float32(rows: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rows, dtype=np.float32)
