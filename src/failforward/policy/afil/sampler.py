"""Euler flow sampling over any velocity field (see ``failforward.policy.base`` for the time convention).

``τ_k = k / N`` for ``k = 0 … N−1``; ``x ← x + (1/N) · v(x, τ_k)`` takes noise at τ = 0 to data at τ = 1.
The state ``x``, ``τ`` and the guidance stay float32 even when the network runs in float16.
"""

from __future__ import annotations

import torch

from failforward.policy.afil.guidance import VelocityField


def flow_times(num_steps: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The Euler grid ``τ_k = k / N``, ``[N]`` float32 (the values :func:`euler_sample` passes, bit for bit)."""
    dt = 1.0 / num_steps
    return torch.tensor([k * dt for k in range(num_steps)], dtype=torch.float32, device=device)


def euler_sample(field: VelocityField, noise: torch.Tensor, num_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Integrate ``field`` from ``noise`` for ``num_steps`` Euler steps.

    Args:
        field: ``(x [B, H, A], τ [B]) -> (v [B, H, A], λ_t [B])``.
        noise: initial sample ``x_0 [B, H, A]`` (standard normal in normalized action space).
        num_steps: N ≥ 1.

    Returns:
        ``(x_1 [B, H, A], λ trace [B, N])``.
    """
    x = noise
    dt = 1.0 / num_steps
    trace = []
    for k in range(num_steps):
        tau = torch.full((x.shape[0],), k * dt, dtype=torch.float32, device=x.device)
        v, lam = field(x, tau)
        x = x + dt * v
        trace.append(lam)
    return x, torch.stack(trace, dim=1)
