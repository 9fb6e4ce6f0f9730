"""Real-time chunking fused with failure guidance in the AFIL sampler (``policy/afil/rtc.py``, README section).

Analytic part: the two-Gaussian fields of ``tests/policy/test_afil_guidance.py``. For data ``x_1 ~ N(μ, σ² I)``
and the path ``x_τ = (1 − τ) x_0 + τ x_1`` the exact velocity is ``v(x, τ) = μ + g(τ) (x − τμ)`` with
``g(τ) = (τσ² − (1 − τ)) / ((1 − τ)² + τ²σ²)``: linear in ``x``, so ``∂Â¹/∂x = (1 + (1 − τ) g(τ)) I`` in closed form.
Model part: a tiny random model exported with and without prefix training, run by torch and onnxruntime.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from failforward.errors import PolicyError
from failforward.policy.afil import BackendConfig, DualActionGenerator, NormStats, get_model_preset, make_backend
from failforward.policy.afil.config import GuidanceConfig, GuidanceMode, SamplerConfig
from failforward.policy.afil.errors import BackendUnavailableError, ManifestError, PrefixError
from failforward.policy.afil.export import export_model
from failforward.policy.afil.guidance import guidance_weight, guide
from failforward.policy.afil.manifest import PrefixTraining
from failforward.policy.afil.prefix import soft_mask
from failforward.policy.afil.rtc import PrefixCondition, clamp_prefix, freeze, frozen_rows, pigdm, pigdm_weight
from failforward.policy.afil.sampler import euler_sample
from failforward.types import ChunkPrefix, Observation

torch.set_num_threads(1)

H, A, SIGMA = 6, 2, 0.1
ADAPTIVE = GuidanceConfig(mode=GuidanceMode.ADAPTIVE, gamma=2.0)


def gain(tau: torch.Tensor, sigma: float = SIGMA) -> torch.Tensor:
    return (tau * sigma**2 - (1 - tau)) / ((1 - tau) ** 2 + tau**2 * sigma**2)


def gaussian_field(mu: torch.Tensor):
    return lambda x, tau: mu + gain(tau)[:, None, None] * (x - tau[:, None, None] * mu)


def dual(mu_s: torch.Tensor, mu_f: torch.Tensor):
    vs, vf = gaussian_field(mu_s), gaussian_field(mu_f)
    return lambda x, tau: (vs(x, tau), vf(x, tau))


def mode(angle: float) -> torch.Tensor:
    return torch.tensor([math.cos(angle), math.sin(angle)]).expand(H, A).clone()


def noise(n: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, H, A, generator=torch.Generator().manual_seed(seed))


MU_S, MU_F = mode(0.0), mode(0.9)
PREFIX = mode(2.0) * 0.5  # Y: far from both modes, so every pull toward it shows


# ---------------------------------------------------------------- the formulas
def test_soft_mask_is_eq5():
    w = soft_mask(delay=2, length=6, horizon=10)
    c = np.array([4, 3, 2, 1]) / 5  # c_i = (P − i) / (P − d + 1) for i = 2 … 5
    np.testing.assert_allclose(w[:2], 1.0)
    np.testing.assert_allclose(w[2:6], c * np.expm1(c) / (np.e - 1), rtol=1e-6)
    np.testing.assert_array_equal(w[6:], 0.0)
    assert np.all(np.diff(w) <= 0)


@pytest.mark.parametrize("tau", [0.05, 0.3, 0.5, 0.8, 0.95])
def test_pigdm_weight_is_eq2_with_eq4(tau):
    r2 = (1 - tau) ** 2 / (tau**2 + (1 - tau) ** 2)
    for beta in (0.5, 5.0, 1e6):
        got = pigdm_weight(torch.tensor([tau]), beta).item()
        assert got == pytest.approx(min(beta, (1 - tau) / (tau * r2)), rel=1e-6)
    assert pigdm_weight(torch.tensor([0.0]), 5.0).item() == 5.0  # τ = 0: the bound β


# ---------------------------------------------------------------- training-time RTC on analytic fields
def frozen_sample(d: int, guidance: GuidanceConfig, steps: int = 10):
    length = torch.full((64,), d, dtype=torch.int64)
    frozen = frozen_rows(length, H)
    y = PREFIX.expand(64, H, A)
    field = guide(freeze(dual(MU_S, MU_F), frozen), guidance)
    return euler_sample(field, clamp_prefix(noise(), y, frozen), steps)


@pytest.mark.parametrize("guidance", [GuidanceConfig(mode=GuidanceMode.NONE), ADAPTIVE])
def test_frozen_prefix_is_reproduced_exactly(guidance):
    x, _ = frozen_sample(3, guidance)
    assert torch.equal(x[:, :3], PREFIX[:3].expand(64, 3, A))  # bit for bit: velocity 0 there
    assert (x[:, 3:] - MU_S[3:]).abs().mean() < 0.2  # the free rows still reach the success mode


def test_zero_delay_is_the_plain_guided_sampler():
    plain_x, plain_lam = euler_sample(guide(dual(MU_S, MU_F), ADAPTIVE), noise(), 10)
    x, lam = frozen_sample(0, ADAPTIVE)
    assert torch.equal(x, plain_x) and torch.equal(lam, plain_lam)


def test_lambda_is_taken_over_the_free_rows_only():
    """λ_t from the frozen field equals the guidance weight of the free rows alone, and differs from the
    weight over the whole chunk (the frozen rows' velocities would otherwise enter the cosine)."""
    frozen = frozen_rows(torch.tensor([3]), H)
    x, tau = noise(1), torch.tensor([0.4])
    v_s, v_f = dual(MU_S, MU_F)(x, tau)
    coeffs = torch.tensor(ADAPTIVE.coefficients())
    _, lam = guide(freeze(dual(MU_S, MU_F), frozen), ADAPTIVE)(x, tau)
    assert lam.item() == pytest.approx(guidance_weight(v_s[:, 3:], v_f[:, 3:], coeffs).item(), rel=1e-6)
    assert abs(lam.item() - guidance_weight(v_s, v_f, coeffs).item()) > 1e-3


# ---------------------------------------------------------------- inference-time RTC on analytic fields
def condition(d: int, p: int, beta: float, n: int = 64) -> PrefixCondition:
    w = torch.from_numpy(soft_mask(d, p, H)).expand(n, H)
    return PrefixCondition("inference", PREFIX.expand(n, H, A), torch.full((n,), d), w, beta)


def test_vjp_is_the_closed_form_for_a_linear_field():
    """Unguided linear field: ``g = (1 + (1 − τ) g(τ)) · W (Y − Â¹)``, so ``v' − v`` is that times the weight."""
    field = guide(dual(MU_S, MU_F), GuidanceConfig(mode=GuidanceMode.NONE))
    cond = condition(2, 5, beta=5.0, n=4)
    x, tau = noise(4), torch.full((4,), 0.3)
    v, _ = field(x, tau)
    corrected, _ = pigdm(field, cond)(x, tau)
    clean = x + 0.7 * v
    expected = (1 + 0.7 * gain(tau)[0]) * cond.weights[:, :, None] * (cond.actions - clean)
    torch.testing.assert_close(corrected - v, pigdm_weight(tau, 5.0)[0] * expected, rtol=1e-5, atol=1e-6)


def test_vjp_through_the_guided_field_matches_finite_differences():
    """With adaptive guidance λ_t depends on x (the cosine), and the correction differentiates through it."""
    field = guide(dual(MU_S, MU_F), ADAPTIVE)
    cond = condition(2, 5, beta=1.0, n=1)
    x, tau = noise(1).double(), torch.tensor([0.3], dtype=torch.float64)
    cond = cond._replace(actions=cond.actions.double(), weights=cond.weights.double())
    v, _ = field(x, tau)
    g = (pigdm(field, cond)(x, tau)[0] - v) / pigdm_weight(tau, 1.0)
    clean = lambda z: z + 0.7 * field(z, tau)[0]  # noqa: E731
    error = cond.weights[:, :, None] * (cond.actions - clean(x))
    u, eps = torch.randn(x.shape, generator=torch.Generator().manual_seed(3), dtype=x.dtype), 1e-6
    directional = ((clean(x + eps * u) - clean(x - eps * u)) / (2 * eps) * error).sum()
    assert (g * u).sum().item() == pytest.approx(directional.item(), rel=1e-5)


def test_inference_rtc_pulls_the_weighted_rows_to_the_prefix_as_beta_grows():
    """50 steps: the weight is ``min(β, (τ² + (1 − τ)²) / (τ (1 − τ)))`` (≥ 2), so β only acts near τ = 0 and 1,
    and a coarse grid cannot pull a σ = 0.1 posterior all the way (10 steps at β = 50 close a third of the gap)."""
    field = guide(dual(MU_S, MU_F), ADAPTIVE)
    plain, _ = euler_sample(field, noise(), 50)
    gaps = []
    for beta in (1.0, 5.0, 50.0):
        x, _ = euler_sample(pigdm(field, condition(3, 3, beta)), noise(), 50)
        gaps.append((x[:, :3] - PREFIX[:3]).abs().mean().item())
    assert gaps == sorted(gaps, reverse=True)
    assert gaps[-1] < 0.03 and (plain[:, :3] - PREFIX[:3]).abs().mean().item() > 0.9


def test_rows_outside_the_mask_are_untouched_for_an_unguided_linear_field():
    field = guide(dual(MU_S, MU_F), GuidanceConfig(mode=GuidanceMode.NONE))
    plain, _ = euler_sample(field, noise(), 10)
    x, _ = euler_sample(pigdm(field, condition(2, 4, 5.0)), noise(), 10)
    torch.testing.assert_close(x[:, 4:], plain[:, 4:], rtol=0, atol=1e-6)  # W = 0 there, ∂Â¹/∂x diagonal
    assert (x[:, :2] - plain[:, :2]).abs().min() > 0.01


def test_zero_weights_leave_the_guided_sampler_and_lambda_unchanged():
    field = guide(dual(MU_S, MU_F), ADAPTIVE)
    plain, plain_lam = euler_sample(field, noise(), 10)
    x, lam = euler_sample(pigdm(field, condition(0, 0, 5.0)), noise(), 10)
    torch.testing.assert_close(x, plain, rtol=0, atol=1e-6)
    torch.testing.assert_close(lam, plain_lam, rtol=0, atol=1e-6)


# ---------------------------------------------------------------- models: torch, onnxruntime fused and split
STEPS = 4


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    torch.manual_seed(0)
    cfg = get_model_preset("tiny_state")
    norm = NormStats(np.full(4, 0.1), np.full(4, 2.0), np.full(4, -0.3), np.full(4, 0.5))
    out = tmp_path_factory.mktemp("rtc")
    model = DualActionGenerator(cfg)
    sampler = SamplerConfig(num_steps=STEPS)  # few unrolled steps: the export is what takes time here
    export_model(model, norm, out / "prefix", sampler=sampler, prefix_training=PrefixTraining(max_delay=4))
    export_model(model, norm, out / "plain", sampler=sampler)
    return {"prefix": out / "prefix", "plain": out / "plain"}


def obs() -> Observation:
    return Observation(0.0, np.linspace(-0.5, 0.5, 4), np.zeros(4))


def backend(model_dir: Path, kind: str = "torch", mode: GuidanceMode = GuidanceMode.ADAPTIVE, **kw):
    sampler = SamplerConfig(num_steps=STEPS, guidance=GuidanceConfig(mode=mode))
    return make_backend(BackendConfig(backend=kind, model_dir=model_dir, sampler=sampler, **kw))


PREFIX_ROWS = np.linspace(-1.0, 1.0, 20).reshape(5, 4)  # [P = 5, A = 4] joint targets
NOISE = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)


