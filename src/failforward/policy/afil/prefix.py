"""Real-time chunking inputs, NumPy only: which RTC a backend offers, and a ``ChunkPrefix`` → input arrays.

Arrays (batch axis 1, normalized action space, see ``preprocess``):

    prefix          float32 [1, H, A]   Y: the prefix's rows (first min(P, H)), zeros after
    prefix_len      int64   [1]         d: rows frozen (training-time) or fully weighted (inference-time)
    prefix_weights  float32 [1, H]      W: soft mask of inference-time RTC (Black et al. 2025, Eq. 5)

A model trained for prefixes (``Manifest.prefix_training``) always gets ``prefix`` and ``prefix_len`` (zeros
and 0 without a prefix: the plain sampler), since its graphs take them.
"""

from __future__ import annotations

import numpy as np

from failforward.config.policy import RtcChoice
from failforward.errors import ShapeError
from failforward.policy.afil.errors import BackendUnavailableError, ManifestError, ObservationError, PrefixError
from failforward.policy.afil.manifest import Manifest
from failforward.policy.afil.normalize import NormStats
from failforward.policy.base import NO_RTC, RtcSupport
from failforward.types import ChunkPrefix


def resolve_rtc(choice: RtcChoice, manifest: Manifest, gradients: bool) -> RtcSupport:
    """What a backend offers for ``choice``; ``gradients``: it can run inference-time RTC (torch).

    Raises:
        ManifestError: ``training`` asked of a model not trained for prefixes.
        BackendUnavailableError: ``inference`` asked of a backend without gradients.
    """
    trained = manifest.prefix_training
    if choice == "auto":
        choice = "training" if trained is not None else "inference" if gradients else "none"
    if choice == "none":
        return NO_RTC
    if choice == "training":
        if trained is None:
            raise ManifestError(
                f"{manifest.name} was not trained for real-time chunking prefixes (no prefix_training in its "
                "manifest); use rtc='inference' on the torch backend, 'auto', or retrain with rtc_max_delay > 0."
            )
        return RtcSupport("training", trained.max_delay)
    if not gradients:
        raise BackendUnavailableError(
            "Inference-time RTC needs gradients (a vector-Jacobian product per step): use backend='torch', or "
            "rtc='training' with a model trained for prefixes."
        )
    return RtcSupport("inference", manifest.model.horizon)


def soft_mask(delay: int, length: int, horizon: int) -> np.ndarray:
    """Soft mask ``W [H]`` float32 of inference-time RTC (Black et al. 2025, Eq. 5).

    ``W_i = 1`` for ``i < d``; ``c_i (e^{c_i} − 1) / (e − 1)`` with ``c_i = (P − i) / (P − d + 1)`` for
    ``d ≤ i < P``; 0 for ``i ≥ P`` (``P = length``, the rows the previous chunk still holds, ≤ H).
    """
    i = np.arange(horizon, dtype=np.float64)
    c = (length - i) / (length - delay + 1)
    w = np.where(i < delay, 1.0, np.where(i < length, c * np.expm1(c) / (np.e - 1.0), 0.0))
    return w.astype(np.float32)


def empty_prefix(horizon: int, action_dim: int) -> dict[str, np.ndarray]:
    """``prefix`` zeros and ``prefix_len`` 0: the plain sampler of a model whose graphs take a prefix."""
    return {"prefix": np.zeros((1, horizon, action_dim), np.float32), "prefix_len": np.zeros(1, np.int64)}


def encode_prefix(
    prefix: ChunkPrefix, norm: NormStats, horizon: int, support: RtcSupport, reference: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Arrays for ``prefix`` (module docstring); ``prefix_weights`` only for inference-time RTC. ``reference [A]``:
    what the model's actions are relative to at the new chunk's observation (``InputEncoder.reference``; ``None``:
    absolute actions), subtracted from the prefix's absolute targets before they are normalized.

    Raises:
        PrefixError: the delay exceeds ``support.max_delay`` (the caller should hold or switch plainly).
        ShapeError, ObservationError: wrong action width, non-finite rows.
    """
    actions, delay = prefix.actions, prefix.delay
    if delay > support.max_delay:
        raise PrefixError(
            f"prefix delay d={delay} exceeds the largest this policy handles ({support.max_delay}, rtc "
            f"{support.method!r}); fall back to holding or a plain switch for such delays."
        )
    if actions.shape[1] != norm.action_mean.shape[0]:
        raise ShapeError(f"prefix actions must be [P, {norm.action_mean.shape[0]}], got {list(actions.shape)}.")
    if not np.all(np.isfinite(actions)):
        raise ObservationError("prefix actions contain NaN or inf; pass the executed/queued joint targets.")
    length = min(actions.shape[0], horizon)
    y = np.zeros((1, horizon, actions.shape[1]), np.float32)
    y[0, :length] = norm.normalize_actions(actions[:length] - (0.0 if reference is None else reference))
    feeds: dict[str, np.ndarray] = {"prefix": y, "prefix_len": np.array([delay], np.int64)}
    if support.method == "inference":
        feeds["prefix_weights"] = soft_mask(delay, length, horizon)[None]
    return feeds
