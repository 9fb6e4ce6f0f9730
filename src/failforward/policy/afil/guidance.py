"""Failure-informed guidance (AFIL Eq. 6-8) as a wrapper around a dual velocity field.

A *dual field* maps ``(x_τ [B, H, A], τ [B])`` to the success and failure velocities
``(v_s, v_f)``, each ``[B, H, A]``. Guidance turns it into one velocity field:

    v   = v_s + λ_t (v_s − v_f)
    λ_t = clip(λ_static + γ · (1 − cos(v_s, v_f)) / 2, 0, clamp)

with the cosine taken per sample over the flattened chunk ``H·A``. Static guidance is
``γ = 0``; adaptive guidance is ``λ_static = 0`` (see ``GuidanceConfig.coefficients``).
Nothing here needs a trained model: any callable works, e.g. the analytic fields in the tests.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from failforward.policy.afil.config import GuidanceConfig, GuidanceMode

DualField = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
VelocityField = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

_EPS = 1e-8


def guidance_weight(v_s: torch.Tensor, v_f: torch.Tensor, coeffs: torch.Tensor) -> torch.Tensor:
    """Per-sample guidance weight λ_t ``[B]``.

    Args:
        v_s, v_f: success / failure velocities ``[B, H, A]``.
        coeffs: ``[3]`` = ``(λ_static, γ, clamp)``.
    """
    s, f = v_s.flatten(1), v_f.flatten(1)
    cos = (s * f).sum(1) / (s.norm(dim=1) * f.norm(dim=1)).clamp_min(_EPS)
    lam = coeffs[0] + coeffs[1] * (1.0 - cos) * 0.5
    return torch.minimum(lam.clamp_min(0.0), coeffs[2])


def guided_velocity(v_s: torch.Tensor, v_f: torch.Tensor, coeffs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(v [B, H, A], λ_t [B])`` with ``v = v_s + λ_t (v_s − v_f)``."""
    lam = guidance_weight(v_s, v_f, coeffs)
    return v_s + lam[:, None, None] * (v_s - v_f), lam


def coefficients_tensor(config: GuidanceConfig) -> torch.Tensor:
    """``[3]`` float32 tensor of ``(λ_static, γ, clamp)`` for ``config``."""
    return torch.tensor(config.coefficients(), dtype=torch.float32)


def guide(dual: DualField, config: GuidanceConfig) -> VelocityField:
    """Wrap a dual field into the guided velocity field ``(x, τ) -> (v, λ_t)`` that ``config`` asks for."""
    if config.mode is GuidanceMode.NONE:
        return unguided(lambda x, tau: dual(x, tau)[0])
    coeffs = coefficients_tensor(config)

    def field(x: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v_s, v_f = dual(x, tau)
        return guided_velocity(v_s, v_f, coeffs.to(v_s))

    return field


def unguided(success: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> VelocityField:
    """Wrap a single (success) field as a velocity field with λ_t = 0."""

    def field(x: torch.Tensor, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return success(x, tau), x.new_zeros(x.shape[0])

    return field