@pytest.mark.parametrize("mode", [GuidanceMode.ADAPTIVE, GuidanceMode.NONE])
def test_training_rtc_chunk_starts_with_the_prefix(models, mode):
    policy = backend(models["prefix"], mode=mode)
    assert (policy.rtc.method, policy.rtc.max_delay) == ("training", 4)
    chunk = policy.infer(obs(), prompt="pick", noise=NOISE, prefix=ChunkPrefix(PREFIX_ROWS, delay=3))
    np.testing.assert_allclose(chunk.actions[:3], PREFIX_ROWS[:3], atol=1e-6)
    plain = policy.infer(obs(), prompt="pick", noise=NOISE)
    assert np.abs(chunk.actions[3:] - plain.actions[3:]).max() > 1e-4  # the free rows see the prefix


@pytest.mark.parametrize("layout", ["fused", "split"])
@pytest.mark.parametrize("mode", [GuidanceMode.ADAPTIVE, GuidanceMode.NONE])
@pytest.mark.parametrize("delay", [0, 3])
def test_onnx_graphs_agree_with_torch_given_a_prefix(models, layout, mode, delay):
    prefix = ChunkPrefix(PREFIX_ROWS, delay=delay)
    want = backend(models["prefix"], mode=mode).infer(obs(), prompt="pick", noise=NOISE, prefix=prefix)
    got = backend(models["prefix"], "onnxruntime", mode, layout=layout).infer(
        obs(), prompt="pick", noise=NOISE, prefix=prefix
    )
    np.testing.assert_allclose(got.actions, want.actions, atol=1e-4)
    np.testing.assert_allclose(got.guidance, want.guidance, atol=1e-4)
    np.testing.assert_array_equal(got.actions[:delay], want.actions[:delay])


