"""A failure expert of its own shape (a *light* failure head) beside the success expert.

AFIL calls the failure generator lightweight: the failure head only has to say where failures go, so it can
be narrower and shallower than the success head (``AfilModelConfig.failure_width/layers/attn_heads/mlp_ratio``).
Heads of two shapes cannot share stacked weights, so :class:`SeparateFlowExperts` holds two one-head
:class:`DualFlowExperts` stacks: ``success`` (the backbone's width) and ``failure`` (its own width; it
cross-attends to the same backbone prefix, projected to its width by ``failure.prefix_in``). Inputs and
outputs are those of :class:`DualFlowExperts`: ``x_τ [B, H, A]`` in, velocities ``[E, B, H, A]`` out.

Time features are a tuple, one entry per head computed (``[1, K, 1, D]`` success, ``[1, K, 1, D_f]``
failure); :func:`map_heads` applies a per-tensor operation to either form.

Example:
    >>> from failforward.policy.afil.config import get_model_preset
    >>> cfg = get_model_preset("tiny_state").model_copy(update={"failure_width": 16, "failure_attn_heads": 1})
    >>> heads = flow_experts(cfg)
    >>> type(heads).__name__, heads.failure.width
    ('SeparateFlowExperts', 16)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import torch
from torch import nn

from failforward.policy.afil.backbone import Prefix
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.experts import NUM_EXPERTS, DualFlowExperts, PrefixCache

HeadTime: TypeAlias = "torch.Tensor | tuple[torch.Tensor, ...]"
"""Time features: ``[E, K, 1, D]`` (stacked heads) or one ``[1, K, 1, D_e]`` per head (separate heads)."""


def map_heads(fn: Callable[..., torch.Tensor], *times: HeadTime) -> HeadTime:
    """``fn`` applied to time features: to the tensors themselves, or head by head to tuples of them."""
    first = times[0]
    if isinstance(first, torch.Tensor):
        return fn(*times)
    return tuple(fn(*parts) for parts in zip(*times, strict=True))


class SeparateFlowExperts(nn.Module):
    """Success head at the backbone's width, failure head of its own shape; the interface of ``DualFlowExperts``."""

    def __init__(self, config: AfilModelConfig) -> None:
        super().__init__()
        self.success = DualFlowExperts(config, experts=1)
        self.failure = DualFlowExperts(config, experts=1, shape=config.failure_expert)
        self.width = self.success.width

    def cache(self, prefix: Prefix, experts: int = NUM_EXPERTS) -> PrefixCache:
        """Keys/values ``[L, 1, B, P, D]`` of the success head, and with ``experts = 2`` the failure head's."""
        success = self.success.cache(prefix, 1)
        if experts == 1:
            return success
        failure = self.failure.cache(prefix, 1)
        return success._replace(failure_keys=failure.keys, failure_values=failure.values, failure_rows=failure.rows)

    def time_features(self, tau: torch.Tensor, experts: int) -> tuple[torch.Tensor, ...]:
        """``τ [K]`` → ``([1, K, 1, D],)`` or, with ``experts = 2``, that and the failure head's ``[1, K, 1, D_f]``."""
        heads = (self.success, self.failure)[:experts]
        return tuple(head.time_features(tau, 1) for head in heads)

    def row_time_features(self, tau: torch.Tensor, experts: int) -> tuple[torch.Tensor, ...]:
        """Per-row flow-time conditioning ``τ [B, H]`` → one ``[1, B, H, D_e]`` per head."""
        heads = (self.success, self.failure)[:experts]
        return tuple(head.row_time_features(tau, 1) for head in heads)

    def velocity(self, x: torch.Tensor, time: HeadTime, cache: PrefixCache, experts: int) -> torch.Tensor:
        """``x_τ [B, H, A]`` → ``[E, B, H, A]`` float32 (E = ``experts``), as ``DualFlowExperts.velocity``.

        ``time``: a tuple from :meth:`time_features` / :meth:`row_time_features` with at least ``experts``
        entries; ``cache``: from :meth:`cache` with ``failure_keys`` when ``experts = 2``.
        """
        if not isinstance(time, tuple):
            raise TypeError("SeparateFlowExperts takes time features as a tuple per head (its time_features)")
        v = self.success.velocity(x, time[0], PrefixCache(cache.keys, cache.values, cache.bias, rows=cache.rows), 1)
        if experts == 1:
            return v
        if cache.failure_keys is None or cache.failure_values is None:
            raise TypeError("the failure head needs a cache with failure_keys: call cache(prefix, experts=2)")
        failure = PrefixCache(cache.failure_keys, cache.failure_values, cache.bias, rows=cache.failure_rows)
        return torch.cat([v, self.failure.velocity(x, time[1], failure, 1)])

    def forward(self, x: torch.Tensor, tau: torch.Tensor, cache: PrefixCache, experts: int) -> torch.Tensor:
        """Velocities of the first ``experts`` heads: ``x_τ [B, H, A]``, ``τ [B]`` or ``[B, H]`` → ``[E, B, H, A]``."""
        time = self.row_time_features(tau, experts) if tau.dim() == 2 else self.time_features(tau, experts)
        return self.velocity(x, time, cache, experts)


FlowExperts = DualFlowExperts | SeparateFlowExperts


def flow_experts(config: AfilModelConfig) -> FlowExperts:
    """Stacked heads (one batched call) when both experts have one shape, else :class:`SeparateFlowExperts`."""
    return DualFlowExperts(config) if config.stacked_experts else SeparateFlowExperts(config)
