"""A failure head of its own shape (issue 17, item 3): config, shapes, export parity, manifest, training.

The shipped model (stacked heads) must still load and give the outputs it gave before this change: they were
recorded with the code before it (``data/afil_transfer_cube_golden.npz``, one noise, γ = 1 and unguided).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import afil_helpers
import numpy as np
import pytest
import torch
from pydantic import ValidationError

from failforward.errors import ConfigError
from failforward.learn.config import TrainConfig
from failforward.learn.trainer import train
from failforward.policy.afil import (
    BackendConfig,
    DualActionGenerator,
    GuidanceConfig,
    GuidanceMode,
    ManifestError,
    NormStats,
    SamplerConfig,
    get_model_preset,
    load_manifest,
    make_backend,
)
from failforward.policy.afil import signature as sig
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.experts import DualFlowExperts
from failforward.policy.afil.export import example_inputs, export_model
from failforward.policy.afil.failure_head import with_new_failure_head
from failforward.policy.afil.guidance import coefficients_tensor, guided_velocity
from failforward.policy.afil.manifest import MANIFEST_FILE, PrefixTraining
from failforward.policy.afil.separate_experts import SeparateFlowExperts
from failforward.policy.afil.weights import load_weights, save_weights
from failforward.types import Observation

TINY = get_model_preset("tiny_state")
LIGHT = AfilModelConfig.model_validate(
    {**TINY.model_dump(), "failure_width": 16, "failure_attn_heads": 1, "failure_self_attention": False}
)
DEEP = AfilModelConfig.model_validate({**TINY.model_dump(), "failure_layers": 2, "failure_mlp_ratio": 1})
SHIPPED = Path(__file__).resolve().parents[2] / "models" / "afil_aloha_transfer_cube"
GOLDEN = Path(__file__).parent / "data" / "afil_transfer_cube_golden.npz"
ATOL = 1e-5  # normalized action units


def _light(config: AfilModelConfig = LIGHT) -> DualActionGenerator:
    torch.manual_seed(0)
    return afil_helpers.perturb_affine(DualActionGenerator(config)).eval()


def _obs(model: DualActionGenerator) -> dict[str, torch.Tensor]:
    x = example_inputs(model.config)
    return {k: x[k] for k in ("state", "tokens", "token_mask")}


def test_default_failure_head_is_the_success_shape_and_stacked():
    assert TINY.failure_expert == TINY.success_expert and TINY.stacked_experts
    assert isinstance(DualActionGenerator(TINY).experts, DualFlowExperts)
    explicit = AfilModelConfig.model_validate({**TINY.model_dump(), "failure_width": TINY.width})
    assert explicit.stacked_experts  # the same shape written out is still the stacked layout
    assert not LIGHT.stacked_experts and LIGHT.failure_expert.width == 16 and not LIGHT.failure_expert.self_attention


def test_failure_heads_must_divide_the_failure_width():
    with pytest.raises(ValidationError, match="failure_attn_heads"):
        AfilModelConfig.model_validate({**TINY.model_dump(), "failure_width": 18, "failure_attn_heads": 4})


@pytest.mark.parametrize("config", [LIGHT, DEEP], ids=["narrow", "deep"])
@torch.no_grad()
def test_separate_heads_shapes(config: AfilModelConfig):
    model = _light(config)
    assert isinstance(model.experts, SeparateFlowExperts)
    obs = {k: v.expand(3, *v.shape[1:]) for k, v in _obs(model).items()}
    f = config.failure_expert
    cache = model.experts.cache(model.encode(obs["state"], obs), 2)
    assert cache.keys.shape[:2] == (TINY.expert_layers, 1) and cache.keys.shape[-1] == TINY.width
    assert cache.failure_keys is not None and cache.failure_keys.shape[:2] == (f.layers, 1)
    assert cache.failure_keys.shape[2:4] == cache.keys.shape[2:4] and cache.failure_keys.shape[-1] == f.width
    x, tau = torch.randn(3, TINY.horizon, TINY.action_dim), torch.rand(3)
    assert model.experts(x, tau, cache, 2).shape == (2, 3, TINY.horizon, TINY.action_dim)
    assert model.experts(x, tau, model.experts.cache(model.encode(obs["state"], obs), 1), 1).shape[0] == 1
    rows = torch.rand(3, TINY.horizon)  # per-row flow time (training-time RTC)
    assert model.experts(x, rows, cache, 2).shape == (2, 3, TINY.horizon, TINY.action_dim)


@torch.no_grad()
def _per_head_reference(model: DualActionGenerator, obs, noise: torch.Tensor, steps: int, guidance: GuidanceConfig):
    """Euler loop calling each head's own module at every step (τ features and prefix K/V recomputed)."""
    experts = model.experts
    assert isinstance(experts, SeparateFlowExperts)
    prefix = model.encode(obs["state"], obs)
    success, failure = experts.success.cache(prefix, 1), experts.failure.cache(prefix, 1)
    x, lams = noise.clone(), []
    for k in range(steps):
        tau = torch.full((noise.shape[0],), k / steps)
        v_s = experts.success(x, tau, success, 1)[0]
        if guidance.mode is GuidanceMode.NONE:
            v, lam = v_s, torch.zeros(noise.shape[0])  # the torch sampler reports λ_t = 0 when unguided
        else:
            v, lam = guided_velocity(v_s, experts.failure(x, tau, failure, 1)[0], coefficients_tensor(guidance))
        lams.append(lam)
        x = x + (1.0 / steps) * v
    return x, torch.stack(lams, 1)


