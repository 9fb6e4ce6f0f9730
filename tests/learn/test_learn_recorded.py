"""``failforward learn recorded``: training reads the MCAPs directly, with labels and skips, then fine-tunes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from recorded_helpers import Spec, record

from failforward.cli.main import main
from failforward.errors import ConfigError
from failforward.learn.from_recordings import train_on_recordings
from failforward.learn.labels import write_label
from failforward.policy.afil import get_model_preset
from failforward.policy.afil.manifest import load_manifest
from failforward.types import EpisodeOutcome

torch.set_num_threads(1)
TINY = get_model_preset("tiny_state").model_copy(update={"action_dim": 3, "state_dim": 3})
NO_JUDGE = EpisodeOutcome(False, 0, "ended after max_steps; this driver has no success judge")


def _recordings(tmp_path: Path) -> Path:
    record(tmp_path, Spec(ticks=30), seed=0)
    record(tmp_path, Spec(ticks=30, outcome=EpisodeOutcome(False, 1, "dropped")), seed=1)
    record(tmp_path, Spec(ticks=30, outcome=NO_JUDGE, clock="monotonic"), seed=2)  # no outcome: skipped
    labelled = record(tmp_path, Spec(ticks=30, outcome=NO_JUDGE, clock="monotonic"), seed=3)
    write_label(labelled, success=False, operator="ana")
    return tmp_path / "run"


def test_trains_from_scratch_then_fine_tunes(tmp_path: Path) -> None:
    runs = _recordings(tmp_path / "rec")
    info = train_on_recordings([runs], tmp_path / "a", init_model=None, model=TINY, steps=6, batch_size=8)
    assert info["data"]["successes"] == 1 and info["data"]["failures"] == 2 and info["data"]["skipped"] == 1
    manifest = load_manifest(tmp_path / "a" / "model")
    assert manifest.training is not None
    assert manifest.training.success_ticks == 30 and manifest.training.failure_ticks == 60
    tuned = train_on_recordings([runs], tmp_path / "b", init_model=tmp_path / "a" / "model", steps=4, batch_size=8)
    assert tuned["steps"] == 4 and (tmp_path / "b" / "train" / "last.pt").is_file()
    assert json.loads((tmp_path / "b" / "recorded.json").read_text())["data"] == info["data"]
    head = train_on_recordings(
        [runs], tmp_path / "c", init_model=tmp_path / "a" / "model", steps=2, batch_size=8, failure_head=(8, 1)
    )
    light = load_manifest(tmp_path / "c" / "model")
    assert head["steps"] == 2 and light.model.failure_width == 8 and light.model.failure_layers == 1
    assert light.training is not None and (light.training.success_ticks, light.training.failure_ticks) == (0, 60)
    with pytest.raises(ConfigError, match="--init-model"):
        train_on_recordings([runs], tmp_path / "d", init_model=None, model=TINY, steps=1, failure_head=(8, 1))


def test_nothing_with_an_outcome_says_to_label(tmp_path: Path) -> None:
    record(tmp_path, Spec(outcome=NO_JUDGE, clock="monotonic"))
    with pytest.raises(ConfigError, match="failforward label set"):
        train_on_recordings([tmp_path], tmp_path / "out", init_model=None, model=TINY, steps=1)


def test_dry_run_lists_outcomes_and_skips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _recordings(tmp_path)
    assert main(["learn", "recorded", str(runs), "--out", str(tmp_path / "out"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "episode_0000_seed0.mcap: success (simulator)" in out
    assert "episode_0003_seed3.mcap: failure (label)" in out
    assert "episode_0002_seed2.mcap: skipped" in out
    assert not (tmp_path / "out").exists()
