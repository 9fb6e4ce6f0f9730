"""Fine-tuning with appended state features (``learn.widen_state``): the widened model computes what the trained one
did, its norm stats keep the trained values for the old numbers, and anything but appended features is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from failforward.errors import ConfigError
from failforward.learn.config import TrainConfig
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.trainer import export_checkpoint, train
from failforward.learn.widen_state import widen_state_input
from failforward.policy.afil import DualActionGenerator, GuidanceConfig, NormStats, get_model_preset
from failforward.policy.afil.export import example_inputs
from failforward.policy.afil.state_features import ALOHA_ARM_COLUMNS
from failforward.policy.afil.weights import load_weights

TRAINED = get_model_preset("tiny_state").model_copy(
    update={
        "action_dim": 14,
        "state_dim": 14 + 7,
        "state_features": ("aloha_tool_offsets",),
        "mean_head": True,
        "done_head": True,
    }
)
WIDE = TRAINED.model_copy(  # the run's state_norm fits the new numbers' stats
    update={"state_features": ("aloha_tool_offsets", "aloha_joint_offsets"), "state_norm": "robust"}
)
EXTRA = WIDE.input_state_dim - TRAINED.input_state_dim


def _trained() -> DualActionGenerator:
    torch.manual_seed(0)
    model = DualActionGenerator(TRAINED)
    with torch.no_grad():  # every parameter away from its initial value, as after training
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model.eval()


def _norm(dim: int, offset: float) -> NormStats:
    return NormStats(np.full(dim, offset), np.full(dim, 2.0 + offset), np.zeros(14), np.ones(14))


def test_the_widened_model_computes_what_the_trained_one_did_whatever_the_new_numbers() -> None:
    trained = _trained()
    wide, norm = widen_state_input(trained, _norm(TRAINED.input_state_dim, 0.0), WIDE, _norm(WIDE.input_state_dim, 5.0))
    inputs = example_inputs(TRAINED)
    prompt = {k: inputs[k].expand(3, *inputs[k].shape[1:]) for k in ("tokens", "token_mask")}
    state = torch.randn(3, TRAINED.input_state_dim)
    widened_state = torch.cat([state, 10.0 * torch.randn(3, EXTRA)], dim=1)
    noise = torch.randn(3, TRAINED.horizon, 14)
    guidance = GuidanceConfig(mode="adaptive", gamma=1.0)
    with torch.no_grad():
        before, _ = trained.sample(state, prompt, noise=noise, num_steps=4, guidance=guidance)
        after, _ = wide.eval().sample(widened_state, prompt, noise=noise, num_steps=4, guidance=guidance)
        done = trained.done_probability(state, prompt), wide.done_probability(widened_state, prompt)
    torch.testing.assert_close(after, before)
    torch.testing.assert_close(done[1], done[0])
    np.testing.assert_array_equal(norm.state_mean, np.r_[np.zeros(TRAINED.input_state_dim), np.full(EXTRA, 5.0)])
    np.testing.assert_array_equal(norm.state_std, np.r_[np.full(TRAINED.input_state_dim, 2.0), np.full(EXTRA, 7.0)])


@pytest.mark.parametrize(
    "change",
    [
        {"state_features": ("aloha_joint_offsets", "aloha_tool_offsets")},  # the old feature no longer first
        {"state_features": ("aloha_tool_offsets", "aloha_joint_offsets"), "width": 48},  # the shape changed too
    ],
)
def test_anything_but_appended_features_is_refused(change: dict) -> None:
    config = TRAINED.model_copy(update=change)
    with pytest.raises(ConfigError, match="widen"):
        widen_state_input(_trained(), _norm(TRAINED.input_state_dim, 0.0), config, _norm(config.input_state_dim, 0.0))


def test_fine_tuning_from_weights_with_fewer_features_starts_from_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    episodes = []
    for k in range(4):
        joints = np.zeros((20, 14))
        joints[:, list(ALOHA_ARM_COLUMNS)] = rng.normal(0.0, 0.3, (20, 12))
        pose = np.c_[rng.uniform(-0.2, 0.2, (20, 2)), np.full(20, 0.02), np.tile([1.0, 0, 0, 0], (20, 1))]
        episodes.append(EpisodeArrays(joints, joints, "reach", k < 3, object_state=pose))
    base = TrainConfig(model=TRAINED, out_dir=tmp_path / "base", steps=2, batch_size=4, rtc_max_delay=0)
    export_checkpoint(train(base, episodes, progress=False).checkpoint, tmp_path / "base_model")
    weights = tmp_path / "base_model" / "weights.pt"
    wide = TrainConfig(  # one step of a vanishing learning rate: the model as it starts
        model=WIDE, out_dir=tmp_path / "wide", steps=1, batch_size=4, rtc_max_delay=0, init_weights=weights, lr=1e-12
    )
    export_checkpoint(train(wide, episodes, progress=False).checkpoint, tmp_path / "wide_model")
    model, norm = load_weights(tmp_path / "wide_model" / "weights.pt")
    trained, trained_norm = load_weights(weights)
    assert model.config == WIDE and norm.state_mean.shape == (WIDE.input_state_dim,)
    np.testing.assert_array_equal(norm.state_mean[: TRAINED.input_state_dim], trained_norm.state_mean)
    weight = model.backbone.state[0].weight.detach()
    assert weight[:, TRAINED.input_state_dim :].abs().max().item() < 1e-9
    torch.testing.assert_close(
        weight[:, : TRAINED.input_state_dim], trained.backbone.state[0].weight, atol=1e-9, rtol=0
    )


def test_a_model_reading_the_state_in_every_row_is_not_widened() -> None:
    rows = TRAINED.model_copy(update={"state_in_rows": True})
    wide = rows.model_copy(update={"state_features": WIDE.state_features})
    with pytest.raises(ConfigError, match="state_in_rows"):
        widen_state_input(
            DualActionGenerator(rows), _norm(rows.input_state_dim, 0.0), wide, _norm(WIDE.input_state_dim, 0.0)
        )
