"""Shared fixtures of the AFIL policy tests: one exported tiny model per shape, built once per session.

Imported explicitly by the ``test_afil_*`` modules (not a conftest, so other policy tests are unaffected).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)  # shared 2-core machines: more threads are slower (ENVIRONMENT.md)


_EXPORTED: dict[str, Path] = {}
PRECISIONS = {
    "tiny_state": ("fp32", "fp16"),
    "tiny_vision": ("fp32",),
    "tiny_vision_conv": ("fp32",),
}  # fp16 export once: it costs seconds


def _export(tmp_path_factory: pytest.TempPathFactory, preset: str) -> Path:
    """Export a random-weight model once per test session (shared by every module that uses the fixtures)."""
    if preset in _EXPORTED:
        return _EXPORTED[preset]
    from failforward.policy.afil import DualActionGenerator, NormStats, get_model_preset
    from failforward.policy.afil.export import export_model

    torch.manual_seed(0)
    cfg = get_model_preset(preset)
    model = perturb_affine(DualActionGenerator(cfg))
    norm = NormStats.identity(cfg.state_dim, cfg.action_dim)
    norm = NormStats(norm.state_mean + 0.1, norm.state_std * 2.0, norm.action_mean - 0.3, norm.action_std * 0.5)
    out = tmp_path_factory.mktemp("models") / f"afil_{preset}"
    export_model(model, norm, out, precisions=PRECISIONS[preset])
    _EXPORTED[preset] = out
    return out


def perturb_affine(model: torch.nn.Module, scale: float = 0.2, seed: int = 1) -> torch.nn.Module:
    """Give every bias and layer-norm gain/shift random values (a fresh model has zeros and ones there,
    which would hide any mistake in how an exported graph folds them)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(torch.randn(p.shape, generator=g) * scale)
    return model


@pytest.fixture(scope="session")
def tiny_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(tmp_path_factory, "tiny_state")


@pytest.fixture(scope="session")
def tiny_vision_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export(tmp_path_factory, "tiny_vision")


@pytest.fixture(scope="session")
def tiny_vision_conv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The conv (ResNet/GroupNorm + spatial softmax) image encoder, three 24x32 cameras."""
    return _export(tmp_path_factory, "tiny_vision_conv")


def toy_episodes(n_success: int = 4, n_failure: int = 4, length: int = 30, seed: int = 0, cameras=()):
    """Synthetic 4-joint episodes: from the same start, successes drift to +1, failures to −1 [rad]."""
    import numpy as np

    from failforward.learn.episodes import EpisodeArrays

    rng = np.random.default_rng(seed)
    episodes = []
    for k in range(n_success + n_failure):
        goal = 1.0 if k < n_success else -1.0
        start = rng.normal(0.0, 0.05, 4)
        ramp = np.linspace(0.0, 1.0, length)[:, None]
        q = start + ramp * (goal - start) + rng.normal(0, 0.01, (length, 4))
        actions = np.vstack([q[1:], q[-1:]])
        images = {c: rng.integers(0, 256, (length, 32, 32, 3), dtype=np.uint8) for c in cameras}
        episodes.append(EpisodeArrays(q, actions, "move the arm", k < n_success, images))
    return episodes
