"""Host-side Euler loop of the split layout: backbone graph once, experts graph N times, NumPy guidance."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from failforward.policy.afil.guidance_np import guided_velocity_numpy
from failforward.policy.afil.signature import BACKBONE, CACHE_OUTPUTS, EXPERTS, MEAN_OUTPUT

RunGraph = Callable[[str, dict[str, np.ndarray]], list[np.ndarray]]


def split_sample(
    run_graph: RunGraph,
    inputs: dict[str, np.ndarray],
    num_steps: int,
    coefficients: np.ndarray | None,
    *,
    experts_graph: str = EXPERTS,
    cache_names: tuple[str, ...] = CACHE_OUTPUTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample with ``run_graph(stem, feeds) -> outputs`` for the ``backbone`` and ``experts`` graphs.

    Training-time RTC (``prefix [1, H, A]`` and ``prefix_len [1]`` in ``inputs``, a model trained for prefixes):
    rows ``i < d`` start at the prefix, the experts graph gives them τ = 1, and their velocities are zeroed
    before guidance, so they never move and λ_t sees the free rows only (as the fused graphs do).

    Args:
        inputs: prepared arrays including ``noise [1, H, A]``.
        coefficients: ``(λ_static, γ, clamp)``; ``None`` = success head only.
        experts_graph: per-step graph, ``experts`` (velocities ``[2, B, H, A]``) or, unguided,
            ``experts_success`` (``[1, B, H, A]``: the failure head is not computed).
        cache_names: the backbone graph's outputs in order (``keys, values, bias``, and ``failure_keys,
            failure_values`` for a separate failure head, ``rows``; a mean head's ``mean`` last, added after the loop);
            the cache is fed to every step (graphs ignore extras).

    Returns:
        ``(x_1 [1, H, A], λ trace [1, N])`` (``[1, 0]`` when unguided).
    """
    cache = dict(zip(cache_names, run_graph(BACKBONE, inputs), strict=True))
    mean = cache.pop(MEAN_OUTPUT, None)  # a mean head's chunk: the experts integrate around it
    x = inputs["noise"].astype(np.float32)
    free = np.ones(x.shape[:2] + (1,), np.float32)
    if "prefix_len" in inputs:
        cache["prefix_len"] = inputs["prefix_len"]
        frozen = np.arange(x.shape[1])[None, :] < inputs["prefix_len"][:, None]  # [B, H]
        start = inputs["prefix"] if mean is None else inputs["prefix"] - mean
        x = np.where(frozen[:, :, None], start, x).astype(np.float32)
        free = (~frozen).astype(np.float32)[:, :, None]
    dt = np.float32(1.0 / num_steps)
    trace = []
    for k in range(num_steps):
        tau = np.full((x.shape[0],), k * dt, dtype=np.float32)
        (v,) = run_graph(experts_graph, {"x": x, "tau": tau, **cache})
        v = v * free
        if coefficients is None:
            step = v[0]
        else:
            step, lam = guided_velocity_numpy(v[0], v[1], coefficients)
            trace.append(lam)
        x = (x + dt * step).astype(np.float32)
    lambdas = np.stack(trace, axis=1) if trace else np.zeros((x.shape[0], 0), np.float32)
    return (x if mean is None else (x + mean).astype(np.float32)), lambdas
