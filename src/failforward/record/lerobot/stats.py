"""Feature statistics of ``meta/stats.json`` and the episodes' ``stats/<feature>/<stat>`` columns.

Per feature: ``min``, ``max``, ``mean``, ``std`` (population), ``count`` ``[1]`` and the quantiles ``q01`` ... ``q99``,
over an episode's frames. Numeric columns ``[T, D]`` give ``[D]`` stats (``[1]`` for scalars); camera frames give
per-channel stats ``[3, 1, 1]`` in ``[0, 1]`` (pixel / 255) over up to ``MAX_IMAGE_SAMPLES`` frames per episode.
Dataset stats combine the episodes': ``min``/``max`` exact, ``mean``/``std`` exact from the counts, quantiles the
count-weighted mean of the episodes' (an approximation; exact per episode).
"""

from __future__ import annotations

import cv2
import numpy as np

Stats = dict[str, np.ndarray]
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
MAX_IMAGE_SAMPLES = 100  # camera frames sampled per episode (evenly spaced)
MAX_IMAGE_SIDE = 150  # sampled frames are shrunk to at most this many pixels a side


def column_stats(values: np.ndarray) -> Stats:
    """Stats of a ``[T]`` or ``[T, D]`` column (bools as 0/1): each ``[1]`` or ``[D]``, ``count`` ``[1]``."""
    rows = values.reshape(values.shape[0], -1).astype(np.float64)
    return _stats(rows, rows.shape[0])


def image_stats(frames: np.ndarray) -> Stats:
    """Per-channel stats ``[3, 1, 1]`` in ``[0, 1]`` of ``uint8 [T, H, W, 3]`` frames (sampled and shrunk)."""
    picks = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), MAX_IMAGE_SAMPLES)).round().astype(int))
    pixels = np.concatenate([_shrink(frames[i]).reshape(-1, 3) for i in picks]).astype(np.float64) / 255.0
    stats = _stats(pixels, len(picks))
    return {key: value if key == "count" else value.reshape(3, 1, 1) for key, value in stats.items()}


def aggregate(episodes: list[Stats]) -> Stats:
    """Dataset stats from per-episode stats of one feature (see the module docstring)."""
    counts = np.array([float(s["count"][0]) for s in episodes])
    weights = (counts / counts.sum()).reshape(-1, *([1] * episodes[0]["mean"].ndim))
    means = np.stack([s["mean"] for s in episodes])
    mean = (weights * means).sum(axis=0)
    variance = (weights * (np.stack([s["std"] for s in episodes]) ** 2 + (means - mean) ** 2)).sum(axis=0)
    result = {
        "min": np.min([s["min"] for s in episodes], axis=0),
        "max": np.max([s["max"] for s in episodes], axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": np.array([int(counts.sum())]),
    }
    result.update({key: (weights * np.stack([s[key] for s in episodes])).sum(axis=0) for key in QUANTILES})
    return result


def to_lists(stats: Stats) -> dict[str, list]:
    """JSON- and parquet-ready nested lists."""
    return {key: value.tolist() for key, value in stats.items()}


def _stats(rows: np.ndarray, count: int) -> Stats:
    result = {
        "min": rows.min(axis=0),
        "max": rows.max(axis=0),
        "mean": rows.mean(axis=0),
        "std": rows.std(axis=0),
        "count": np.array([count]),
    }
    result.update({key: np.quantile(rows, q, axis=0) for key, q in QUANTILES.items()})
    return result


def _shrink(frame: np.ndarray) -> np.ndarray:
    scale = MAX_IMAGE_SIDE / max(frame.shape[:2])
    if scale >= 1:
        return frame
    size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
