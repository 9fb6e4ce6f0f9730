"""Training episodes as plain arrays, and the adapter from recorded MCAP files.

An :class:`EpisodeArrays` is what the dataset layer needs and nothing more; anything that can fill
it (MCAP recordings, a simulator, a synthetic generator in tests) can feed training.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from failforward.errors import RecordingError, ShapeError

if TYPE_CHECKING:
    from failforward.record.reader import RecordedEpisode

logger = logging.getLogger(__name__)

ActionSource = Literal["sent", "policy"]


@dataclass(frozen=True)
class EpisodeArrays:
    """One episode for training. ``T`` ticks, ``J`` measured joints, ``O`` object state, ``A`` action joints.

    Attributes:
        joint_positions: ``[T, J]`` measured joints at each tick (driver units).
        actions: ``[T, A]`` absolute joint targets taken at each tick (the flow target).
        images: camera → ``uint8 [T, H, W, 3]`` RGB; may be empty for state-only training.
        prompt: the language instruction of the episode.
        success: episode outcome; failures train the failure head only.
        object_state: ``[T, O]`` task-object poses (``failforward.types``); the default (none) becomes ``[T, 0]``.
        object_targets: ``[T, P]`` privileged task-object poses (xyz [m] world frame + quat wxyz each, ``P = 7 ·
            objects``) for training-time auxiliary losses only (``learn.object_aux``), never a model input; the
            default (none) becomes ``[T, 0]``. :meth:`objects_as_targets` moves recorded poses here.
        done: ``[T]`` end-of-edge labels of a subgoal segment for the done head (1: the prompted subgoal has ended at
            this tick, 0: not yet, NaN: unknown, no done loss); the default (none) becomes all NaN.
        chunk_actions: ``[T, H, A]`` an expert's whole chunk labelled at each tick's state (DAgger labels,
            ``learn.vine.dagger``), the flow target instead of ``actions[t : t + H]``; ``None`` (default): the chunks
            are cut from ``actions``. Ticks with labels need not be consecutive.
    """

    joint_positions: np.ndarray
    actions: np.ndarray
    prompt: str
    success: bool
    images: dict[str, np.ndarray] = field(default_factory=dict)
    object_state: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    object_targets: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    done: np.ndarray = field(default_factory=lambda: np.zeros(0))
    chunk_actions: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = self.joint_positions.shape[0]
        if self.joint_positions.ndim != 2 or self.actions.ndim != 2 or self.actions.shape[0] != t or t == 0:
            raise ShapeError(
                f"episode needs joint_positions [T, J] and actions [T, A] with the same T >= 1, got "
                f"{self.joint_positions.shape} and {self.actions.shape}."
            )
        for name in ("object_state", "object_targets"):
            objects = np.asarray(getattr(self, name), dtype=np.float64)
            if objects.shape == (0, 0):  # the default: none
                objects = np.zeros((t, 0))
            if objects.ndim != 2 or objects.shape[0] != t:
                raise ShapeError(f"{name} must be [{t}, O], got {objects.shape}.")
            object.__setattr__(self, name, objects)
        done = np.full(t, np.nan) if np.size(self.done) == 0 else np.asarray(self.done, dtype=np.float64)
        if done.shape != (t,):
            raise ShapeError(f"done must be [{t}] (NaN where unknown), got {done.shape}.")
        object.__setattr__(self, "done", done)
        chunks = self.chunk_actions
        if chunks is not None and (
            chunks.ndim != 3 or chunks.shape[0] != t or chunks.shape[2] != self.actions.shape[1]
        ):
            raise ShapeError(f"chunk_actions must be [{t}, H, {self.actions.shape[1]}], got {chunks.shape}.")
        for camera, frames in self.images.items():
            if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[0] != t or frames.shape[3] != 3:
                raise ShapeError(f"camera {camera!r} frames must be uint8 [{t}, H, W, 3], got {frames.shape}.")

    @property
    def length(self) -> int:
        return int(self.joint_positions.shape[0])

    @property
    def state(self) -> np.ndarray:
        """The policy's state input ``[T, S = J + O]``: joint positions then object state."""
        return np.concatenate([self.joint_positions, self.object_state], axis=1)

    def tail(self, start: int) -> EpisodeArrays:
        """Ticks ``start ..`` of every array (``start`` clipped to the episode)."""
        return self.window(start, self.length)

    def window(self, start: int, stop: int) -> EpisodeArrays:
        """Ticks ``start .. stop - 1`` of every array (clipped to the episode; at least one tick is kept)."""
        start = min(max(start, 0), self.length - 1)
        stop = min(max(stop, start + 1), self.length)
        images = {cam: frames[start:stop] for cam, frames in self.images.items()}
        return EpisodeArrays(
            self.joint_positions[start:stop],
            self.actions[start:stop],
            self.prompt,
            self.success,
            images,
            self.object_state[start:stop],
            self.object_targets[start:stop],
            self.done[start:stop],
            None if self.chunk_actions is None else self.chunk_actions[start:stop],
        )

    def before_far_state(self, state_mean: np.ndarray, state_std: np.ndarray, max_z: float) -> EpisodeArrays:
        """This episode up to (not including) its first tick whose model state (``state [S]``: joints then object
        poses) lies more than ``max_z`` standard deviations from ``state_mean`` in any dimension; whole if none
        does, one tick if the first does (``window`` keeps at least one)."""
        far = (np.abs((self.state - state_mean) / state_std) > max_z).any(axis=1)
        return self.window(0, int(np.argmax(far)) if far.any() else self.length)

    def objects_as_targets(self) -> EpisodeArrays:
        """This episode with its recorded object poses moved from the model input (``object_state``, now
        ``[T, 0]``) to the privileged training targets (``object_targets``): for models that see no object state."""
        if not self.object_state.shape[1]:
            return self
        none = np.zeros((self.length, 0))
        return replace(self, object_state=none, object_targets=self.object_state)


