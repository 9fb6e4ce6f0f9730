"""Chunks sampled from episodes: ``(state_t, images_t, prompt) → actions[t : t + H]``.

A chunk that runs past the episode's end repeats the last action (the arm holds its final target).
Success and failure ticks form two pools so every batch has a fixed share of failure samples.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from failforward.errors import ConfigError, ShapeError
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.object_targets import PositionStats, object_positions
from failforward.policy.afil.action_space import aloha_tool_actions
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.normalize import NormStats, action_reference
from failforward.policy.afil.state_features import model_state
from failforward.policy.afil.text_encoder import make_text_encoder


@dataclass(frozen=True)
class Batch:
    """One training batch (normalized). ``state [B, S]``, ``prompt``: the text encoder's inputs by name with a batch
    axis (``tokens/token_mask [B, L]`` or ``prompt_embedding [B, E]``, see ``policy.afil.text_encoder``),
    ``images uint8 [B, C, H, W, 3]`` or ``None``, ``actions [B, H, A]``, ``failure bool [B]``; when some episode
    has ``object_targets``: ``objects float32 [B, 3 · O]`` (normalized positions, 0 where unknown) and
    ``objects_known bool [B]`` (``None`` otherwise), the auxiliary loss's targets (``learn.object_aux``);
    ``done float32 [B]`` and ``done_known bool [B]``, the done head's labels at the sampled ticks (unknown: 0 and
    False), always filled."""

    state: np.ndarray
    prompt: dict[str, np.ndarray]
    images: np.ndarray | None
    actions: np.ndarray
    failure: np.ndarray
    objects: np.ndarray | None = None
    objects_known: np.ndarray | None = None
    done: np.ndarray | None = None
    done_known: np.ndarray | None = None


def model_action_episodes(episodes: list[EpisodeArrays], config: AfilModelConfig) -> list[EpisodeArrays]:
    """``episodes`` with the model's action rows: for ``action_space: aloha_tool`` their joint targets (``actions``,
    ``chunk_actions``) become tool rows by forward kinematics (``policy.afil.action_space``), once per distinct
    episode object (a stream repeated in the list is converted once); otherwise, or when already converted, as given."""
    if config.action_space != "aloha_tool":
        return episodes
    converted: dict[int, EpisodeArrays] = {}
    out = []
    for e in episodes:
        if e.actions.shape[1] == config.action_dim:
            out.append(e)
            continue
        if id(e) not in converted:
            chunks = None if e.chunk_actions is None else aloha_tool_actions(e.chunk_actions)
            converted[id(e)] = replace(e, actions=aloha_tool_actions(e.actions), chunk_actions=chunks)
        out.append(converted[id(e)])
    return out


def model_states(episodes: list[EpisodeArrays], config: AfilModelConfig) -> list[np.ndarray]:
    """Per episode, the model's state input ``[T, S + features]`` (:func:`model_state` of its raw state), computed once
    per distinct episode object (a stream repeated in the list shares its array)."""
    computed: dict[int, np.ndarray] = {}
    for e in episodes:
        if id(e) not in computed:
            computed[id(e)] = model_state(e.state, config.state_features)
    return [computed[id(e)] for e in episodes]


class ChunkDataset:
    """Index over every tick of every episode, split into success and failure pools."""

    def __init__(
        self,
        episodes: list[EpisodeArrays],
        config: AfilModelConfig,
        norm: NormStats,
        states: list[np.ndarray] | None = None,
    ) -> None:
        """``states``: :func:`model_states` of ``episodes`` when the caller has them (derived features cost
        forward kinematics per tick)."""
        if not episodes:
            raise ConfigError("No training episodes; record or load some first.")
        self.config, self.norm = config, norm
        self.episodes = [_fit_images(_check(e, config), config) for e in model_action_episodes(episodes, config)]
        self.states = states if states is not None else model_states(self.episodes, config)  # [T, S + features] each
        self.text = make_text_encoder(config)
        self.prompt_table = self.text.table([e.prompt for e in self.episodes])  # what the model directory ships
        self.prompts = [self.text.encode(e.prompt) for e in self.episodes]  # once per distinct prompt (cached)
        index = np.array([(i, t) for i, e in enumerate(self.episodes) for t in range(e.length)], dtype=np.int64)
        failed = np.array([not self.episodes[i].success for i in index[:, 0]])
        self.success_index, self.failure_index = index[~failed], index[failed]
        self.object_stats = PositionStats.fit(self.episodes)
        stats = self.object_stats
        self.objects = [
            stats.normalize(object_positions(e.object_targets)) if stats and e.object_targets.shape[1] else None
            for e in self.episodes
        ]

    @staticmethod
    def fit_norm(
        episodes: list[EpisodeArrays],
        config: AfilModelConfig | None = None,
        states: list[np.ndarray] | None = None,
    ) -> NormStats:
        """Norm stats over all ticks of all episodes (success and failure; states with ``config``'s derived state
        features, or the given :func:`model_states`). For a ``config`` with relative action dimensions, the action
        stats are those of what the model predicts: ``a[t + k] − q[t]`` over chunk rows ``k`` (every
        ``H // RELATIVE_OFFSETS``-th), absolute dimensions as they are."""
        robust = config is not None and config.state_norm == "robust"
        if config is not None:
            episodes = model_action_episodes(episodes, config)
        if states is None:
            states = [e.state for e in episodes] if config is None else model_states(episodes, config)
        stacked = np.concatenate(states)
        if config is None or not config.relative_actions:
            return NormStats.fit(stacked, np.concatenate([e.actions for e in episodes]), robust_state=robust)
        references = [action_reference(e.state, config.relative_actions, config.action_dim, config.action_space)
                      for e in episodes]  # fmt: skip
        targets = np.concatenate(
            [_relative_targets(e, r, k) for e, r in zip(episodes, references, strict=True) for k in _offsets(config)]
        )
        return NormStats.fit(stacked, targets, robust_state=robust)

    def sample(self, rng: np.random.Generator, batch_size: int, failure_fraction: float) -> Batch:
        """Draw ``batch_size`` chunks, ``round(failure_fraction · B)`` of them from failure episodes (if any)."""
        n_fail = round(batch_size * failure_fraction) if len(self.failure_index) else 0
        n_fail = n_fail if len(self.success_index) else batch_size
        pools = ((self.success_index, batch_size - n_fail), (self.failure_index, n_fail))
        return self.collate(np.concatenate([pool[rng.integers(0, len(pool), n)] for pool, n in pools if n]))

    def collate(self, picks: np.ndarray) -> Batch:
        """Batch for ``picks [B, 2]`` of (episode, tick)."""
        h, c = self.config.horizon, self.config
        states, actions, images = [], [], []
        for i, t in picks:
            e = self.episodes[i]
            rows = np.minimum(np.arange(t, t + h), e.length - 1)
            states.append(self.states[i][t])
            actions.append(e.actions[rows] if e.chunk_actions is None else e.chunk_actions[t])
            if c.cameras:
                images.append(np.stack([e.images[cam][t] for cam in c.cameras]))
        prompt = {name: np.stack([self.prompts[i][name] for i in picks[:, 0]]) for name in self.text.input_names}
        state = np.stack(states)
        reference = action_reference(state, c.relative_actions, c.action_dim, c.action_space)[:, None]  # [B, 1, A]
        return Batch(
            state=self.norm.normalize_state(state),
            prompt=prompt,
            images=np.stack(images) if images else None,
            actions=self.norm.normalize_actions(np.stack(actions) - reference),
            failure=np.array([not self.episodes[i].success for i in picks[:, 0]]),
            **self._objects(picks),
            **self._done(picks),
        )

    def _done(self, picks: np.ndarray) -> dict[str, np.ndarray]:
        """``done float32 [B]`` (NaN → 0) and ``done_known bool [B]`` for ``picks``."""
        labels = np.array([self.episodes[i].done[t] for i, t in picks], dtype=np.float32)
        known = ~np.isnan(labels)
        return {"done": np.where(known, labels, 0.0).astype(np.float32), "done_known": known}

    def _objects(self, picks: np.ndarray) -> dict[str, np.ndarray]:
        """``objects [B, 3 · O]`` and ``objects_known [B]`` for ``picks`` (nothing when no episode has targets)."""
        if self.object_stats is None:
            return {}
        zero = np.zeros(self.object_stats.size, dtype=np.float32)
        rows = [self.objects[i][t] if self.objects[i] is not None else zero for i, t in picks]
        known = np.array([self.objects[i] is not None for i in picks[:, 0]])
        return {"objects": np.stack(rows), "objects_known": known}


RELATIVE_OFFSETS = 10  # chunk rows per tick sampled when fitting relative action stats


def _offsets(config: AfilModelConfig) -> range:
    """Chunk rows ``k`` whose relative targets the norm stats are fitted to (at most ``RELATIVE_OFFSETS``)."""
    return range(0, config.horizon, max(1, config.horizon // RELATIVE_OFFSETS))


def _relative_targets(e: EpisodeArrays, reference: np.ndarray, k: int) -> np.ndarray:
    """``[T, A]``: row ``k`` of every chunk of ``e`` against ``reference [T, A]``, its ticks' action references
    (past the end: the last action; labelled chunks: their row ``k``)."""
    rows = np.minimum(np.arange(e.length) + k, e.length - 1)
    targets = e.actions[rows] if e.chunk_actions is None else e.chunk_actions[:, k]
    return targets - reference


def _check(e: EpisodeArrays, config: AfilModelConfig) -> EpisodeArrays:
    state_dim = e.joint_positions.shape[1] + e.object_state.shape[1]
    if state_dim != config.state_dim or e.actions.shape[1] != config.action_dim:
        raise ShapeError(
            f"episode has state {state_dim} ({e.joint_positions.shape[1]} joints + {e.object_state.shape[1]} object "
            f"state) / action {e.actions.shape[1]}, the model expects {config.state_dim} / {config.action_dim}; set "
            "state_dim/action_dim in the model config (or record with/without the robot's object_state)."
        )
    if e.chunk_actions is not None and e.chunk_actions.shape[1] < config.horizon:
        raise ShapeError(
            f"episode's labelled chunks have {e.chunk_actions.shape[1]} rows, the model's horizon is {config.horizon}; "
            "label with at least the model's horizon."
        )
    if e.chunk_actions is not None and e.chunk_actions.shape[1] > config.horizon:
        e = replace(e, chunk_actions=e.chunk_actions[:, : config.horizon])  # a longer label: its first H rows
    missing = [cam for cam in config.cameras if cam not in e.images]
    if missing:
        raise ShapeError(
            f"episode lacks camera(s) {missing} (has {sorted(e.images)}); record them or drop them "
            "from the model config's cameras."
        )
    return e


def _fit_images(e: EpisodeArrays, config: AfilModelConfig) -> EpisodeArrays:
    """Resize frames to the model's ``image_height x image_width`` (INTER_AREA) where they differ."""
    size = (config.image_width, config.image_height)
    images = {}
    for cam in config.cameras:
        frames = e.images[cam]
        if frames.shape[1:3] != (config.image_height, config.image_width):
            frames = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames])
        images[cam] = frames
    return replace(e, images=images)