def test_old_manifest_loads_without_training_rtc(models):
    ort = backend(models["plain"], "onnxruntime")
    assert ort.rtc.method == "none" and ort.manifest.prefix_training is None
    assert "prefix" not in [i.name for i in ort.manifest.graphs["sampler_guided"].inputs]
    prefix = ChunkPrefix(PREFIX_ROWS, delay=3)
    ignored = ort.infer(obs(), prompt="pick", noise=NOISE, prefix=prefix)
    np.testing.assert_array_equal(ignored.actions, ort.infer(obs(), prompt="pick", noise=NOISE).actions)
    torch_policy = backend(models["plain"])
    assert torch_policy.rtc.method == "inference" and torch_policy.rtc.max_delay == 8
    with pytest.raises(ManifestError, match="not trained for real-time chunking"):
        backend(models["plain"], rtc="training")
    with pytest.raises(BackendUnavailableError, match="needs gradients"):
        backend(models["plain"], "onnxruntime", rtc="inference")


def test_inference_rtc_on_the_torch_backend_pulls_toward_the_prefix(models):
    prefix = ChunkPrefix(PREFIX_ROWS, delay=3)
    plain = backend(models["plain"]).infer(obs(), prompt="pick", noise=NOISE)
    gaps = []
    for beta in (0.5, 50.0):
        chunk = backend(models["plain"], rtc_beta=beta).infer(obs(), prompt="pick", noise=NOISE, prefix=prefix)
        gaps.append(np.abs(chunk.actions[:3] - PREFIX_ROWS[:3]).mean())
    assert gaps[1] < gaps[0] < np.abs(plain.actions[:3] - PREFIX_ROWS[:3]).mean()


def test_delay_beyond_the_trained_one_is_refused(models):
    policy = backend(models["prefix"])
    with pytest.raises(PrefixError, match="exceeds the largest") as info:
        policy.infer(obs(), prompt="pick", noise=NOISE, prefix=ChunkPrefix(PREFIX_ROWS, delay=5))
    assert isinstance(info.value, PolicyError)
    assert backend(models["prefix"], rtc="none").rtc.method == "none"
