"""The training-only object-position auxiliary loss: targets out of the model input, the head learns to find an
object from pixels, the exported model is unchanged (no aux input or output), runs resume, bad setups refuse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from failforward.errors import ConfigError
from failforward.learn.config import TrainConfig
from failforward.learn.dataset import ChunkDataset
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.object_aux import object_errors
from failforward.learn.object_targets import object_positions
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil import get_model_preset, load_manifest
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.weights import load_weights

torch.set_num_threads(1)
CONV = get_model_preset("tiny_vision_conv")  # 3 cameras, 24x32, width 32
HEIGHT, WIDTH = CONV.image_height, CONV.image_width


def _blob_episode(rng: np.random.Generator, length: int = 16) -> EpisodeArrays:
    """Joints stand still; a white 4x4 blob moves over the top camera's grey noise, and the recorded object pose
    is where it is: x = column / W, y = row / H [m], z = 0.05 m, identity quaternion."""
    frames = {c: rng.integers(60, 120, (length, HEIGHT, WIDTH, 3), dtype=np.uint8) for c in CONV.cameras}
    rows, cols = rng.integers(0, HEIGHT - 4, length), rng.integers(0, WIDTH - 4, length)
    for t, (r, c) in enumerate(zip(rows, cols, strict=True)):
        frames["top"][t, r : r + 4, c : c + 4] = 255
    poses = np.zeros((length, 7))
    poses[:, 0], poses[:, 1], poses[:, 2], poses[:, 3] = (cols + 2) / WIDTH, (rows + 2) / HEIGHT, 0.05, 1.0
    q = np.zeros((length, 4))
    return EpisodeArrays(q, q.copy(), "find the blob", True, frames, object_state=poses).objects_as_targets()


def _config(out: Path, steps: int, **kw) -> TrainConfig:
    settings = {"batch_size": 16, "lr": 3e-3, "checkpoint_every": 50, "rtc_max_delay": 0, "random_shift": 0, **kw}
    return TrainConfig(model=CONV, out_dir=out, steps=steps, **settings)


def test_recorded_poses_become_targets_not_input() -> None:
    episode = _blob_episode(np.random.default_rng(0), length=5)
    assert episode.state.shape == (5, 4) and episode.object_targets.shape == (5, 7)
    assert episode.tail(3).object_targets.shape == (2, 7)
    middle = episode.window(1, 3)
    assert middle.length == 2 and middle.images["top"].shape[0] == 2 and middle.object_targets.shape == (2, 7)
    assert episode.window(4, 2).length == 1  # at least one tick
    assert object_positions(episode.object_targets).shape == (5, 3)


def test_batches_hold_normalized_positions_and_which_are_known() -> None:
    rng = np.random.default_rng(0)
    with_poses = [_blob_episode(rng) for _ in range(3)]
    plain = EpisodeArrays(np.zeros((16, 4)), np.zeros((16, 4)), "p", True, _blob_episode(rng).images)
    data = ChunkDataset([*with_poses, plain], CONV, ChunkDataset.fit_norm(with_poses))
    batch = data.collate(np.array([[0, 1], [3, 2]]))
    assert batch.objects is not None and batch.objects_known is not None
    assert batch.objects_known.tolist() == [True, False] and not batch.objects[1].any()
    stats = data.object_stats
    assert stats is not None
    truth = object_positions(with_poses[0].object_targets)[1]
    assert np.allclose(stats.unnormalize(batch.objects[0]), truth, atol=1e-5)


@pytest.fixture(scope="module")
def blob_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny conv model trained 200 steps with the auxiliary loss on blob episodes (~20 s)."""
    root = tmp_path_factory.mktemp("aux")
    rng = np.random.default_rng(0)
    train(_config(root / "run", 200, object_aux_weight=1.0), [_blob_episode(rng) for _ in range(8)], progress=False)
    return root


def test_aux_head_finds_the_object_in_held_out_frames(blob_run: Path) -> None:
    held_out = [_blob_episode(np.random.default_rng(1)) for _ in range(2)]
    errors = object_errors(blob_run / "run" / "last.pt", held_out)  # [32, 1] [m]
    positions = np.concatenate([object_positions(e.object_targets) for e in held_out])
    guess_mean = np.linalg.norm(positions - positions.mean(axis=0), axis=1).mean()
    assert errors.shape == (32, 1)
    assert errors.mean() < 0.5 * guess_mean, (errors.mean(), guess_mean)


def test_exported_model_has_no_aux_head_and_records_the_weight(blob_run: Path, tmp_path: Path) -> None:
    manifest = export_checkpoint(blob_run / "run" / "last.pt", tmp_path / "model")
    assert manifest.training is not None and manifest.training.object_aux_weight == 1.0
    model, _ = load_weights(tmp_path / "model" / manifest.weights)
    assert model.state_dict().keys() == DualActionGenerator(CONV).state_dict().keys()
    for graph in manifest.graphs.values():
        proto = onnx.load(str(tmp_path / "model" / graph.file))
        names = {t.name for t in [*proto.graph.input, *proto.graph.output]}
        assert not any("object" in name for name in names), names
    assert load_manifest(tmp_path / "model").model == CONV


