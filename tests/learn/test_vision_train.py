"""The conv image encoder learns from pixels alone, and a vision run (random shift included) resumes exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from failforward.learn.config import TrainConfig
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil import BackendConfig, GuidanceConfig, SamplerConfig, get_model_preset, make_backend
from failforward.types import Observation

torch.set_num_threads(1)
CONV = get_model_preset("tiny_vision_conv")  # 3 cameras, 24x32, width 32
CAMERAS = CONV.cameras


def _frames(goal: float, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` frames per camera: grey noise; the top camera shows a white square on the left (goal +1) or right."""
    frames = {c: rng.integers(60, 120, (n, 24, 32, 3), dtype=np.uint8) for c in CAMERAS}
    x0 = 3 if goal > 0 else 21
    frames["top"][:, 8:16, x0 : x0 + 8] = 255
    return frames


def _episodes(n: int = 8, length: int = 20, seed: int = 0) -> list[EpisodeArrays]:
    """Every episode starts at the same joints; only the top image says whether to go to +1 or −1 [rad]."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        goal = 1.0 if k % 2 == 0 else -1.0
        q = np.linspace(0.0, goal, length)[:, None] * np.ones((1, 4)) + rng.normal(0, 0.01, (length, 4))
        actions = np.vstack([q[1:], q[-1:]])
        out.append(EpisodeArrays(q, actions, "move the arm", True, _frames(goal, length, rng)))
    return out


def _config(out: Path, steps: int, **kw) -> TrainConfig:
    settings = {"batch_size": 16, "lr": 2e-3, "checkpoint_every": 50, "rtc_max_delay": 0, **kw}
    return TrainConfig(model=CONV, out_dir=out, steps=steps, **settings)


def test_vision_run_with_random_shift_resumes_exactly(tmp_path):
    episodes = _episodes(4, 12)
    straight = train(_config(tmp_path / "a", 4, checkpoint_every=2), episodes, progress=False)
    train(_config(tmp_path / "b", 2, checkpoint_every=2), episodes, progress=False)
    resumed = train(_config(tmp_path / "b", 4, checkpoint_every=2), episodes, progress=False)
    assert resumed.losses == straight.losses[2:]
    a = torch.load(straight.checkpoint, weights_only=True)["model"]
    b = torch.load(resumed.checkpoint, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def pixel_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny conv model trained 250 steps on :func:`_episodes` and exported (once per module, ~40 s)."""
    root = tmp_path_factory.mktemp("pixels")
    result = train(_config(root / "run", 250), _episodes(), progress=False)
    assert np.mean(result.losses[-20:]) < 0.5 * np.mean(result.losses[:20])
    export_checkpoint(result.checkpoint, root / "model")
    return root / "model"


@pytest.mark.slow  # ~40 s of training; the image model is not shipped (the default run keeps within 15 minutes)
@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_policy_follows_what_the_top_camera_shows(pixel_model, backend):
    """Same joints, two images: the exported policy must move toward the side the image tells it."""
    unguided = SamplerConfig(guidance=GuidanceConfig(mode="none"))
    policy = make_backend(BackendConfig(backend=backend, model_dir=pixel_model, seed=0, sampler=unguided))
    rng = np.random.default_rng(1)
    ends = {}
    for goal in (1.0, -1.0):
        images = {c: f[0] for c, f in _frames(goal, 1, rng).items()}
        obs = Observation(0.0, np.zeros(4), np.zeros(4), images=images)
        ends[goal] = np.mean([policy.infer(obs, prompt="move the arm").actions[-1].mean() for _ in range(3)])
    assert ends[1.0] > 0.25 and ends[-1.0] < -0.25, ends