def from_recorded(
    episode: RecordedEpisode, action_source: ActionSource = "sent", *, success: bool | None = None
) -> EpisodeArrays:
    """Adapt a ``failforward.record.reader.RecordedEpisode`` (its recorded ``outcome`` must be known unless
    ``success`` gives the outcome from elsewhere: a label or the supervisor, ``learn.outcomes``).

    ``action_source="sent"`` trains on what the driver actually executed (after safety);
    ``"policy"`` on what the policy asked for.
    """
    if success is None and episode.outcome is None:
        raise RecordingError(f"{episode.path} has no outcome (cut off?); it cannot be labelled success or failure.")
    actions = episode.sent_actions if action_source == "sent" else episode.policy_actions
    images = {cam: frames for cam, frames in episode.images.items() if frames.shape[0] == episode.length}
    for cam in set(episode.images) - set(images):
        logger.warning(
            "%s: camera %r has %d frames for %d ticks; dropped",
            episode.path,
            cam,
            episode.images[cam].shape[0],
            episode.length,
        )
    if success is None:
        success = episode.outcome.success if episode.outcome is not None else False
    return EpisodeArrays(episode.joint_positions, actions, episode.prompt, success, images, episode.object_state)


def episode_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories to their ``*.mcap`` files (sorted); files pass through."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.glob("*.mcap")) if path.is_dir() else [path])
    if not files:
        raise RecordingError(f"No .mcap episodes found in {list(map(str, paths))}; record some with the demo first.")
    return files


def load_recorded(
    paths: Iterable[str | Path], *, action_source: ActionSource = "sent", load_images: bool = True
) -> list[EpisodeArrays]:
    """Read MCAP episodes (files or directories); episodes without an outcome are skipped with a warning."""
    from failforward.record.reader import read_episode

    episodes = []
    for path in episode_files(paths):
        recorded = read_episode(path, load_images=load_images)
        if recorded.outcome is None or recorded.length == 0:
            logger.warning("%s: no outcome or no ticks; skipped", path)
            continue
        episodes.append(from_recorded(recorded, action_source))
    return episodes