@pytest.mark.parametrize("mode", [GuidanceMode.ADAPTIVE, GuidanceMode.NONE])
@torch.no_grad()
def test_torch_sample_equals_per_head_reference(mode: GuidanceMode):
    model = _light()
    obs = {k: v.expand(2, *v.shape[1:]) for k, v in _obs(model).items()}
    noise = torch.randn(2, TINY.horizon, TINY.action_dim, generator=torch.Generator().manual_seed(1))
    guidance = GuidanceConfig(mode=mode, gamma=3.0, clamp=2.0)
    got, lam = model.sample(obs["state"], obs, noise=noise, num_steps=10, guidance=guidance)
    want, want_lam = _per_head_reference(model, obs, noise, 10, guidance)
    torch.testing.assert_close(got, want, rtol=0, atol=ATOL)
    torch.testing.assert_close(lam, want_lam, rtol=0, atol=ATOL)


@pytest.fixture(scope="module")
def light_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A light-head model exported with the training-time RTC inputs (the shipped model's kind of export)."""
    out = tmp_path_factory.mktemp("light") / "afil_light"
    norm = NormStats.identity(TINY.state_dim, TINY.action_dim)
    export_model(_light(), norm, out, prefix_training=PrefixTraining(max_delay=3))
    return out


def _observation(config: AfilModelConfig, seed: int) -> Observation:
    rng = np.random.default_rng(seed)
    return Observation(0.0, rng.normal(size=config.state_dim), np.zeros(config.state_dim))


def _policy(model_dir: Path, mode: str, **kw):
    sampler = SamplerConfig(guidance=GuidanceConfig(mode=GuidanceMode(mode), gamma=1.0))
    return make_backend(BackendConfig(model_dir=model_dir, threads=1, sampler=sampler, **kw))


def test_light_manifest_round_trip(light_dir: Path):
    manifest = load_manifest(light_dir)
    assert manifest.model == LIGHT
    model, _ = load_weights(light_dir / manifest.weights)
    assert model.config == LIGHT and isinstance(model.experts, SeparateFlowExperts)
    outputs = [o.name for o in manifest.graphs[sig.BACKBONE].outputs]
    assert outputs == [*sig.CACHE_OUTPUTS, *sig.FAILURE_CACHE]
    experts = [i.name for i in manifest.graphs[sig.EXPERTS].inputs]
    assert experts == [*sig.EXPERT_INPUTS, *sig.FAILURE_CACHE, "prefix_len"]
    assert [i.name for i in manifest.graphs[sig.SUCCESS_EXPERT].inputs] == [*sig.EXPERT_INPUTS, "prefix_len"]


@pytest.mark.parametrize("mode", ["adaptive", "none"])
@pytest.mark.parametrize("layout", ["fused", "split"])
def test_onnxruntime_equals_torch_with_a_light_head(light_dir: Path, layout: str, mode: str):
    ort, eager = _policy(light_dir, mode, backend="onnxruntime", layout=layout), _policy(light_dir, mode)
    for seed in range(2):
        obs, noise = _observation(LIGHT, seed), np.random.default_rng(10 + seed).standard_normal((8, 4))
        got = ort.infer(obs, prompt="pick the cube", noise=noise)
        want = eager.infer(obs, prompt="pick the cube", noise=noise)
        np.testing.assert_allclose(got.actions, want.actions, rtol=0, atol=1e-4)  # joint units after un-normalizing
        np.testing.assert_allclose(got.guidance, want.guidance, rtol=0, atol=ATOL)
        assert len(got.guidance) == (10 if mode == "adaptive" else 0)


def test_manifest_with_inconsistent_failure_dims_is_refused(light_dir: Path, tmp_path: Path):
    bad = tmp_path / "bad"
    shutil.copytree(light_dir, bad)
    manifest = json.loads((bad / MANIFEST_FILE).read_text())
    manifest["model"]["failure_width"] = 32  # the graphs and weights hold a 16-wide failure head
    (bad / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match="failure_"):
        load_manifest(bad)
    manifest["model"]["failure_width"] = None  # "same as success": the graphs' separate cache does not fit
    (bad / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match="re-export"):
        load_manifest(bad)


def test_shipped_model_loads_and_runs_as_before():
    """Outputs recorded with the code before the light head (same noise): equal to float32 rounding.

    At the commit that added this test they were equal bit for bit on the development machine; the tolerance
    allows another CPU's kernels."""
    golden = np.load(GOLDEN)
    obs = Observation(0.0, golden["state"], np.zeros(golden["state"].shape))
    assert load_manifest(SHIPPED).model.stacked_experts
    for backend, layout in (("torch", "fused"), ("onnxruntime", "fused"), ("onnxruntime", "split")):
        for mode in ("adaptive", "none"):
            policy = _policy(SHIPPED, mode, backend=backend, layout=layout)
            chunk = policy.infer(obs, prompt="transfer the cube", noise=golden["noise"])
            key = f"{backend}_{layout}_{mode}"
            np.testing.assert_allclose(chunk.actions, golden[f"{key}_actions"], rtol=0, atol=1e-5)
            np.testing.assert_allclose(chunk.guidance, golden[f"{key}_guidance"], rtol=0, atol=1e-6)


@torch.no_grad()
def test_new_failure_head_keeps_backbone_and_success_head():
    base = _light(TINY)
    light = with_new_failure_head(base, LIGHT)
    obs = _obs(base)
    noise = torch.randn(1, TINY.horizon, TINY.action_dim, generator=torch.Generator().manual_seed(2))
    unguided = GuidanceConfig(mode=GuidanceMode.NONE)
    a = base.sample(obs["state"], obs, noise=noise, num_steps=10, guidance=unguided)[0]
    b = light.sample(obs["state"], obs, noise=noise, num_steps=10, guidance=unguided)[0]
    assert torch.equal(a, b)
    with pytest.raises(ConfigError, match="width"):
        with_new_failure_head(base, LIGHT.model_copy(update={"width": 64, "attn_heads": 2}))
    with pytest.raises(ConfigError, match="failure_width"):
        with_new_failure_head(base, TINY)


def test_training_a_failure_head_only(tmp_path: Path):
    base = _light(TINY)
    base_dir = tmp_path / "base"
    base_dir.mkdir()
    episodes = afil_helpers.toy_episodes()
    from failforward.learn.dataset import ChunkDataset

    save_weights(base, ChunkDataset.fit_norm(episodes), base_dir / "weights.pt")  # what failure_head_from reads
    config = TrainConfig(
        model=LIGHT,
        out_dir=tmp_path / "run",
        steps=40,
        batch_size=8,
        lr=3e-3,
        failure_fraction=1.0,
        checkpoint_every=20,
        rtc_max_delay=0,
        failure_head_from=base_dir / "weights.pt",
    )
    result = train(config, [e for e in episodes if not e.success], progress=False)
    assert np.mean(result.losses[-10:]) < 0.8 * np.mean(result.losses[:10])
    state = torch.load(result.checkpoint, map_location="cpu", weights_only=True)  # what export_checkpoint reads
    trained = DualActionGenerator(AfilModelConfig.model_validate(state["config"]["model"]))
    trained.load_state_dict(state["model"])
    frozen = {k: v for k, v in trained.state_dict().items() if not k.startswith("experts.failure.")}
    start = with_new_failure_head(base, LIGHT).state_dict()
    assert frozen and all(torch.equal(v, start[k]) for k, v in frozen.items())
    assert not torch.equal(trained.experts.failure.action_out.weight, start["experts.failure.action_out.weight"])
    with pytest.raises(ConfigError, match="init_weights"):
        train(config.model_copy(update={"init_weights": base_dir / "weights.pt", "out_dir": tmp_path / "x"}), episodes)


def test_shipped_light_model_keeps_the_success_head():
    """``models/afil_aloha_transfer_cube_light``: verified on load, unguided it is the shipped model bit for bit."""
    light_dir = SHIPPED.with_name(SHIPPED.name + "_light")
    manifest = load_manifest(light_dir)
    assert not manifest.model.stacked_experts and manifest.model.failure_expert.width < manifest.model.width
    golden = np.load(GOLDEN)
    obs = Observation(0.0, golden["state"], np.zeros(golden["state"].shape))
    unguided = _policy(light_dir, "none", backend="onnxruntime").infer(
        obs, prompt="transfer the cube", noise=golden["noise"]
    )
    np.testing.assert_allclose(unguided.actions, golden["onnxruntime_fused_none_actions"], rtol=0, atol=1e-5)
    guided = _policy(light_dir, "adaptive", backend="onnxruntime").infer(
        obs, prompt="transfer the cube", noise=golden["noise"]
    )
    assert np.isfinite(guided.actions).all() and len(guided.guidance) == manifest.sampler.num_steps
    assert float(np.abs(guided.actions - unguided.actions).max()) > 1e-4  # the failure head does steer
