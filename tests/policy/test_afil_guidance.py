"""Failure-informed guidance on analytic velocity fields (no model): two Gaussian modes.

For data ``x_1 ~ N(μ, σ² I)`` and the path ``x_τ = (1 − τ) x_0 + τ x_1`` the exact flow-matching
velocity is ``v(x, τ) = μ + (τσ² − (1 − τ)) / ((1 − τ)² + τ²σ²) · (x − τμ)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from failforward.policy.afil.config import GuidanceConfig, GuidanceMode
from failforward.policy.afil.guidance import coefficients_tensor, guidance_weight, guide, guided_velocity
from failforward.policy.afil.guidance_np import guided_velocity_numpy
from failforward.policy.afil.sampler import euler_sample

H, A, SIGMA = 4, 2, 0.1


def gaussian_field(mu: torch.Tensor, sigma: float = SIGMA):
    def v(x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        t = tau[:, None, None]
        gain = (t * sigma**2 - (1 - t)) / ((1 - t) ** 2 + t**2 * sigma**2)
        return mu + gain * (x - t * mu)

    return v


def dual(mu_s: torch.Tensor, mu_f: torch.Tensor):
    vs, vf = gaussian_field(mu_s), gaussian_field(mu_f)
    return lambda x, tau: (vs(x, tau), vf(x, tau))


def mode(angle: float) -> torch.Tensor:
    """A chunk mode ``[H, A]`` whose rows all point at ``angle`` [rad] in the action plane."""
    return torch.tensor([math.cos(angle), math.sin(angle)]).expand(H, A).clone()


def sample(field_pair, cfg: GuidanceConfig, n: int = 512, steps: int = 10):
    noise = torch.randn(n, H, A, generator=torch.Generator().manual_seed(0))
    return euler_sample(guide(field_pair, cfg), noise, steps)


def test_unguided_sampler_reaches_the_success_mode():
    mu_s = mode(0.0)
    x, lam = sample(dual(mu_s, mode(1.0)), GuidanceConfig(mode=GuidanceMode.NONE), steps=50)
    assert torch.allclose(x.mean(0), mu_s, atol=0.03)
    assert x.std(0).mean() == pytest.approx(SIGMA, abs=0.03)
    assert torch.all(lam == 0)


@pytest.mark.parametrize(
    "cfg",
    [
        GuidanceConfig(mode=GuidanceMode.ADAPTIVE, gamma=1.0),
        GuidanceConfig(mode=GuidanceMode.STATIC, static_lambda=0.3),
    ],
)
def test_guidance_moves_samples_away_from_the_failure_mode(cfg: GuidanceConfig):
    mu_s, mu_f = mode(0.0), mode(0.8)
    plain, _ = sample(dual(mu_s, mu_f), GuidanceConfig(mode=GuidanceMode.NONE))
    guided, lam = sample(dual(mu_s, mu_f), cfg)
    dist_f = lambda x: (x - mu_f).flatten(1).norm(dim=1).mean()  # noqa: E731
    assert dist_f(guided) > dist_f(plain) + 0.05
    # Repulsion is along (μ_s − μ_f): the guided mean lies beyond μ_s on that line, not off sideways.
    direction = (mu_s - mu_f).flatten() / (mu_s - mu_f).norm()
    assert ((guided.mean(0) - mu_s).flatten() @ direction) > 0.05
    assert torch.all(lam > 0)


def test_lambda_is_zero_when_heads_agree():
    mu = mode(0.3)
    _, lam = sample(dual(mu, mu), GuidanceConfig(gamma=1.0))
    assert lam.shape == (512, 10)
    assert lam.abs().max() < 1e-5


def test_lambda_grows_as_heads_diverge_and_reaches_gamma_when_opposite():
    cfg = coefficients_tensor(GuidanceConfig(gamma=2.0, clamp=10.0))
    v_s = mode(0.0)[None]
    lams = [guidance_weight(v_s, mode(a)[None], cfg).item() for a in np.linspace(0, math.pi, 7)]
    assert lams[0] == pytest.approx(0.0, abs=1e-6)
    assert all(b > a for a, b in itertools.pairwise(lams))
    assert lams[-1] == pytest.approx(2.0, abs=1e-5)


def test_lambda_is_per_sample_and_clamped():
    v_s = torch.stack([mode(0.0), mode(0.0)])
    v_f = torch.stack([mode(0.0), mode(math.pi)])
    v, lam = guided_velocity(v_s, v_f, coefficients_tensor(GuidanceConfig(gamma=4.0, clamp=0.5)))
    assert lam.tolist() == pytest.approx([0.0, 0.5], abs=1e-6)
    assert torch.allclose(v[0], v_s[0]) and torch.allclose(v[1], v_s[1] + 0.5 * (v_s[1] - v_f[1]))


def test_static_lambda_ignores_agreement():
    v_s = mode(0.0)[None]
    lam = guidance_weight(v_s, v_s, coefficients_tensor(GuidanceConfig(mode=GuidanceMode.STATIC, static_lambda=0.05)))
    assert lam.item() == pytest.approx(0.05)


def test_numpy_twin_matches_torch():
    g = torch.Generator().manual_seed(1)
    v_s, v_f = torch.randn(3, H, A, generator=g), torch.randn(3, H, A, generator=g)
    coeffs = coefficients_tensor(GuidanceConfig(gamma=1.5, clamp=0.9))
    v, lam = guided_velocity(v_s, v_f, coeffs)
    v_np, lam_np = guided_velocity_numpy(v_s.numpy(), v_f.numpy(), coeffs.numpy())
    np.testing.assert_allclose(v_np, v.numpy(), atol=1e-6)
    np.testing.assert_allclose(lam_np, lam.numpy(), atol=1e-6)