def test_aux_run_resumes_exactly(tmp_path: Path) -> None:
    episodes = [_blob_episode(np.random.default_rng(2)) for _ in range(2)]
    straight = train(_config(tmp_path / "a", 4, checkpoint_every=2, object_aux_weight=1.0), episodes, progress=False)
    train(_config(tmp_path / "b", 2, checkpoint_every=2, object_aux_weight=1.0), episodes, progress=False)
    resumed = train(_config(tmp_path / "b", 4, checkpoint_every=2, object_aux_weight=1.0), episodes, progress=False)
    assert resumed.losses == straight.losses[2:]
    with pytest.raises(ConfigError, match="object-pose auxiliary loss"):
        train(_config(tmp_path / "b", 6, checkpoint_every=2), episodes, progress=False)


def test_aux_loss_refuses_models_without_cameras_and_episodes_without_targets(tmp_path: Path) -> None:
    episode = _blob_episode(np.random.default_rng(3))
    q, targets = episode.joint_positions, episode.object_targets
    no_images = EpisodeArrays(q, episode.actions, "p", True, object_targets=targets)
    state_config = TrainConfig(model=get_model_preset("tiny_state"), out_dir=tmp_path / "s", object_aux_weight=1.0)
    with pytest.raises(ConfigError, match="has no cameras"):
        train(state_config.model_copy(update={"steps": 1}), [no_images], progress=False)
    bare = EpisodeArrays(episode.joint_positions, episode.actions, "p", True, episode.images)
    with pytest.raises(ConfigError, match="needs episodes with object_targets"):
        train(_config(tmp_path / "v", 1, object_aux_weight=1.0), [bare], progress=False)


# ~34 s: the auxiliary loss through the whole pipeline (not shipped; its parts are tested above); -m slow
@pytest.mark.slow
def test_vision_pipeline_records_poses_trains_on_them_and_runs_without_them(tmp_path: Path) -> None:
    """``--object-aux-weight``: the expert demos record the cube's pose, the model reads joints and cameras only
    (state 14), the manifest records the weight and the evaluation runs the model without object state."""
    from failforward.cli.main import main
    from failforward.record.reader import read_episode

    run_dir = tmp_path / "run"
    args = ["--model", "aloha_vision_cpu", "--demos", "1", "--train-steps", "2", "--batch-size", "4", "--rounds", "0"]
    aux = ["--object-aux-weight", "1.0", "--eval-configs", "1", "--max-steps", "20"]
    assert main(["learn", "eval", "--run-dir", str(run_dir), *args, *aux]) == 0
    steps = json.loads((run_dir / "state.json").read_text())["steps"]
    demo = read_episode(run_dir / steps["collect"]["files"][0], load_images=False)
    assert demo.object_state.shape == (demo.length, 7)
    manifest = load_manifest(run_dir / "round_0" / "model")
    assert manifest.model.state_dim == 14 and manifest.training is not None
    assert manifest.training.object_aux_weight == 1.0
    assert "object_aux" in torch.load(run_dir / "round_0" / "train" / "last.pt", weights_only=True)
    evaluated = read_episode(run_dir / steps["eval_r0_1x1_success_only"]["episodes"][0]["file"], load_images=False)
    assert evaluated.object_state.shape[1] == 0


def test_reports_say_the_model_sees_cameras_and_the_aux_loss_was_training_only() -> None:
    from failforward.learn.model_card import _input_limitation
    from failforward.learn.report import config_flags, observation_text

    config = {"preset": "sim_transfer_cube", "model": "aloha_vision_cpu", "object_aux_weight": 1.0}
    text = observation_text(config)
    assert text.startswith("images") and "top, left_wrist, right_wrist" in text and "not exported" in text
    assert "no cameras" not in _input_limitation(config) and "reads no object state" in _input_limitation(config)
    assert "--object-aux-weight 1.0" in config_flags(config)
    assert "auxiliary" not in observation_text({**config, "object_aux_weight": 0.0})


def test_pipeline_trains_with_its_aux_weight_and_random_shift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from failforward.learn import trainer
    from failforward.learn.pipeline import PipelineConfig
    from failforward.learn.run_state import RunState
    from failforward.learn.stages import Pipeline

    class StopError(Exception):
        pass

    seen: dict[str, TrainConfig] = {}

    def fake_train(config: TrainConfig, episodes: list[EpisodeArrays], **_: object) -> None:
        seen["config"] = config
        raise StopError

    monkeypatch.setattr(trainer, "train", fake_train)
    config = PipelineConfig(model="aloha_vision_cpu", rounds=0, object_aux_weight=0.5, random_shift=1)
    state = RunState.open(tmp_path, config)
    state.finish("collect", {"files": []})
    with pytest.raises(StopError):
        Pipeline(state).train(0)
    assert seen["config"].object_aux_weight == 0.5 and seen["config"].random_shift == 1
    assert PipelineConfig.model_validate({"model": "aloha_vision_cpu"}).random_shift == 4  # older runs used 4
