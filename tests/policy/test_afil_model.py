"""Dual Action Generator: shapes, both heads in one batched call, state-only and camera subsets."""

from __future__ import annotations

import pytest
import torch

from failforward.policy.afil import AfilModelConfig, DualActionGenerator, GuidanceConfig, GuidanceMode, get_model_preset
from failforward.policy.afil.experts import FAILURE, SUCCESS
from failforward.policy.afil.export import example_inputs


def _model(preset: str, **overrides) -> DualActionGenerator:
    torch.manual_seed(0)
    cfg = get_model_preset(preset).model_copy(update=overrides)
    return DualActionGenerator(AfilModelConfig.model_validate(cfg.model_dump())).eval()


def _obs(model: DualActionGenerator) -> dict[str, torch.Tensor]:
    x = example_inputs(model.config)
    return {k: x[k] for k in ("state", "tokens", "token_mask", "images") if k in x}


@torch.no_grad()
def test_one_batched_call_equals_each_head_alone():
    model = _model("tiny_state")
    obs = _obs(model)
    prefix = model.encode(obs["state"], obs)
    x, tau = torch.randn(1, 8, 4), torch.tensor([0.4])
    both = model.experts(x, tau, model.experts.cache(prefix, 2), 2)
    assert both.shape == (2, 1, 8, 4)
    success_only = model.experts(x, tau, model.experts.cache(prefix, 1), 1)
    torch.testing.assert_close(both[SUCCESS], success_only[0], rtol=1e-5, atol=1e-6)
    # The failure head is a separate set of weights: copying them into the success slot reproduces it.
    swapped = _model("tiny_state")
    state = {
        k: v.flip(0) if v.dim() and v.shape[0] == 2 and "experts" in k else v for k, v in model.state_dict().items()
    }
    swapped.load_state_dict(state)
    failure_alone = swapped.experts(x, tau, swapped.experts.cache(prefix, 1), 1)
    torch.testing.assert_close(both[FAILURE], failure_alone[0], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(both[SUCCESS], both[FAILURE])


@pytest.mark.parametrize("preset", ["tiny_state", "tiny_vision"])
@pytest.mark.parametrize("mode", list(GuidanceMode))
@torch.no_grad()
def test_sample_shapes_and_trace(preset: str, mode: GuidanceMode):
    model = _model(preset)
    obs = _obs(model)
    actions, lam = model.sample(
        obs["state"],
        obs,
        images=obs.get("images"),
        noise=torch.randn(1, 8, 4),
        num_steps=5,
        guidance=GuidanceConfig(mode=mode),
    )
    assert actions.shape == (1, 8, 4) and torch.isfinite(actions).all()
    assert lam.shape == (1, 5)
    assert (lam == 0).all() == (mode is GuidanceMode.NONE)


@torch.no_grad()
def test_camera_subset_and_images_change_the_prefix():
    model = _model("tiny_vision", cameras=("left_wrist",))
    obs = _obs(model)
    assert obs["images"].shape == (1, 1, 32, 32, 3)
    a = model.encode(obs["state"], obs, obs["images"])
    b = model.encode(obs["state"], obs, 255 - obs["images"])
    assert a.tokens.shape == (1, 4 + 1 + 6, 32)  # 2x2 patches of one camera, state, 6 prompt slots
    assert not torch.allclose(a.tokens, b.tokens)


@torch.no_grad()
def test_padded_prompt_tokens_do_not_matter():
    model = _model("tiny_state")
    obs = _obs(model)
    other = obs["tokens"].clone()
    other[~obs["token_mask"]] = 7
    noise = torch.randn(1, 8, 4)
    kw = {"noise": noise, "num_steps": 3, "guidance": GuidanceConfig()}
    a, _ = model.sample(obs["state"], obs, **kw)
    b, _ = model.sample(obs["state"], {**obs, "tokens": other}, **kw)
    torch.testing.assert_close(a, b)


def test_bad_model_config_is_rejected():
    with pytest.raises(ValueError, match="divisible"):
        AfilModelConfig(width=30, attn_heads=4)
    with pytest.raises(ValueError, match="patch_size"):
        AfilModelConfig(cameras=("top",), image_height=100, patch_size=16)


@pytest.mark.parametrize("mode,heads", [(GuidanceMode.ADAPTIVE, 2), (GuidanceMode.STATIC, 2), (GuidanceMode.NONE, 1)])
@torch.no_grad()
def test_one_expert_call_per_euler_step(mode: GuidanceMode, heads: int):
    model = _model("tiny_state")
    calls: list[int] = []
    velocity = model.experts.velocity  # every expert evaluation goes through it (forward included)
    model.experts.velocity = lambda x, t, cache, experts: calls.append(experts) or velocity(x, t, cache, experts)
    obs = _obs(model)
    model.sample(
        obs["state"],
        obs,
        noise=torch.randn(1, 8, 4),
        num_steps=7,
        guidance=GuidanceConfig(mode=mode),
    )
    assert calls == [heads] * 7
