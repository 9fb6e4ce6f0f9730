"""Stream files: prepared streams come back as they went (shared ticks stored once, repeats kept), train the same as
the streams they hold, refuse what they cannot hold; the trainer refuses a device the machine does not have."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import afil_helpers
import numpy as np
import pytest
import torch

from failforward.errors import ConfigError, ShapeError
from failforward.learn.config import TrainConfig
from failforward.learn.dataset import model_states
from failforward.learn.stream_file import load_streams, save_streams
from failforward.learn.train_streams import main as train_streams
from failforward.learn.trainer import LAST, train, training_device
from failforward.policy.afil import get_model_preset

TINY = get_model_preset("tiny_state")


def _config(tmp_path: Path, **kw) -> TrainConfig:
    fields = {"model": TINY, "out_dir": tmp_path / "run", "batch_size": 16, "lr": 1e-3, "checkpoint_every": 5}
    return TrainConfig(**{**fields, **kw})


def _streams() -> list:
    """Whole episodes, two windows of the first (its ticks again, with done labels), and a chunk-labelled stream
    repeated three times (as DAgger labels are), its labels longer than the model's horizon."""
    episodes = afil_helpers.toy_episodes(2, 2, length=20)
    whole = episodes[0]
    segment = replace(whole.window(0, 12), prompt="reach", done=(np.arange(12) >= 9).astype(float))
    rest = replace(whole.window(12, 20), prompt="hold", success=False)
    chunks = np.stack([whole.actions[t : t + 1].repeat(TINY.horizon + 3, axis=0) for t in range(5)]) + 0.25
    labelled = replace(whole.window(3, 8), prompt="come back", chunk_actions=chunks)
    return [*episodes, segment, rest, *[labelled] * 3]


def test_round_trip_keeps_streams_and_stores_shared_ticks_once(tmp_path):
    streams = _streams()
    config = _config(tmp_path, steps=7)
    path = tmp_path / "streams.h5"
    save_streams(path, config, streams, model_states(streams, config.model))
    loaded_config, loaded, states = load_streams(path)
    assert loaded_config == config
    assert len(loaded) == len(streams) and loaded[-1] is loaded[-2] is loaded[-3]
    for before, after, state in zip(streams, loaded, states, strict=True):
        assert (after.prompt, after.success) == (before.prompt, before.success)
        f32 = {"atol": 0, "rtol": 1e-6}
        np.testing.assert_allclose(after.joint_positions, before.joint_positions, **f32)
        np.testing.assert_allclose(after.actions, before.actions, **f32)
        np.testing.assert_allclose(state, before.state, **f32)
        np.testing.assert_array_equal(np.isnan(after.done), np.isnan(before.done))
        np.testing.assert_allclose(after.done[~np.isnan(after.done)], before.done[~np.isnan(before.done)])
        assert (after.chunk_actions is None) == (before.chunk_actions is None)
        if before.chunk_actions is not None:
            np.testing.assert_allclose(after.chunk_actions, before.chunk_actions[:, : TINY.horizon], **f32)
    import h5py

    with h5py.File(path) as f:  # the windows' and the repeats' ticks are the whole episodes' rows
        assert len(f["rows"]) == sum(e.length for e in streams[:4])


def test_training_on_a_stream_file_matches_training_on_its_streams(tmp_path):
    streams = [replace(e, joint_positions=e.joint_positions.astype(np.float32).astype(float),
                       actions=e.actions.astype(np.float32).astype(float)) for e in _streams()[:4]]  # fmt: skip
    direct = train(_config(tmp_path / "a", steps=6), streams, progress=False)
    path = tmp_path / "streams.h5"
    save_streams(path, _config(tmp_path / "b", steps=6), streams, model_states(streams, TINY))
    config, loaded, states = load_streams(path)
    from_file = train(config, loaded, states=states, progress=False)
    np.testing.assert_allclose(from_file.losses, direct.losses, rtol=1e-6)


def test_train_streams_command_trains_the_files_config_with_its_overrides(tmp_path, capsys):
    streams = _streams()
    path = tmp_path / "streams.h5"
    save_streams(path, _config(tmp_path, steps=100), streams, model_states(streams, TINY))
    train_streams([str(path), "--out-dir", str(tmp_path / "gpu"), "--steps", "4", "--batch-size", "8"])
    state = torch.load(tmp_path / "gpu" / LAST, weights_only=True)
    assert state["step"] == 4 and state["config"]["batch_size"] == 8 and state["config"]["device"] == "cpu"
    assert "step 4 in" in capsys.readouterr().out


def test_what_a_stream_file_cannot_hold_is_refused(tmp_path):
    config = _config(tmp_path)
    with_images = afil_helpers.toy_episodes(1, 0, cameras=("top",))
    with pytest.raises(ConfigError, match="camera images"):
        save_streams(tmp_path / "a.h5", config, with_images, model_states(with_images, TINY))
    plain = afil_helpers.toy_episodes(1, 0)
    with pytest.raises(ShapeError, match="model_states"):
        save_streams(tmp_path / "b.h5", config, plain, [plain[0].state[:3]])
    other_space = [replace(plain[0], actions=np.zeros((plain[0].length, 7)))]
    with pytest.raises(ShapeError, match="action space"):
        save_streams(tmp_path / "c.h5", config, other_space, model_states(other_space, TINY))
    (tmp_path / "d.h5").write_bytes(b"")
    with pytest.raises((ConfigError, OSError)):
        load_streams(tmp_path / "d.h5")
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_cuda_device_without_a_gpu_is_a_config_error(tmp_path):
    assert training_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        training_device("cuda")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        train(_config(tmp_path, steps=1, device="cuda:0"), afil_helpers.toy_episodes(1, 1), progress=False)
    with pytest.raises(ValueError, match="pattern"):
        _config(tmp_path, device="tpu")


def test_model_states_are_computed_once_per_repeated_stream():
    streams = _streams()
    states = model_states(streams, TINY)
    assert states[-1] is states[-2] is states[-3]
