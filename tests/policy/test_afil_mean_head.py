"""A regression head for the chunk's mean, the flow experts around it (``AfilModelConfig.mean_head``, issue 16).

Its loss trains on success chunks only, the experts see the chunk minus the (fixed) mean, a sample is the mean plus
the residual field's Euler integral, a real-time chunking prefix stays a prefix, and the ONNX graphs (fused and
split) give the torch sampler's chunks.
"""

from __future__ import annotations

from pathlib import Path

import afil_helpers
import numpy as np
import pytest
import torch

from failforward.learn.flow_loss import flow_matching_loss
from failforward.policy.afil import (
    BackendConfig,
    DualActionGenerator,
    GuidanceConfig,
    GuidanceMode,
    NormStats,
    SamplerConfig,
    get_model_preset,
    load_manifest,
    make_backend,
)
from failforward.policy.afil import signature as sig
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.export import example_inputs, export_model
from failforward.policy.afil.manifest import PrefixTraining
from failforward.types import ChunkPrefix, Observation

MEAN = get_model_preset("tiny_state").model_copy(update={"mean_head": True})
LIGHT_MEAN = AfilModelConfig.model_validate(
    {**MEAN.model_dump(), "failure_width": 16, "failure_attn_heads": 1, "failure_self_attention": False}
)
STEPS = 10  # the export's sampler steps (fused graphs are built for them)


def _model(config: AfilModelConfig = MEAN) -> DualActionGenerator:
    torch.manual_seed(0)
    return afil_helpers.perturb_affine(DualActionGenerator(config)).eval()


def _obs(config: AfilModelConfig, batch: int) -> dict[str, torch.Tensor]:
    x = example_inputs(config)
    return {k: x[k].expand(batch, *x[k].shape[1:]) for k in ("state", "tokens", "token_mask")}


def _batch(config: AfilModelConfig, failure: list[bool]) -> dict[str, torch.Tensor]:
    actions = torch.randn(len(failure), config.horizon, config.action_dim, generator=torch.Generator().manual_seed(2))
    return {**_obs(config, len(failure)), "actions": actions, "failure": torch.tensor(failure)}


def test_the_mean_loss_is_the_heads_squared_error_on_success_chunks():
    model = _model().train()
    batch = _batch(MEAN, [False, True, False])
    loss, metrics = flow_matching_loss(model, batch, torch.Generator().manual_seed(0))
    mean = model.chunk_mean(model.encode(batch["state"], batch))
    assert mean is not None
    want = ((mean - batch["actions"]) ** 2).mean(dim=(1, 2))[[0, 2]].mean()
    assert metrics["loss_mean"] == pytest.approx(want.item(), rel=1e-5)
    assert loss.item() == pytest.approx(metrics["loss_success"] + metrics["loss_failure"] + want.item(), rel=1e-5)
    model.zero_grad()
    flow_matching_loss(model, _batch(MEAN, [True, True]), torch.Generator().manual_seed(0))[0].backward()
    assert model.mean is not None
    assert all(p.grad is None or not p.grad.any() for p in model.mean.parameters())  # failures never train it


def test_the_experts_learn_the_chunk_around_the_mean():
    """The flow loss of a mean-head model equals a plain model's flow loss toward ``x_1 − μ`` (same draws)."""
    model = _model()
    batch = _batch(MEAN, [False, True, False])
    mean = model.chunk_mean(model.encode(batch["state"], batch))
    assert mean is not None
    _, metrics = flow_matching_loss(model, batch, torch.Generator().manual_seed(0))
    model.mean = None  # the same weights without the head: its flow loss toward the residual chunks
    _, residual = flow_matching_loss(
        model, {**batch, "actions": batch["actions"] - mean}, torch.Generator().manual_seed(0)
    )
    for key in ("loss_success", "loss_failure"):
        assert metrics[key] == pytest.approx(residual[key], rel=1e-5)


@pytest.mark.parametrize("mode", [GuidanceMode.ADAPTIVE, GuidanceMode.NONE])
@torch.no_grad()
def test_a_sample_is_the_mean_plus_the_residual_flow(mode: GuidanceMode):
    model = _model()
    obs = _obs(MEAN, 2)
    noise = torch.randn(2, MEAN.horizon, MEAN.action_dim, generator=torch.Generator().manual_seed(1))
    guidance = GuidanceConfig(mode=mode, gamma=2.0)
    chunk, lambdas = model.sample(obs["state"], obs, noise=noise, num_steps=STEPS, guidance=guidance)
    mean = model.chunk_mean(model.encode(obs["state"], obs))
    model.mean = None
    residual, want_lambdas = model.sample(obs["state"], obs, noise=noise, num_steps=STEPS, guidance=guidance)
    assert mean is not None and mean.abs().max() > 0.1
    torch.testing.assert_close(chunk, residual + mean)
    torch.testing.assert_close(lambdas, want_lambdas)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("mean")
    out = {}
    for name, config in (("stacked", MEAN), ("light", LIGHT_MEAN)):
        out[name] = root / name
        norm = NormStats.identity(config.state_dim, config.action_dim)
        export_model(_model(config), norm, out[name], prefix_training=PrefixTraining(max_delay=3))
    return out


def _policy(model_dir: Path, mode: str, **kw):
    sampler = SamplerConfig(num_steps=STEPS, guidance=GuidanceConfig(mode=GuidanceMode(mode), gamma=1.0))
    return make_backend(BackendConfig(model_dir=model_dir, threads=1, sampler=sampler, **kw))


def test_the_backbone_graph_outputs_the_mean_last(exported: dict[str, Path]):
    manifest = load_manifest(exported["light"])
    outputs = manifest.graphs[sig.BACKBONE].outputs
    assert outputs[-1].name == sig.MEAN_OUTPUT and outputs[-1].shape == (1, MEAN.horizon, MEAN.action_dim)
    assert sig.MEAN_OUTPUT not in [i.name for i in manifest.graphs[sig.EXPERTS].inputs]


@pytest.mark.parametrize("name", ["stacked", "light"])
@pytest.mark.parametrize("layout", ["fused", "split"])
@pytest.mark.parametrize("delay", [0, 3])
def test_onnxruntime_equals_torch_with_a_mean_head(exported: dict[str, Path], name: str, layout: str, delay: int):
    rng = np.random.default_rng(5)
    prefix_rows = rng.normal(size=(5, MEAN.action_dim))
    for mode in ("adaptive", "none"):
        eager = _policy(exported[name], mode)
        ort = _policy(exported[name], mode, backend="onnxruntime", layout=layout)
        obs = Observation(0.0, rng.normal(size=MEAN.state_dim), np.zeros(MEAN.state_dim))
        noise = rng.standard_normal((MEAN.horizon, MEAN.action_dim))
        prefix = ChunkPrefix(prefix_rows, delay=delay) if delay else None
        want = eager.infer(obs, prompt="pick the cube", noise=noise, prefix=prefix)
        got = ort.infer(obs, prompt="pick the cube", noise=noise, prefix=prefix)
        np.testing.assert_allclose(got.actions, want.actions, rtol=0, atol=1e-4)
        np.testing.assert_allclose(got.actions[:delay], prefix_rows[:delay], rtol=0, atol=1e-5)  # still the prefix
