"""The state straight into the action experts' rows (``AfilModelConfig.state_in_rows``, issue 16).

A model with it adds a projection of the normalized state to every chunk row of both experts; its ONNX graphs carry
that term in the per-chunk cache (``rows``, ``failure_rows``) and must give the torch sampler's chunks.
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
from failforward.types import Observation

TINY = get_model_preset("tiny_state")
ROWS = TINY.model_copy(update={"state_in_rows": True})
LIGHT_ROWS = AfilModelConfig.model_validate(
    {**ROWS.model_dump(), "failure_width": 16, "failure_attn_heads": 1, "failure_self_attention": False}
)


def _model(config: AfilModelConfig) -> DualActionGenerator:
    torch.manual_seed(0)
    return afil_helpers.perturb_affine(DualActionGenerator(config)).eval()


def _obs(config: AfilModelConfig, batch: int = 2) -> dict[str, torch.Tensor]:
    x = example_inputs(config)
    return {k: x[k].expand(batch, *x[k].shape[1:]) for k in ("state", "tokens", "token_mask")}


@pytest.mark.parametrize("config", [ROWS, LIGHT_ROWS], ids=["stacked", "light"])
@torch.no_grad()
def test_the_rows_read_the_state_beside_the_prefix(config: AfilModelConfig):
    model, obs = _model(config), _obs(config)
    prefix = model.encode(obs["state"], obs)
    assert prefix.state is not None
    cache = model.experts.cache(prefix, 2)
    width = model.experts.width
    assert cache.rows is not None and cache.rows.shape == (1 if not config.stacked_experts else 2, 2, 1, width)
    assert (cache.failure_rows is not None) == (not config.stacked_experts)
    x, tau = torch.randn(2, config.horizon, config.action_dim), torch.rand(2)
    moved = model.experts.cache(prefix._replace(state=prefix.state + 1.0), 2)  # same prefix tokens, another state
    assert not torch.allclose(model.experts(x, tau, cache, 2), model.experts(x, tau, moved, 2))
    with pytest.raises(ValueError, match="state_in_rows"):
        model.experts.cache(prefix._replace(state=None), 2)


@torch.no_grad()
def test_without_the_option_the_experts_ignore_an_attached_state():
    model, obs = _model(TINY), _obs(TINY)
    prefix = model.encode(obs["state"], obs)
    assert prefix.state is None and model.experts.cache(prefix, 2).rows is None
    x, tau = torch.randn(2, TINY.horizon, TINY.action_dim), torch.rand(2)
    attached = model.experts.cache(prefix._replace(state=obs["state"] + 1.0), 2)
    plain = model.experts.cache(prefix, 2)
    torch.testing.assert_close(model.experts(x, tau, attached, 2), model.experts(x, tau, plain, 2))


def test_the_state_projection_trains_for_both_heads():
    model = _model(LIGHT_ROWS).train()
    obs = _obs(LIGHT_ROWS, 4)
    batch = {**obs, "actions": torch.randn(4, LIGHT_ROWS.horizon, LIGHT_ROWS.action_dim),
             "failure": torch.tensor([False, False, True, True])}  # fmt: skip
    loss, _ = flow_matching_loss(model, batch, torch.Generator().manual_seed(0))
    loss.backward()
    for head in (model.experts.success, model.experts.failure):
        assert head.state_in is not None and head.state_in.weight.grad is not None
        assert head.state_in.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("config", [ROWS, LIGHT_ROWS], ids=["stacked", "light"])
def test_exported_graphs_carry_the_rows_and_match_torch(config: AfilModelConfig, tmp_path: Path):
    out = tmp_path / "rows"
    export_model(_model(config), NormStats.identity(config.state_dim, config.action_dim), out)
    manifest = load_manifest(out)
    failure_rows = () if config.stacked_experts else sig.FAILURE_ROW_CACHE
    backbone = [o.name for o in manifest.graphs[sig.BACKBONE].outputs]
    assert backbone[-1 - len(failure_rows) :] == [*sig.ROW_CACHE, *failure_rows]
    assert [i.name for i in manifest.graphs[sig.SUCCESS_EXPERT].inputs][-1] == "rows"
    rng = np.random.default_rng(3)
    for mode in ("adaptive", "none"):
        sampler = SamplerConfig(guidance=GuidanceConfig(mode=GuidanceMode(mode), gamma=1.0))
        eager = make_backend(BackendConfig(model_dir=out, threads=1, sampler=sampler))
        for layout in ("fused", "split"):
            ort = make_backend(BackendConfig(model_dir=out, threads=1, sampler=sampler, backend="onnxruntime",
                                             layout=layout))  # fmt: skip
            obs = Observation(0.0, rng.normal(size=config.state_dim), np.zeros(config.state_dim))
            noise = rng.standard_normal((config.horizon, config.action_dim))
            want = eager.infer(obs, prompt="pick the cube", noise=noise).actions
            got = ort.infer(obs, prompt="pick the cube", noise=noise).actions
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
