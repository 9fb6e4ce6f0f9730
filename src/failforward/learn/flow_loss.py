"""Conditional flow matching with disjoint supervision (AFIL §3.2, one objective for both heads).

With ``x_0 ~ N(0, I)`` noise and ``x_1`` the normalized action chunk, ``x_τ = (1 − τ) x_0 + τ x_1`` and
the target velocity is ``u = x_1 − x_0`` (τ = 0 noise → τ = 1 data, as in ``policy.base``).
Success samples supervise the success head, failure samples the failure head; both heads run in one
batched call and each loss only sees its own samples.
"""

from __future__ import annotations

import torch

from failforward.policy.afil.backbone import Prefix
from failforward.policy.afil.experts import FAILURE, NUM_EXPERTS, SUCCESS
from failforward.policy.afil.model import DualActionGenerator


def flow_matching_loss(
    model: DualActionGenerator,
    batch: dict[str, torch.Tensor],
    generator: torch.Generator,
    failure_grad_to_backbone: bool = False,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss and metrics for one batch.

    Args:
        batch: ``state [B, S]``, ``tokens, token_mask [B, L]``, optional ``images uint8 [B, C, H, W, 3]``,
            ``actions [B, H, A]`` (normalized), ``failure bool [B]``.
        generator: source of ``x_0`` and ``τ ~ U[0, 1)``.
        failure_grad_to_backbone: see ``TrainConfig``.

    Returns:
        ``(loss, {"loss_success", "loss_failure"})``; a head with no samples in the batch contributes 0.
    """
    x1, failure = batch["actions"], batch["failure"]
    x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype)
    tau = torch.rand(x1.shape[0], generator=generator, dtype=x1.dtype)
    x_tau = (1 - tau[:, None, None]) * x0 + tau[:, None, None] * x1
    prefix = model.encode(batch["state"], batch["tokens"], batch["token_mask"], batch.get("images"))
    if not failure_grad_to_backbone:
        prefix = Prefix(torch.where(failure[:, None, None], prefix.tokens.detach(), prefix.tokens), prefix.mask)
    v = model.experts(x_tau, tau, model.experts.cache(prefix, NUM_EXPERTS), NUM_EXPERTS)
    err = ((v - (x1 - x0)[None]) ** 2).mean(dim=(2, 3))  # [2, B]
    success = (~failure).to(err.dtype)
    loss_s = (err[SUCCESS] * success).sum() / success.sum().clamp_min(1.0)
    loss_f = (err[FAILURE] * (1 - success)).sum() / (1 - success).sum().clamp_min(1.0)
    return loss_s + loss_f, {"loss_success": loss_s.item(), "loss_failure": loss_f.item()}
