"""Real-time chunking (RTC) in the flow sampler: a frozen prefix (training-time) or ΠGDM guidance (inference-time).

Both act on the normalized chunk ``x [B, H, A]`` at every Euler step, after failure guidance (see the AFIL
README, "Failure guidance and real-time chunking in one sampler", for the order and the equations).

- Training-time RTC (arXiv 2512.05964): the heads were trained with a clean prefix of ``d`` rows at flow time
  τ = 1. Sampling clamps those rows to the prefix, gives them τ = 1, and their velocity is 0
  (:func:`frozen_rows`, :func:`freeze`).
- Inference-time RTC (Black, Galliker, Levine 2025, arXiv 2506.07339, Eq. 2–5): the velocity is corrected
  toward the prefix ``Y`` with a vector-Jacobian product through the predicted clean chunk (:func:`pigdm`).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch

from failforward.policy.afil.guidance import DualField, VelocityField

PrefixMethod = Literal["training", "inference"]


class PrefixCondition(NamedTuple):
    """A prefix for one batch, in the normalized action space.

    Attributes:
        method: ``training`` (frozen rows) or ``inference`` (ΠGDM guidance).
        actions: ``Y [B, H, A]``, the prefix padded to the horizon (rows ≥ P are ignored).
        length: ``d [B]`` int64, rows frozen (training) or fully weighted (inference).
        weights: ``W [B, H]`` float32 soft mask (inference-time only; see ``preprocess.soft_mask``).
        beta: β, the largest ΠGDM guidance weight (inference-time only).
    """

    method: PrefixMethod
    actions: torch.Tensor
    length: torch.Tensor
    weights: torch.Tensor
    beta: float = 5.0


def frozen_rows(length: torch.Tensor, horizon: int) -> torch.Tensor:
    """``bool [B, H]``, True on rows ``i < d_b`` for ``length = d [B]`` (int64)."""
    return torch.arange(horizon, device=length.device)[None, :] < length[:, None]


def freeze(dual: DualField, frozen: torch.Tensor) -> DualField:
    """Zero both velocities on the frozen rows ``bool [B, H]``: the prefix does not move, and the guidance
    weight λ_t (a cosine over the flattened chunk) then sees the free rows only."""
    free = (~frozen).to(torch.float32)[:, :, None]

    def field(x: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v_s, v_f = dual(x, tau)
        return v_s * free, v_f * free

    return field


def clamp_prefix(noise: torch.Tensor, prefix: torch.Tensor, frozen: torch.Tensor) -> torch.Tensor:
    """Initial Euler state: ``prefix`` on the frozen rows, ``noise`` elsewhere (all ``[B, H, A]``)."""
    return torch.where(frozen[:, :, None], prefix, noise)


def pigdm_weight(tau: torch.Tensor, beta: float) -> torch.Tensor:
    """ΠGDM guidance weight ``min(β, (1 − τ) / (τ r_τ²))``, ``r_τ² = (1 − τ)² / (τ² + (1 − τ)²)`` (Eq. 2, 4).

    Written as ``(τ² + (1 − τ)²) / (τ (1 − τ))`` (the same value) so that it is finite; β at τ = 0 (and τ = 1).
    ``tau [B]`` → ``[B]``.
    """
    num = tau * tau + (1 - tau) * (1 - tau)
    den = tau * (1 - tau)
    ratio = num / torch.where(den > 0, den, torch.ones_like(den))
    return torch.where(den > 0, ratio.clamp_max(beta), torch.full_like(tau, beta))


def pigdm(field: VelocityField, condition: PrefixCondition) -> VelocityField:
    """Inference-time RTC: wrap a (guided) velocity field ``(x, τ) -> (v, λ_t)`` with ΠGDM guidance.

    Per Euler step, with ``v = field(x, τ)`` (failure guidance already applied, so the correction is taken
    through the guided field, λ_t included):

        Â¹ = x + (1 − τ) v                          (Eq. 3, the predicted clean chunk)
        e  = (Y − Â¹) ⊙ W                           (Eq. 2's (Y − Â¹)ᵀ diag(W), W the soft mask of Eq. 5)
        g  = eᵀ ∂Â¹/∂x                              (vector-Jacobian product, torch.autograd)
        v' = v + min(β, (1 − τ) / (τ r_τ²)) g       (Eq. 2 with Eq. 4's r_τ²)

    Returns the field ``(x, τ) -> (v' [B, H, A], λ_t [B])``; gradients never leave it.
    """
    target, weights = condition.actions, condition.weights[:, :, None]

    def corrected(x: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            v, lam = field(xg, tau)
            clean = xg + (1 - tau)[:, None, None] * v
            error = (target - clean) * weights
            (g,) = torch.autograd.grad(clean, xg, grad_outputs=error.detach())
        w = pigdm_weight(tau, condition.beta)
        return (v + w[:, None, None] * g).detach(), lam.detach()

    return corrected
