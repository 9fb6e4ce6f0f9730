"""Conditional flow matching with disjoint supervision (AFIL §3.2, one objective for both heads).

With ``x_0 ~ N(0, I)`` noise and ``x_1`` the normalized action chunk, ``x_τ = (1 − τ) x_0 + τ x_1`` and
the target velocity is ``u = x_1 − x_0`` (τ = 0 noise → τ = 1 data, as in ``policy.base``).
Success samples supervise the success head, failure samples the failure head; both heads run in one
batched call and each loss only sees its own samples.

Training-time real-time chunking (arXiv 2512.05964), on when ``max_delay = D > 0``: every sample draws a
delay ``d ~ U{0, …, D}``; its first ``d`` rows are a clean action prefix (``x_τ[i] = x_1[i]``, flow time
``τ_i = 1``) and the loss skips them, so the heads learn to continue a given prefix. ``d = 0`` is plain
flow matching, and ``D = 0`` draws nothing (the random stream of the plain objective, bit for bit).
"""

from __future__ import annotations

import torch

from failforward.policy.afil.backbone import Prefix
from failforward.policy.afil.experts import FAILURE, NUM_EXPERTS, SUCCESS, prefix_time
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.separate_experts import map_heads


def prefix_rows(batch: int, horizon: int, max_delay: int, generator: torch.Generator) -> torch.Tensor | None:
    """``bool [B, H]``: True on rows ``i < d_b`` with ``d_b ~ U{0, …, max_delay}``; ``None`` when ``max_delay = 0``."""
    if max_delay == 0:
        return None
    delay = torch.randint(0, max_delay + 1, (batch,), generator=generator)
    return torch.arange(horizon)[None, :] < delay[:, None]  # on the CPU: the caller moves it to the batch


def _row_errors(v: torch.Tensor, target: torch.Tensor, frozen: torch.Tensor | None) -> torch.Tensor:
    """Mean squared error per head and sample ``[2, B]`` over the free (non-prefix) rows of ``v [2, B, H, A]``."""
    sq = (v - target[None]) ** 2
    if frozen is None:
        return sq.mean(dim=(2, 3))
    free = (~frozen).to(sq.dtype)  # [B, H]; d ≤ D < H leaves at least one free row
    return (sq.mean(dim=3) * free).sum(dim=2) / free.sum(dim=1)


def flow_matching_loss(
    model: DualActionGenerator,
    batch: dict[str, torch.Tensor],
    generator: torch.Generator,
    failure_grad_to_backbone: bool = False,
    max_delay: int = 0,
    prefix: Prefix | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss and metrics for one batch.

    Args:
        batch: ``state [B, S]``, the text encoder's prompt inputs (``tokens, token_mask [B, L]`` or
            ``prompt_embedding [B, E]``), optional ``images uint8 [B, C, H, W, 3]``,
            ``actions [B, H, A]`` (normalized), ``failure bool [B]``.
        generator: source of ``x_0``, ``τ ~ U[0, 1)`` and the prefix delays (a CPU generator: the draws move to the
            batch's device, so a CUDA run draws the same numbers as a CPU one).
        failure_grad_to_backbone: see ``TrainConfig``.
        max_delay: D, the largest clean prefix [rows] (training-time RTC); 0 = off. Must be < H.
        prefix: the backbone's output for this batch when the caller already encoded it (another head reads it
            too, e.g. the done head); ``None`` encodes here.

    A model with a mean head (``AfilModelConfig.mean_head``) adds the head's squared error on the success chunks
    (``loss_mean``), and both experts learn the chunk minus the (fixed) mean.

    Returns:
        ``(loss, {"loss_success", "loss_failure"[, "loss_mean"]})``; a head with no samples in the batch contributes 0.
    """
    x1, failure = batch["actions"], batch["failure"]
    if prefix is None:
        prefix = model.encode(batch["state"], batch, batch.get("images"))
    mean = model.chunk_mean(prefix)
    residual = x1 if mean is None else x1 - mean.detach()  # the experts learn the chunk around the mean head's
    loss_mean = None if mean is None else _success_mean(((mean - x1) ** 2).mean(dim=(1, 2)), failure)
    loss, metrics = _flow_loss(model, prefix, residual, failure, generator, failure_grad_to_backbone, max_delay)
    if loss_mean is None:
        return loss, metrics
    return loss + loss_mean, {**metrics, "loss_mean": loss_mean.item()}


def _success_mean(values: torch.Tensor, failure: torch.Tensor) -> torch.Tensor:
    """Mean of ``values [B]`` over the success samples (0 when there are none)."""
    success = (~failure).to(values.dtype)
    return (values * success).sum() / success.sum().clamp_min(1.0)


def _flow_loss(
    model: DualActionGenerator,
    prefix: Prefix,
    x1: torch.Tensor,
    failure: torch.Tensor,
    generator: torch.Generator,
    failure_grad_to_backbone: bool,
    max_delay: int,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The flow-matching part of :func:`flow_matching_loss` toward chunks ``x1 [B, H, A]``."""
    x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype).to(x1.device)  # drawn on the CPU generator
    tau = torch.rand(x1.shape[0], generator=generator, dtype=x1.dtype).to(x1.device)
    frozen = prefix_rows(x1.shape[0], x1.shape[1], max_delay, generator)
    frozen = None if frozen is None else frozen.to(x1.device)
    rows = tau[:, None] if frozen is None else torch.where(frozen, torch.ones_like(tau)[:, None], tau[:, None])
    x_tau = (1 - rows[:, :, None]) * x0 + rows[:, :, None] * x1  # prefix rows: x_1 exactly (τ_i = 1)
    if not failure_grad_to_backbone:
        prefix = prefix._replace(tokens=torch.where(failure[:, None, None], prefix.tokens.detach(), prefix.tokens))
    time = model.experts.time_features(tau, NUM_EXPERTS)  # [2, B, 1, D] (or one [1, B, 1, D_e] per head)
    if frozen is not None:  # prefix rows: the features of τ = 1
        clean = model.experts.time_features(tau.new_ones(1), NUM_EXPERTS)
        time = map_heads(lambda t, c: prefix_time(t, c, frozen), time, clean)
    cache = model.experts.cache(prefix, NUM_EXPERTS)
    v = model.experts.velocity(x_tau, time, cache, NUM_EXPERTS)
    err = _row_errors(v, x1 - x0, frozen)  # [2, B]
    success = (~failure).to(err.dtype)
    loss_s = _success_mean(err[SUCCESS], failure)
    loss_f = (err[FAILURE] * (1 - success)).sum() / (1 - success).sum().clamp_min(1.0)
    return loss_s + loss_f, {"loss_success": loss_s.item(), "loss_failure": loss_f.item()}
