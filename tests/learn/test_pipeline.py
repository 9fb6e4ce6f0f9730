"""The ``failforward learn`` pipeline: a tiny collect → train is recorded in state.json and resumes;
the full round (rollouts, corrections, retraining, evaluation, table, ship) runs under ``-m slow``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from failforward.cli.main import main
from failforward.errors import ConfigError
from failforward.learn.pipeline import PipelineConfig
from failforward.learn.run_state import RunState
from failforward.record.reader import read_episode

TINY = [
    "--demos",
    "2",
    "--train-steps",
    "2",
    "--finetune-steps",
    "2",
    "--batch-size",
    "4",
    "--rollouts",
    "2",
    "--eval-configs",
    "2",
    "--static-lambdas",
    "0.05",
    "--gammas",
    "1",
]


def _steps(run_dir: Path) -> dict:
    return json.loads((run_dir / "state.json").read_text())["steps"]


def test_collect_and_train_record_state_and_resume(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert main(["learn", "train", "--run-dir", str(run_dir), *TINY]) == 0
    steps = _steps(run_dir)
    assert steps["collect"]["successes"] == 2 and len(steps["collect"]["files"]) == 2
    for name in steps["collect"]["files"]:
        assert read_episode(run_dir / name, load_images=False).outcome.success
    assert steps["train_0"]["steps"] == 2 and (run_dir / "round_0" / "model" / "manifest.json").is_file()
    assert main(["learn", "train", "--run-dir", str(run_dir)]) == 0  # finished steps are skipped
    assert _steps(run_dir)["train_0"]["finished_at"] == steps["train_0"]["finished_at"]
    assert main(["learn", "train", "--run-dir", str(run_dir), *TINY]) == 0  # the same options again
    assert "config_updated" not in _steps(run_dir)  # nothing changed, nothing recorded


def test_a_run_refuses_changed_settings(tmp_path: Path) -> None:
    RunState.open(tmp_path, PipelineConfig(demos=2))
    with pytest.raises(ConfigError, match="demos"):
        RunState.open(tmp_path, PipelineConfig(demos=3))


def test_seed_ranges_must_not_overlap() -> None:
    with pytest.raises(ValueError, match="overlap"):
        PipelineConfig(demos=20_000)


@pytest.mark.slow
def test_full_round_evaluates_tables_and_ships(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert main(["learn", "eval", "--run-dir", str(run_dir), "--rounds", "1", *TINY]) == 0
    steps = _steps(run_dir)
    failures = [e for e in steps["rollout_0"]["episodes"] if not e["success"]]
    assert len(steps["correct_0"]["corrections"]) == len(failures)
    assert all(c["replayed_outcome_matches"] for c in steps["correct_0"]["corrections"])
    assert main(["learn", "table", "--run-dir", str(run_dir), "--out", str(tmp_path / "docs" / "r.md")]) == 0
    assert "Success only" in (tmp_path / "docs" / "r.md").read_text()
    assert main(["learn", "ship", "--run-dir", str(run_dir), "--name", "m", "--models", str(tmp_path)]) == 0
    assert (tmp_path / "m" / "MODEL_CARD.md").is_file() and (tmp_path / "m" / "manifest.json").is_file()


def test_vision_model_renders_exactly_its_cameras(tmp_path: Path) -> None:
    from failforward.learn.models import get_learn_model
    from failforward.learn.stages import Pipeline

    pipe = Pipeline(RunState.open(tmp_path, PipelineConfig(model="aloha_vision")))
    model = get_learn_model("aloha_vision")
    robot = pipe.run_config(policy=None, episodes=1, seed=0, max_steps=10).robot
    assert robot.cameras == model.cameras and (robot.image_height, robot.image_width) == (96, 128)
    state_robot = (
        Pipeline(RunState.open(tmp_path / "s", PipelineConfig()))
        .run_config(policy=None, episodes=1, seed=0, max_steps=10)
        .robot
    )
    assert state_robot.cameras == ()


def test_object_state_sizes_the_model_from_the_robot(tmp_path: Path) -> None:
    from failforward.learn.stages import Pipeline

    pipe = Pipeline(RunState.open(tmp_path, PipelineConfig(preset="sim_insertion", object_state=True)))
    assert pipe.run_config(policy=None, episodes=1, seed=0, max_steps=10).robot.object_state
    assert pipe.model.state_dim == 14 + 2 * 7
    with pytest.raises(ConfigError, match="object-state needs a simulated robot"):
        Pipeline(RunState.open(tmp_path / "f", PipelineConfig(preset="franka", object_state=True)))


# ~35 s: the image pipeline end to end (not shipped; its parts are in test_vision_train.py); -m slow
@pytest.mark.slow
def test_vision_cpu_run_collects_trains_and_evaluates_from_pixels(tmp_path: Path) -> None:
    """``aloha_vision_cpu``: demos record the three 72x96 cameras (no object state), the model trains on them,
    its graphs take images, and the evaluation runs the exported model on rendered frames."""
    import numpy as np

    from failforward.policy.afil import load_manifest

    run_dir = tmp_path / "run"
    args = ["--model", "aloha_vision_cpu", "--demos", "1", "--train-steps", "2", "--batch-size", "4", "--rounds", "0"]
    assert main(["learn", "eval", "--run-dir", str(run_dir), *args, "--eval-configs", "1", "--max-steps", "20"]) == 0
    steps = _steps(run_dir)
    demo = read_episode(run_dir / steps["collect"]["files"][0], load_images=True)
    assert sorted(demo.images) == ["left_wrist", "right_wrist", "top"]
    assert demo.images["top"][0].shape == (72, 96, 3) and demo.object_state.shape[1] == 0
    assert np.abs(demo.images["top"][0].astype(int) - demo.images["top"][-1]).mean() > 0  # the scene moved
    manifest = load_manifest(run_dir / "round_0" / "model")
    assert manifest.model.image_encoder == "conv"
    graph = next(iter(manifest.graphs.values()))
    assert any(t.name == "images" and list(t.shape)[2:] == [72, 96, 3] for t in graph.inputs)
    assert len(steps["eval_r0_1x1_success_only"]["episodes"]) == 1


@pytest.mark.parametrize(("cap", "repeat"), [(None, 1), (0.4, 2), (0.2, 5), (0.9, 1)])
def test_a_correction_share_cap_repeats_the_demos_of_a_round(tmp_path: Path, cap, repeat) -> None:
    """Round 1's success slices: 4 demos (repeated until the 5 corrections are at most ``cap`` of them) + the
    successful corrections from their takeover; failures are the failed rollouts."""
    from failforward.learn.sources import EpisodeSlice
    from failforward.learn.stages import Pipeline

    state = RunState.open(tmp_path, PipelineConfig(max_correction_share=cap))
    state.finish("collect", {"files": [f"demos/d{i}.mcap" for i in range(4)]})
    corrections = [{"file": f"corr/c{i}.mcap", "takeover": 10 + i, "success": i != 5} for i in range(6)]
    state.finish("correct_0", {"corrections": corrections})
    state.finish("rollout_0", {"episodes": [{"file": "roll/r0.mcap", "success": False}]})
    success, failure = Pipeline(state).training_slices(1)
    demos = [EpisodeSlice(tmp_path / f"demos/d{i}.mcap") for i in range(4)]
    fixed = [EpisodeSlice(tmp_path / f"corr/c{i}.mcap", 10 + i) for i in range(5)]
    assert success == demos * repeat + fixed
    assert failure == [EpisodeSlice(tmp_path / "roll/r0.mcap")]
    assert cap is None or len(fixed) / len(success) <= cap
