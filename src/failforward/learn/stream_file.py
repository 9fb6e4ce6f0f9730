"""Training streams in one file: prepare them where the recordings and the simulator are, train where the GPU is.

:func:`failforward.learn.trainer.train` reads sample streams (:class:`EpisodeArrays`) and their model states.
Building them means reading every recording and, for tool-space actions or kinematic state features, forward
kinematics per tick (MuJoCo and the scene files). A GPU machine often has neither the recordings nor the simulator's
packages, so :func:`save_streams` writes the streams already in the model's spaces (each tick's raw state, its derived
features and its action in the model's action space) with the :class:`TrainConfig` they were built for, and
:func:`load_streams` reads them back with numpy and h5py alone: ``train(config, episodes, states=states)``.

Ticks are stored once: a subgoal segment and the whole episode under the task's prompt share their rows, and a
stream repeated in the list (DAgger labels weighted ``× k``) is stored once. Rows are float32 (the precision of the
training batches), written with HDF5's shuffle and gzip filters.

Layout (HDF5):
    ``rows``          float32 ``[U, S + F + A]``: raw state (joints, then object state), derived features, action.
    ``chunks``        float32 ``[C, H, A]``: the labelled chunks of the streams that have them (DAgger), their first
                      ``H`` rows (the model's horizon: what training reads of a longer label).
    ``tick_rows``     int32 ``[sum T]``: per unique stream tick, its row.
    ``tick_done``     float32 ``[sum T]``: per unique stream tick, its done label (NaN: none).
    ``stream_ticks``  int64 ``[N + 1]``: offsets of each unique stream's ticks in ``tick_rows``.
    ``stream_chunks`` int64 ``[N]``: each unique stream's first chunk in ``chunks``, −1 when it has none.
    ``prompt``, ``success``: per unique stream.  ``order`` int32 ``[M]``: the stream list as unique stream indices.
    attributes: ``joints``, ``objects``, ``features`` (column counts), ``train_config`` (JSON).

Example:
    >>> save_streams(Path("system1_streams.h5"), config, episodes, model_states(episodes, config.model))
    >>> config, episodes, states = load_streams(Path("system1_streams.h5"))
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from failforward.errors import ConfigError, ShapeError
from failforward.learn.config import TrainConfig
from failforward.learn.episodes import EpisodeArrays

FORMAT = "failforward.streams/1"


def save_streams(path: Path, config: TrainConfig, episodes: list[EpisodeArrays], states: list[np.ndarray]) -> None:
    """Write ``episodes`` (actions in ``config.model``'s action space) with their model ``states`` ``[T, S + F]`` each
    to ``path`` (a temporary name, then renamed); images and privileged object targets are not stored (a
    :class:`ConfigError` asks to train where the recordings are)."""
    import h5py

    if len(states) != len(episodes):
        raise ShapeError(f"{len(episodes)} streams but {len(states)} state arrays; pass model_states(episodes, ...).")
    unique: dict[int, int] = {}
    for e, s in zip(episodes, states, strict=True):
        _check_storable(e, s, config)
        unique.setdefault(id(e), len(unique))
    order = np.array([unique[id(e)] for e in episodes], dtype=np.int32)
    firsts = list({id(e): (e, s) for e, s in zip(episodes, states, strict=True)}.values())
    rows, tick_rows = _dedup_rows([np.concatenate([s, e.actions], axis=1) for e, s in firsts])
    horizon = config.model.horizon  # a longer label trains on its first H rows (learn.dataset): only those are kept
    chunked = [e.chunk_actions[:, :horizon] for e, _ in firsts if e.chunk_actions is not None]
    starts = np.cumsum([0] + [len(c) for c in chunked])
    chunk_of, k = [], 0
    for e, _ in firsts:
        chunk_of.append(int(starts[k]) if e.chunk_actions is not None else -1)
        k += e.chunk_actions is not None
    first = firsts[0][0]
    partial = path.with_name(path.name + ".partial")
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(partial, "w") as f:
        packed = {"compression": "gzip", "compression_opts": 9, "shuffle": True}
        f.create_dataset("rows", data=rows, chunks=(min(len(rows), 4096), rows.shape[1]), **packed)
        if chunked:
            f.create_dataset("chunks", data=np.concatenate(chunked).astype(np.float32), **packed)
        f.create_dataset("tick_rows", data=tick_rows, **packed)
        f.create_dataset("tick_done", data=np.concatenate([e.done for e, _ in firsts]).astype(np.float32), **packed)
        f.create_dataset("stream_ticks", data=np.cumsum([0] + [e.length for e, _ in firsts]).astype(np.int64))
        f.create_dataset("stream_chunks", data=np.array(chunk_of, dtype=np.int64))
        f.create_dataset("prompt", data=[e.prompt for e, _ in firsts], dtype=h5py.string_dtype())
        f.create_dataset("success", data=np.array([e.success for e, _ in firsts]))
        f.create_dataset("order", data=order, **packed)
        f.attrs.update(
            format=FORMAT,
            joints=first.joint_positions.shape[1],
            objects=first.object_state.shape[1],
            features=firsts[0][1].shape[1] - first.joint_positions.shape[1] - first.object_state.shape[1],
            train_config=config.model_dump_json(),
        )
    partial.replace(path)


def load_streams(path: Path) -> tuple[TrainConfig, list[EpisodeArrays], list[np.ndarray]]:
    """``(train config, streams, model states)`` from a file of :func:`save_streams`; a stream repeated when saved
    comes back as the same object, repeated."""
    import h5py

    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != FORMAT:
            raise ConfigError(f"{path} is not a training-stream file ({FORMAT}); write one with save_streams.")
        joints, objects, features = (int(f.attrs[k]) for k in ("joints", "objects", "features"))
        config = TrainConfig.model_validate(json.loads(f.attrs["train_config"]))
        rows = f["rows"][()].astype(np.float64)
        tick_rows, tick_done, bounds = f["tick_rows"][()], f["tick_done"][()], f["stream_ticks"][()]
        chunks = f["chunks"][()] if "chunks" in f else None
        chunk_of, order = f["stream_chunks"][()], f["order"][()]
        prompts, success = [p.decode() for p in f["prompt"][()]], f["success"][()]
    state_end = joints + objects + features
    streams, states = [], []
    for i, prompt in enumerate(prompts):
        ticks = rows[tick_rows[bounds[i] : bounds[i + 1]]]
        length = len(ticks)
        labelled = None
        if chunk_of[i] >= 0 and chunks is not None:
            labelled = chunks[chunk_of[i] : chunk_of[i] + length].astype(np.float64)
        streams.append(
            EpisodeArrays(
                ticks[:, :joints],
                ticks[:, state_end:],
                prompt,
                bool(success[i]),
                object_state=ticks[:, joints : joints + objects],
                done=tick_done[bounds[i] : bounds[i + 1]].astype(np.float64),
                chunk_actions=labelled,
            )
        )
        states.append(ticks[:, :state_end])
    return config, [streams[k] for k in order], [states[k] for k in order]


def _check_storable(e: EpisodeArrays, state: np.ndarray, config: TrainConfig) -> None:
    """Streams this file can hold: model-space actions, no images or object targets, states matching the stream."""
    if e.images or e.object_targets.shape[1]:
        raise ConfigError(
            "a stream with camera images or privileged object targets cannot go to a stream file; train where the "
            "recordings are."
        )
    if e.actions.shape[1] != config.model.action_dim:
        raise ShapeError(
            f"stream actions have {e.actions.shape[1]} columns, the model's action space {config.model.action_dim}; "
            "convert them first (learn.dataset.model_action_episodes)."
        )
    if state.shape[0] != e.length or state.shape[1] < e.joint_positions.shape[1] + e.object_state.shape[1]:
        raise ShapeError(f"a stream of {e.length} ticks has model states {state.shape}; pass model_states(...).")


def _dedup_rows(streams: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Float32 rows of every stream, each distinct row stored once: ``(rows [U, D], index [sum T] into rows)``."""
    table: dict[bytes, int] = {}
    index = []
    for rows in streams:
        for row in np.ascontiguousarray(rows, dtype=np.float32):
            index.append(table.setdefault(row.tobytes(), len(table)))
    unique = np.frombuffer(b"".join(table), dtype=np.float32).reshape(len(table), -1)
    return unique, np.array(index, dtype=np.int32)
