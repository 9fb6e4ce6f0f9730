"""Privileged object-position targets of the training-only auxiliary loss (``learn.object_aux``), in numpy.

Recorded object poses are ``[T, 7 · O]`` (per object: xyz [m] in the world frame, then quat wxyz; the order of
``SimTaskSpec.objects``). The auxiliary loss regresses positions only, ``[T, 3 · O]`` [m], normalized per
coordinate with the training episodes' mean and standard deviation (:class:`PositionStats`).

Example:
    >>> poses = np.array([[0.1, 0.5, 0.05, 1.0, 0.0, 0.0, 0.0]])
    >>> object_positions(poses)
    array([[0.1 , 0.5 , 0.05]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from failforward.errors import ShapeError

if TYPE_CHECKING:
    from failforward.learn.episodes import EpisodeArrays

POSE_SIZE = 7  # xyz [m] + quat wxyz per object
MIN_STD = 1e-3  # [m]: a coordinate that never moves is not divided by ~0


def object_positions(poses: np.ndarray) -> np.ndarray:
    """Poses ``[T, 7 · O]`` → positions ``[T, 3 · O]`` [m, world frame], objects in the same order."""
    if poses.ndim != 2 or poses.shape[1] % POSE_SIZE:
        raise ShapeError(
            f"object poses must be [T, 7 · objects] (xyz + quat wxyz each), got {poses.shape}; record them with "
            "the simulated robot's object_state."
        )
    return poses.reshape(poses.shape[0], -1, POSE_SIZE)[:, :, :3].reshape(poses.shape[0], -1)


@dataclass(frozen=True)
class PositionStats:
    """Per-coordinate ``mean`` and ``std`` ``[3 · O]`` [m] of the object positions over all training ticks."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, episodes: list[EpisodeArrays]) -> PositionStats | None:
        """Stats over every tick of the episodes that have ``object_targets``; ``None`` when none has.

        Raises:
            ShapeError: episodes disagree on the number of objects.
        """
        rows = [object_positions(e.object_targets) for e in episodes if e.object_targets.shape[1]]
        if not rows:
            return None
        sizes = sorted({r.shape[1] for r in rows})
        if len(sizes) > 1:
            raise ShapeError(f"episodes record different numbers of object positions {sizes}; train on one task.")
        stacked = np.concatenate(rows)
        return cls(stacked.mean(axis=0), np.maximum(stacked.std(axis=0), MIN_STD))

    @property
    def size(self) -> int:
        """3 · O, the auxiliary head's outputs."""
        return int(self.mean.shape[0])

    def normalize(self, positions: np.ndarray) -> np.ndarray:
        """``[..., 3 · O]`` [m] → zero-mean, unit-std float32."""
        return ((positions - self.mean) / self.std).astype(np.float32)

    def unnormalize(self, z: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`normalize`: ``[..., 3 · O]`` → [m]."""
        return np.asarray(z, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> PositionStats:
        return cls(np.asarray(data["mean"]), np.asarray(data["std"]))
