"""Flywheel rounds that train only a new failure head: the base's backbone and success head stay bit for bit."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest
import torch
from recorded_helpers import Spec, record

from failforward.learn.flywheel import Flywheel
from failforward.learn.flywheel_config import FlywheelConfig, FlywheelState
from failforward.learn.flywheel_results import flywheel_flags
from failforward.learn.from_recordings import train_on_recordings
from failforward.policy.afil import get_model_preset
from failforward.policy.afil.failure_head import success_state
from failforward.policy.afil.manifest import load_manifest
from failforward.policy.afil.weights import load_weights
from failforward.types import EpisodeOutcome

torch.set_num_threads(1)
TINY = get_model_preset("tiny_state").model_copy(update={"action_dim": 3, "state_dim": 3})
DROPPED = EpisodeOutcome(False, 1, "dropped")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny success-only base model (3 joints) trained on one recorded success."""
    root = tmp_path_factory.mktemp("base")
    record(root / "demos", Spec(ticks=30), seed=0)
    train_on_recordings([root / "demos"], root / "base", init_model=None, model=TINY, steps=2, batch_size=8)
    return root / "base" / "model"


def _wheel(root: Path, base: Path, outcomes: list[EpisodeOutcome]) -> Flywheel:
    """A flywheel over ``base`` whose round 0 deployed one recorded episode per outcome."""
    config = FlywheelConfig(
        base_model=str(base), rounds=1, failure_head_only=True, failure_width=8, finetune_steps=3, batch_size=8
    )
    state = FlywheelState.open(root, config)
    files = [record(root / "round_0", Spec(ticks=30, outcome=o), seed=20_000 + i) for i, o in enumerate(outcomes)]
    (root / "round_0" / "run").rename(root / "round_0" / "deploy")
    rel = [str(Path("round_0/deploy") / f.name) for f in files]
    state.finish("deploy_0", {"seconds": 0.0, "outcomes": {}, "files": rel})
    return Flywheel(state)


def _weights(model_dir: Path) -> torch.nn.Module:
    return load_weights(model_dir / load_manifest(model_dir).weights)[0]


def test_a_round_trains_a_light_failure_head_on_the_frozen_base(tmp_path: Path, base: Path) -> None:
    wheel = _wheel(tmp_path / "fw", base, [EpisodeOutcome(True, 4, "success"), DROPPED, DROPPED])
    wheel.train(1)
    info = wheel.state.info("train_1")
    assert info["steps"] == 3 and info["success_ticks"] == 0 and info["failure_ticks"] == 60  # successes unused
    before, after = _weights(base), _weights(wheel.model_dir(1))
    assert after.config.failure_width == 8 and after.config.failure_layers == 1
    for name, value in before.backbone.state_dict().items():
        torch.testing.assert_close(after.backbone.state_dict()[name], value, atol=0, rtol=0)
    for name, value in success_state(before.experts).items():
        torch.testing.assert_close(success_state(after.experts)[name], value, atol=0, rtol=0)
    assert wheel.guidance(1).mode.value == "adaptive"
    assert "--failure-head-only --failure-width 8" in flywheel_flags(wheel.cfg.model_dump(mode="json"))


def test_without_failures_the_round_keeps_the_previous_model(tmp_path: Path, base: Path) -> None:
    wheel = _wheel(tmp_path / "fw", base, [EpisodeOutcome(True, 4, "success")])
    wheel.train(1)
    assert wheel.state.info("train_1")["steps"] == 0
    assert not filecmp.dircmp(base, wheel.model_dir(1)).diff_files
    assert wheel.guidance(1).mode.value == "none"  # the base's failure head never trained
