"""Training: flow-matching loss falls, disjoint supervision, exact resume, export, MCAP episodes."""

from __future__ import annotations

from pathlib import Path

import afil_helpers
import numpy as np
import pytest
import torch

from failforward.learn.config import TrainConfig
from failforward.learn.dataset import ChunkDataset
from failforward.learn.flow_loss import flow_matching_loss
from failforward.learn.trainer import LAST, export_checkpoint, train
from failforward.policy.afil import BackendConfig, DualActionGenerator, get_model_preset, make_backend
from failforward.types import Observation

TINY = get_model_preset("tiny_state")


def _config(tmp_path: Path, **kw) -> TrainConfig:
    return TrainConfig(
        **{"model": TINY, "out_dir": tmp_path / "run", "batch_size": 16, "lr": 1e-3, "checkpoint_every": 5, **kw}
    )


def test_loss_falls(tmp_path):
    result = train(_config(tmp_path, steps=60), afil_helpers.toy_episodes(), progress=False)
    assert np.mean(result.losses[-10:]) < 0.6 * np.mean(result.losses[:10])
    assert result.step == 60 and result.checkpoint.name == "checkpoint_0000060.pt"
    assert (tmp_path / "run" / LAST).is_file()


def test_resume_continues_exactly(tmp_path):
    episodes = afil_helpers.toy_episodes()
    straight = train(_config(tmp_path / "a", steps=6), episodes, progress=False)
    train(_config(tmp_path / "b", steps=3), episodes, progress=False)
    resumed = train(_config(tmp_path / "b", steps=6), episodes, progress=False)
    assert len(resumed.losses) == 3
    assert resumed.losses == straight.losses[3:]
    a = torch.load(straight.checkpoint, weights_only=True)["model"]
    b = torch.load(resumed.checkpoint, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("to_backbone", [False, True])
def test_failure_samples_train_only_the_failure_head(to_backbone):
    torch.manual_seed(0)
    model = DualActionGenerator(TINY)
    data = ChunkDataset(afil_helpers.toy_episodes(), TINY, ChunkDataset.fit_norm(afil_helpers.toy_episodes()))
    batch = data.sample(np.random.default_rng(0), 8, failure_fraction=1.0)
    assert batch.failure.all()
    fields = {**batch.prompt, "state": batch.state, "actions": batch.actions, "failure": batch.failure}
    tensors = {k: torch.from_numpy(v) for k, v in fields.items()}
    loss, metrics = flow_matching_loss(model, tensors, torch.Generator().manual_seed(0), to_backbone)
    loss.backward()
    assert metrics["loss_success"] == 0.0 and metrics["loss_failure"] > 0
    success_grad = model.experts.action_out.weight.grad[0].abs().sum()
    failure_grad = model.experts.action_out.weight.grad[1].abs().sum()
    backbone_grad = sum(p.grad.abs().sum() for p in model.backbone.parameters() if p.grad is not None)
    assert success_grad == 0 and failure_grad > 0
    assert (backbone_grad > 0) == to_backbone


def test_chunks_past_the_end_hold_the_last_action():
    episodes = afil_helpers.toy_episodes(1, 0, length=5)
    data = ChunkDataset(episodes, TINY, ChunkDataset.fit_norm(episodes))
    batch = data.collate(np.array([[0, 3]]))
    actions = data.norm.unnormalize_actions(batch.actions[0])
    np.testing.assert_allclose(actions[:2], episodes[0].actions[3:5], atol=1e-5)
    np.testing.assert_allclose(actions[2:], np.repeat(episodes[0].actions[4:], 6, axis=0), atol=1e-5)


def test_exported_checkpoint_runs_with_its_norm_stats(tmp_path):
    episodes = afil_helpers.toy_episodes()
    result = train(_config(tmp_path, steps=5), episodes, progress=False)
    manifest = export_checkpoint(result.checkpoint, tmp_path / "model")
    norm = ChunkDataset.fit_norm(episodes)
    np.testing.assert_allclose(manifest.norm_stats.action_mean, norm.action_mean)
    policy = make_backend(BackendConfig(backend="onnxruntime", model_dir=tmp_path / "model"))
    chunk = policy.infer(Observation(0.0, episodes[0].joint_positions[0], np.zeros(4)), prompt="move the arm")
    assert chunk.actions.shape == (8, 4) and chunk.guidance.shape == (10,)


def test_object_state_is_part_of_the_state_input(tmp_path):
    """Episodes with object poses train a model whose state is joints + objects; the policy reads obs.state."""
    from failforward.errors import ShapeError
    from failforward.learn.episodes import EpisodeArrays

    poses = np.tile([0.1, 0.5, 0.05, 1.0, 0.0, 0.0, 0.0], (30, 1))
    episodes = [
        EpisodeArrays(e.joint_positions, e.actions, e.prompt, e.success, object_state=poses + 0.01 * i)
        for i, e in enumerate(afil_helpers.toy_episodes())
    ]
    with pytest.raises(ShapeError, match=r"11 \(4 joints \+ 7 object state\)"):
        ChunkDataset(episodes, TINY, ChunkDataset.fit_norm(episodes))
    model = TINY.model_copy(update={"state_dim": 11})
    assert ChunkDataset(episodes, model, ChunkDataset.fit_norm(episodes)).sample(
        np.random.default_rng(0), 8, 0.5
    ).state.shape == (8, 11)
    result = train(_config(tmp_path, steps=2, model=model), episodes, progress=False)
    export_checkpoint(result.checkpoint, tmp_path / "model")
    policy = make_backend(BackendConfig(backend="onnxruntime", model_dir=tmp_path / "model"))
    obs = Observation(0.0, episodes[0].joint_positions[0], np.zeros(4), object_state=poses[0])
    assert policy.infer(obs, prompt="move the arm").actions.shape == (8, 4)
    with pytest.raises(ShapeError, match="4 joints \\+ 0 object state"):
        policy.infer(Observation(0.0, episodes[0].joint_positions[0], np.zeros(4)), prompt="move the arm")


def test_resume_refuses_another_model(tmp_path):
    from failforward.errors import ConfigError

    train(_config(tmp_path, steps=1), afil_helpers.toy_episodes(), progress=False)
    other = _config(tmp_path, steps=2).model_copy(update={"model": TINY.model_copy(update={"width": 64})})
    with pytest.raises(ConfigError, match="different model config"):
        train(other, afil_helpers.toy_episodes(), progress=False)


def test_vision_training_step(tmp_path):
    cfg = TrainConfig(model=get_model_preset("tiny_vision"), out_dir=tmp_path, steps=2, batch_size=4)
    result = train(cfg, afil_helpers.toy_episodes(2, 2, cameras=("top", "left_wrist")), progress=False)
    assert len(result.losses) == 2 and all(np.isfinite(result.losses))


@pytest.mark.slow
def test_learned_failure_head_repels_guided_samples(tmp_path):
    """End to end on toy data: successes go to +1 rad, failures to −1 rad from the same start.

    After training, guided chunks end farther from the failure mode than unguided ones, and λ_t > 0.
    """
    episodes = afil_helpers.toy_episodes(8, 8, length=30)
    result = train(_config(tmp_path, steps=400, batch_size=32, checkpoint_every=400), episodes, progress=False)
    export_checkpoint(result.checkpoint, tmp_path / "model")
    obs = Observation(0.0, episodes[0].joint_positions[10], np.zeros(4))
    ends = {}
    for mode in ("none", "adaptive"):
        sampler = {"guidance": {"mode": mode, "gamma": 1.0}}
        policy = make_backend(BackendConfig.model_validate({"model_dir": tmp_path / "model", "sampler": sampler}))
        chunks = [
            policy.infer(obs, prompt="move the arm", noise=np.random.default_rng(s).standard_normal((8, 4)))
            for s in range(32)
        ]
        ends[mode] = np.mean([c.actions[-1].mean() for c in chunks])
        if mode == "adaptive":
            assert np.mean([c.guidance.mean() for c in chunks]) > 0.01
    assert ends["none"] > 0  # the success head heads for +1
    assert ends["adaptive"] > ends["none"] + 0.01  # guidance pushes further from the failure mode at −1


def test_model_without_failure_data_refuses_guidance(tmp_path):
    from failforward.policy.afil import GuidanceConfig, ManifestError, SamplerConfig

    result = train(_config(tmp_path, steps=2), afil_helpers.toy_episodes(2, 0), progress=False)
    manifest = export_checkpoint(result.checkpoint, tmp_path / "model")
    assert (manifest.training.success_ticks, manifest.training.failure_ticks) == (60, 0)
    with pytest.raises(ManifestError, match="failure head was never trained"):
        make_backend(BackendConfig(model_dir=tmp_path / "model"))
    plain = SamplerConfig(guidance=GuidanceConfig(mode="none"))
    assert make_backend(BackendConfig(model_dir=tmp_path / "model", sampler=plain)).infer(
        Observation(0.0, np.zeros(4), np.zeros(4))
    ).guidance.shape == (0,)
