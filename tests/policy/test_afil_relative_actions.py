"""Relative (delta) action dimensions: trained as ``a[t + k] − q[t]``, returned as absolute targets at run time."""

from __future__ import annotations

import afil_helpers
import numpy as np
import pytest

from failforward.learn.config import TrainConfig
from failforward.learn.dataset import ChunkDataset
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil import BackendConfig, get_model_preset, make_backend
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.normalize import action_reference
from failforward.policy.afil.prefix import encode_prefix
from failforward.policy.afil.preprocess import InputEncoder
from failforward.policy.base import RtcSupport
from failforward.types import ChunkPrefix, Observation

RELATIVE = get_model_preset("tiny_state").model_copy(update={"relative_actions": (0, 1, 2)})  # joint 3 absolute


def test_batches_hold_chunk_rows_against_the_first_ticks_joints():
    episodes = afil_helpers.toy_episodes()
    data = ChunkDataset(episodes, RELATIVE, ChunkDataset.fit_norm(episodes, RELATIVE))
    batch = data.collate(np.array([[0, 10]]))
    predicted = data.norm.unnormalize_actions(batch.actions[0])  # [H, A]: what the model learns to output
    q, a = episodes[0].joint_positions[10], episodes[0].actions[10:18]
    np.testing.assert_allclose(predicted[:, :3], a[:, :3] - q[:3], atol=1e-5)
    np.testing.assert_allclose(predicted[:, 3], a[:, 3], atol=1e-5)


def test_relative_norm_stats_are_those_of_the_differences():
    episodes = afil_helpers.toy_episodes()
    absolute, relative = ChunkDataset.fit_norm(episodes), ChunkDataset.fit_norm(episodes, RELATIVE)
    # the arm drifts ±1 rad over an episode but moves little within an 8-row chunk
    assert np.all(relative.action_std[:3] < 0.3 * absolute.action_std[:3])
    assert relative.action_std[3] > 0.8 * absolute.action_std[3]  # the absolute joint keeps its scale


def test_runtime_adds_the_observed_joints_back(tmp_path):
    episodes = afil_helpers.toy_episodes()
    config = TrainConfig(model=RELATIVE, out_dir=tmp_path / "run", steps=3, batch_size=8, rtc_max_delay=0)
    export_checkpoint(train(config, episodes, progress=False).checkpoint, tmp_path / "model")
    policy = make_backend(BackendConfig(backend="onnxruntime", model_dir=tmp_path / "model", seed=0))
    noise = np.random.default_rng(1).standard_normal((8, 4))
    obs = Observation(0.0, np.array([0.3, -0.2, 0.5, 0.1]), np.zeros(4))
    chunk = policy.infer(obs, prompt="move the arm", noise=noise)
    inputs = {**policy.encoder.encode(obs, "move the arm"), "noise": noise[None].astype(np.float32)}
    z, _ = policy.run(inputs)
    raw = policy.encoder.norm.unnormalize_actions(z[0])
    np.testing.assert_allclose(chunk.actions[:, :3], raw[:, :3] + obs.joint_positions[:3], atol=1e-6)
    np.testing.assert_allclose(chunk.actions[:, 3], raw[:, 3], atol=1e-6)


def test_prefix_is_normalized_against_the_new_chunks_joints():
    episodes = afil_helpers.toy_episodes()
    encoder = InputEncoder(RELATIVE, ChunkDataset.fit_norm(episodes, RELATIVE))
    obs = Observation(0.0, np.array([0.3, -0.2, 0.5, 0.1]), np.zeros(4))
    targets = np.tile([0.35, -0.1, 0.5, 0.9], (3, 1))
    support = RtcSupport("training", 5)
    feeds = encode_prefix(ChunkPrefix(targets, delay=3), encoder.norm, 8, support, encoder.reference(obs))
    expected = encoder.norm.normalize_actions(targets - action_reference(obs.state, (0, 1, 2), 4))
    np.testing.assert_allclose(feeds["prefix"][0, :3], expected, atol=1e-6)


@pytest.mark.parametrize("relative", [(4,), (0, 0), (-1,)])
def test_relative_indices_must_name_a_joint_once(relative):
    with pytest.raises(ValueError, match="relative_actions"):
        AfilModelConfig.model_validate({**get_model_preset("tiny_state").model_dump(), "relative_actions": relative})
