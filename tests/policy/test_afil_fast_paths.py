"""The optimised sampling paths equal the slow reference computation (``afil_reference``) within 1e-5.

Optimised = heads batched on the expert axis, prefix keys/values and τ conditioning computed once per
chunk, success head only when unguided; checked for torch eager and for the onnxruntime fused and split
graphs, on fixed noise. Also: exported graphs evaluate both heads as one batched computation, and model
directories exported before ``experts_success`` existed still run the split layout unchanged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import afil_helpers
import numpy as np
import pytest
import torch
from afil_reference import reference_sample

from failforward.policy.afil import (
    BackendConfig,
    DualActionGenerator,
    GuidanceConfig,
    GuidanceMode,
    SamplerConfig,
    get_model_preset,
    make_backend,
)
from failforward.policy.afil import signature as sig
from failforward.policy.afil.export import example_inputs
from failforward.policy.afil.manifest import MANIFEST_FILE
from failforward.policy.afil.weights import load_weights
from failforward.types import Observation

tiny_state_dir = afil_helpers.tiny_state_dir
tiny_vision_dir = afil_helpers.tiny_vision_dir

ATOL = 1e-5  # normalized action units
MODES = [GuidanceMode.ADAPTIVE, GuidanceMode.STATIC, GuidanceMode.NONE]


def _obs_tensors(model: DualActionGenerator) -> dict[str, torch.Tensor]:
    x = example_inputs(model.config)
    return {k: x[k] for k in ("state", "tokens", "token_mask", "images") if k in x}


@pytest.mark.parametrize("preset", ["tiny_state", "tiny_vision"])
@pytest.mark.parametrize("mode", MODES)
@torch.no_grad()
def test_torch_sample_equals_reference(preset: str, mode: GuidanceMode):
    torch.manual_seed(0)
    model = afil_helpers.perturb_affine(DualActionGenerator(get_model_preset(preset))).eval()
    obs = {k: v.expand(2, *v.shape[1:]) for k, v in _obs_tensors(model).items()}  # batch 2: per-sample λ
    noise = torch.randn(2, 8, 4, generator=torch.Generator().manual_seed(1))
    guidance = GuidanceConfig(mode=mode, gamma=3.0, clamp=2.0)
    got, lam = model.sample(
        obs["state"], obs, images=obs.get("images"),
        noise=noise, num_steps=10, guidance=guidance,
    )  # fmt: skip
    want, want_lam = reference_sample(model, obs, noise, 10, guidance)
    torch.testing.assert_close(got, want, rtol=0, atol=ATOL)
    torch.testing.assert_close(lam, want_lam, rtol=0, atol=ATOL)
    assert (lam > 0).all() == (mode is not GuidanceMode.NONE)


@torch.no_grad()
def test_precomputed_time_conditioning_equals_per_step():
    torch.manual_seed(0)
    model = DualActionGenerator(get_model_preset("tiny_state")).eval()
    obs = _obs_tensors(model)
    cache = model.experts.cache(model.encode(obs["state"], obs), 2)
    x = torch.randn(1, 8, 4)
    per_call, grid = model.dual_field(cache), model.dual_field(cache, num_steps=7)
    for k in range(7):
        tau = torch.full((1,), k * (1.0 / 7), dtype=torch.float32)
        for a, b in zip(per_call(x, tau), grid(x, tau), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def _prepared(backend, seed: int) -> dict[str, np.ndarray]:
    cfg = backend.manifest.model
    rng = np.random.default_rng(seed)
    images = {c: rng.integers(0, 256, (cfg.image_height, cfg.image_width, 3), dtype=np.uint8) for c in cfg.cameras}
    obs = Observation(0.0, rng.normal(size=cfg.state_dim), np.zeros(cfg.state_dim), images=images)
    inputs = backend.encoder.encode(obs, "pick up the red cube")
    inputs["noise"] = rng.standard_normal((1, cfg.horizon, cfg.action_dim)).astype(np.float32)
    return inputs


def _backend(model_dir: Path, mode: GuidanceMode, **kw):
    sampler = SamplerConfig(guidance=GuidanceConfig(mode=mode))
    return make_backend(BackendConfig(model_dir=model_dir, sampler=sampler, **kw))


@pytest.mark.parametrize("layout", ["fused", "split"])
@pytest.mark.parametrize("mode", [GuidanceMode.ADAPTIVE, GuidanceMode.NONE])
@pytest.mark.parametrize("model_dir", ["tiny_state_dir", "tiny_vision_dir"])
def test_onnxruntime_equals_reference(layout: str, mode: GuidanceMode, model_dir: str, request):
    directory = request.getfixturevalue(model_dir)
    backend = _backend(directory, mode, backend="onnxruntime", layout=layout)
    model, _ = load_weights(directory / backend.manifest.weights)
    for seed in range(2):
        inputs = _prepared(backend, seed)
        got, lam = backend.run(inputs)
        obs = {k: torch.from_numpy(v) for k, v in inputs.items() if k != "noise"}
        want, want_lam = reference_sample(model, obs, torch.from_numpy(inputs["noise"]), 10, GuidanceConfig(mode=mode))
        assert float(np.abs(got - want.numpy()).max()) < ATOL
        if mode is GuidanceMode.NONE:
            assert lam.shape == (1, 0)
        else:
            np.testing.assert_allclose(lam, want_lam.numpy(), rtol=0, atol=ATOL)


def test_split_unguided_runs_the_success_head_only(tiny_state_dir):
    assert _backend(tiny_state_dir, GuidanceMode.NONE, layout="split").stems == (sig.BACKBONE, sig.SUCCESS_EXPERT)
    assert _backend(tiny_state_dir, GuidanceMode.ADAPTIVE, layout="split").stems == (sig.BACKBONE, sig.EXPERTS)


def test_export_without_success_expert_graph_still_runs_split(tiny_state_dir, tmp_path):
    """A model directory from before ``experts_success`` existed: unguided split falls back to ``experts``."""
    old = tmp_path / "old_export"
    shutil.copytree(tiny_state_dir, old)
    manifest = json.loads((old / MANIFEST_FILE).read_text())
    for stem in [s for s in manifest["graphs"] if s.startswith(sig.SUCCESS_EXPERT)]:
        file = manifest["graphs"].pop(stem)["file"]
        manifest["files"].pop(file)
        (old / file).unlink()
    (old / MANIFEST_FILE).write_text(json.dumps(manifest))
    legacy = _backend(old, GuidanceMode.NONE, layout="split")
    current = _backend(tiny_state_dir, GuidanceMode.NONE, layout="split")
    assert legacy.stems == (sig.BACKBONE, sig.EXPERTS)
    inputs = _prepared(current, 0)
    np.testing.assert_allclose(legacy.run(inputs)[0], current.run(inputs)[0], rtol=0, atol=1e-6)


def _expert_weight_axes(path: Path, tmp_path: Path) -> list[int]:
    """Leading (expert) dim of the weights ``[E, 1, D_in, D_out]`` of every MatMul onnxruntime runs for ``path``.

    Read from onnxruntime's own optimised graph (basic level: constant folding, common subexpressions),
    so weights folded at export or at session start count once, as they run.
    """
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(tmp_path / f"{path.stem}.basic.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    graph = onnx.load(options.optimized_model_filepath).graph
    weights = {i.name: numpy_helper.to_array(i).shape for i in graph.initializer}
    rhs = [weights.get(n.input[1]) for n in graph.node if n.op_type == "MatMul"]
    return [shape[0] for shape in rhs if shape is not None and len(shape) == 4]


def test_exported_graphs_batch_the_heads_and_hoist_step_invariants(tiny_state_dir, tmp_path):
    """Guided = the unguided graph's MatMuls with both heads' weights stacked (E = 2), not a second subgraph;
    the prefix keys/values and the time MLP are outside the N unrolled Euler steps."""
    axes = {
        stem: _expert_weight_axes(tiny_state_dir / f"{stem}.onnx", tmp_path)
        for stem in (sig.GUIDED_SAMPLER, sig.UNGUIDED_SAMPLER, sig.BACKBONE, sig.EXPERTS, sig.SUCCESS_EXPERT)
    }
    guided, unguided, backbone = axes[sig.GUIDED_SAMPLER], axes[sig.UNGUIDED_SAMPLER], axes[sig.BACKBONE].count(1)
    assert set(unguided) == {1} and set(axes[sig.SUCCESS_EXPERT]) == {1} and set(axes[sig.EXPERTS]) == {2}
    assert guided.count(1) == backbone and guided.count(2) == len(unguided) - backbone
    per_step = len(axes[sig.EXPERTS]) - 2  # the experts graph takes τ as an input: minus time_in, time_out
    layers = get_model_preset("tiny_state").expert_layers
    assert guided.count(2) == 10 * per_step + layers  # N steps + cross_kv once per layer; τ MLP folded away
