"""Contract test: every available backend agrees with torch eager on fixed noise (cosine ≥ 0.999).

Max abs differences are logged and attached to the test report (``record_property``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import afil_helpers
import numpy as np
import pytest

from failforward.errors import UnknownNameError
from failforward.policy.afil import BackendConfig, GuidanceConfig, GuidanceMode, SamplerConfig, make_backend
from failforward.policy.afil.backends import AfilBackend, backend_class
from failforward.policy.afil.errors import BackendUnavailableError
from failforward.types import Observation

tiny_state_dir = afil_helpers.tiny_state_dir  # session fixtures: exported tiny models
tiny_vision_dir = afil_helpers.tiny_vision_dir
tiny_vision_conv_dir = afil_helpers.tiny_vision_conv_dir

logger = logging.getLogger(__name__)

GPU = pytest.mark.gpu
CANDIDATES = [  # backend, device, layout, precision
    pytest.param("onnxruntime", "cpu", "fused", "fp32", id="ort-cpu-fused"),
    pytest.param("onnxruntime", "cpu", "split", "fp32", id="ort-cpu-split"),
    pytest.param("onnxruntime", "cpu", "fused", "fp16", id="ort-cpu-fused-fp16"),
    pytest.param("onnxruntime", "cuda", "fused", "fp32", id="ort-cuda-fused", marks=GPU),
    pytest.param("onnxruntime", "cuda", "fused", "fp16", id="ort-cuda-fused-fp16", marks=GPU),
    pytest.param("tensorrt", "cuda", "fused", "fp32", id="trt-fused", marks=GPU),
    pytest.param("tensorrt", "cuda", "split", "fp32", id="trt-split", marks=GPU),
    pytest.param("tensorrt", "cuda", "fused", "fp16", id="trt-fused-fp16", marks=GPU),
    pytest.param("torch", "cuda", "fused", "fp32", id="torch-cuda", marks=GPU),
]
# Max abs difference [normalized action units x action_std] allowed per precision; cosine >= 0.999 always.
TOLERANCE = {"fp32": 1e-3, "fp16": 5e-2}


def observation(model_dir: Path, seed: int = 0) -> Observation:
    from failforward.policy.afil import load_manifest

    cfg = load_manifest(model_dir).model
    rng = np.random.default_rng(seed)
    images = {c: rng.integers(0, 256, (cfg.image_height, cfg.image_width, 3), dtype=np.uint8) for c in cfg.cameras}
    return Observation(0.0, rng.normal(size=cfg.state_dim), np.zeros(cfg.state_dim), images=images)


def build(kind: str, model_dir: Path, mode: GuidanceMode, **kw) -> AfilBackend:
    sampler = SamplerConfig(guidance=GuidanceConfig(mode=mode))
    try:
        return make_backend(BackendConfig(backend=kind, model_dir=model_dir, sampler=sampler, **kw))
    except BackendUnavailableError as exc:
        pytest.skip(str(exc))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a.ravel() @ b.ravel() / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.parametrize("kind,device,layout,precision", CANDIDATES)
@pytest.mark.parametrize("mode", [GuidanceMode.ADAPTIVE, GuidanceMode.STATIC, GuidanceMode.NONE])
@pytest.mark.parametrize("model", ["tiny_state_dir", "tiny_vision_dir", "tiny_vision_conv_dir"])
def test_backend_agrees_with_torch(kind, device, layout, precision, mode, model, request, record_property):
    if precision not in afil_helpers.PRECISIONS[model.removesuffix("_dir")]:
        pytest.skip(f"{model} is exported without {precision} graphs")
    model_dir = request.getfixturevalue(model)
    reference = build("torch", model_dir, mode)
    backend = build(kind, model_dir, mode, device=device, layout=layout, precision=precision)
    obs = observation(model_dir)
    for seed in range(3):
        noise = np.random.default_rng(seed).standard_normal(reference.encoder.noise(None, reference.rng).shape[1:])
        want = reference.infer(obs, prompt="pick up the red cube", noise=noise)
        got = backend.infer(obs, prompt="pick up the red cube", noise=noise)
        diff = float(np.abs(got.actions - want.actions).max())
        record_property(f"max_abs_diff_seed{seed}", diff)
        logger.info("%s/%s/%s %s: max abs diff %.2e", kind, layout, mode.value, model, diff)
        assert cosine(got.actions, want.actions) >= 0.999
        assert diff < TOLERANCE[precision]
        assert got.guidance.shape == want.guidance.shape == ((0,) if mode is GuidanceMode.NONE else (10,))
        np.testing.assert_allclose(got.guidance, want.guidance, atol=TOLERANCE[precision] / 10)
        assert got.actions.shape == want.actions.shape


def test_noise_changes_the_chunk_and_same_noise_reproduces_it(tiny_state_dir):
    backend = build("onnxruntime", tiny_state_dir, GuidanceMode.ADAPTIVE)
    obs = observation(tiny_state_dir)
    noise = np.random.default_rng(0).standard_normal((8, 4))
    a = backend.infer(obs, noise=noise)
    np.testing.assert_array_equal(a.actions, backend.infer(obs, noise=noise).actions)
    assert not np.allclose(a.actions, backend.infer(obs, noise=-noise).actions)
    assert not np.allclose(a.actions, backend.infer(obs).actions)


def test_unknown_backend_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'onnxruntime'"):
        backend_class("onnxruntim")


def test_guided_chunk_differs_from_unguided(tiny_state_dir):
    obs = observation(tiny_state_dir)
    noise = np.random.default_rng(3).standard_normal((8, 4))
    guided = build("onnxruntime", tiny_state_dir, GuidanceMode.ADAPTIVE).infer(obs, noise=noise)
    plain = build("onnxruntime", tiny_state_dir, GuidanceMode.NONE).infer(obs, noise=noise)
    assert np.all(guided.guidance > 0)
    assert not np.allclose(guided.actions, plain.actions, atol=1e-3)


def test_onnxruntime_backend_runs_without_torch(tiny_state_dir):
    """The robot PC may have onnxruntime but no torch: the ORT path must not import it."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; sys.modules['torch'] = None\n"
        "from failforward.policy.afil import BackendConfig, make_backend\n"
        "from failforward.types import Observation\n"
        f"p = make_backend(BackendConfig(model_dir={str(tiny_state_dir)!r}, layout='split'))\n"
        "print(p.infer(Observation(0.0, np.zeros(4), np.zeros(4))).actions.shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(8, 4)"
