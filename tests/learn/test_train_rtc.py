"""Training-time real-time chunking in the learning pipeline: prefixes drawn, their rows out of the loss, the
max delay recorded in the manifest, fine-tuning from a model directory, legacy runs read as trained without."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from failforward.errors import ConfigError
from failforward.learn.config import TrainConfig
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.flow_loss import _row_errors, prefix_rows
from failforward.learn.pipeline import PipelineConfig
from failforward.learn.run_state import RunState
from failforward.learn.trainer import checkpoint_prefix_delay, export_checkpoint, train
from failforward.policy.afil import (
    BackendConfig,
    DualActionGenerator,
    NormStats,
    get_model_preset,
    make_backend,
)
from failforward.policy.afil.weights import save_weights

torch.set_num_threads(1)
TINY = get_model_preset("tiny_state")  # horizon 8


def episodes(n: int = 4, length: int = 20) -> list[EpisodeArrays]:
    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        q = np.linspace(0.0, 1.0, length)[:, None] * rng.normal(1.0, 0.1, 4)
        out.append(EpisodeArrays(q, np.vstack([q[1:], q[-1:]]), "move", k % 2 == 0, {}))
    return out


def test_prefix_delays_cover_zero_to_d_and_none_when_off():
    rows = prefix_rows(4000, 8, 5, torch.Generator().manual_seed(0))
    delays = rows.sum(1)
    assert set(delays.tolist()) == set(range(6))
    assert torch.all(rows[:, :-1] >= rows[:, 1:])  # a prefix: True rows first
    assert prefix_rows(4, 8, 0, torch.Generator()) is None


def test_frozen_rows_are_out_of_the_loss():
    target = torch.zeros(1, 4, 2)
    v = torch.zeros(2, 1, 4, 2)
    v[:, :, :2] = 100.0  # huge error on the two prefix rows
    v[:, :, 2:] = 1.0
    frozen = torch.tensor([[True, True, False, False]])
    torch.testing.assert_close(_row_errors(v, target, frozen), torch.ones(2, 1))
    assert _row_errors(v, target, None)[0, 0] > 1000


def test_max_delay_is_capped_below_the_horizon(tmp_path):
    assert TrainConfig(model=TINY, out_dir=tmp_path).prefix_delay == 7  # default 20, horizon 8
    assert TrainConfig(model=TINY, out_dir=tmp_path, rtc_max_delay=3).prefix_delay == 3


def test_export_records_the_max_delay_and_legacy_checkpoints_none(tmp_path):
    cfg = TrainConfig(model=TINY, out_dir=tmp_path / "a", steps=3, batch_size=8, rtc_max_delay=3)
    checkpoint = train(cfg, episodes(), progress=False).checkpoint
    manifest = export_checkpoint(checkpoint, tmp_path / "model_a")
    assert manifest.prefix_training is not None and manifest.prefix_training.max_delay == 3
    policy = make_backend(BackendConfig(backend="onnxruntime", model_dir=tmp_path / "model_a"))
    assert (policy.rtc.method, policy.rtc.max_delay) == ("training", 3)

    legacy = torch.load(checkpoint, weights_only=True)["config"]
    del legacy["rtc_max_delay"]  # written before training-time RTC existed: exported without prefix_training
    assert checkpoint_prefix_delay(legacy) == 0


def test_fine_tuning_starts_from_the_weights_and_their_norm_stats(tmp_path):
    torch.manual_seed(0)
    model, norm = DualActionGenerator(TINY), NormStats.identity(4, 4)
    save_weights(model, norm, tmp_path / "weights.pt")
    tune = TrainConfig(
        model=TINY, out_dir=tmp_path / "c", steps=1, batch_size=8, lr=1e-9, init_weights=tmp_path / "weights.pt"
    )
    state = torch.load(train(tune, episodes(), progress=False).checkpoint, weights_only=True)
    assert state["norm"] == norm.to_dict()  # not refitted to the data
    torch.testing.assert_close(state["model"]["experts.chunk_pos"], model.experts.chunk_pos.detach(), atol=1e-6, rtol=0)
    other = tune.model_copy(update={"model": TINY.model_copy(update={"width": 16}), "out_dir": tmp_path / "d"})
    with pytest.raises(ConfigError, match="fine-tune with the model shape"):
        train(other, episodes(), progress=False)


def test_runs_stored_before_rtc_read_as_trained_without_prefixes(tmp_path):
    RunState.open(tmp_path, PipelineConfig())
    data = json.loads((tmp_path / "state.json").read_text())
    assert data["config"]["rtc_max_delay"] == 20  # new runs: on by default
    del data["config"]["rtc_max_delay"]
    (tmp_path / "state.json").write_text(json.dumps(data))
    assert RunState.open(tmp_path).config.rtc_max_delay == 0


def test_the_shipped_model_was_trained_for_prefixes():
    from pathlib import Path

    from failforward.config import get_preset
    from failforward.policy.afil import load_manifest

    root = Path(__file__).resolve().parents[2]
    manifest = load_manifest(root / get_preset("sim_transfer_cube_afil").policy.model_dir)
    assert manifest.prefix_training is not None and manifest.prefix_training.max_delay == 20
    for graph in ("sampler_guided", "sampler_unguided", "experts", "experts_success"):
        assert "prefix_len" in [i.name for i in manifest.graphs[graph].inputs]


def test_rtc_prefixes_default_off_on_benchmark_presets_and_explicit_values_stay(tmp_path):
    assert PipelineConfig(preset="sim_transfer_cube").rtc_max_delay == 20  # deployed with asynchronous inference
    assert PipelineConfig(preset="maniskill_pull_cube").rtc_max_delay == 0  # its loop waits for every chunk
    assert PipelineConfig(preset="maniskill_pull_cube", rtc_max_delay=5).rtc_max_delay == 5
    RunState.open(tmp_path, PipelineConfig(preset="maniskill_lift_peg_upright", rtc_max_delay=12))
    assert RunState.open(tmp_path).config.rtc_max_delay == 12  # a stored run keeps what it trained with
