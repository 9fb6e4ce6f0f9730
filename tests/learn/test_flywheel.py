"""The flywheel's bookkeeping without the simulator: seeds, resumed deployments, state, results and the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError
from recorded_helpers import Spec, record

from failforward.errors import ConfigError
from failforward.learn.flywheel import Flywheel, _blocks
from failforward.learn.flywheel_config import FlywheelConfig, FlywheelState
from failforward.learn.flywheel_results import is_flywheel_run, write_flywheel_report, write_flywheel_results
from failforward.types import EpisodeOutcome

BASE = str(Path(__file__).resolve().parents[2] / "models" / "afil_aloha_transfer_cube")


def test_consecutive_seeds_run_as_blocks() -> None:
    assert _blocks([3, 4, 5, 8, 10, 11]) == [[3, 4, 5], [8], [10, 11]]
    assert _blocks([]) == []


def test_deployment_seeds_may_not_reach_the_held_out_ones() -> None:
    with pytest.raises(ValidationError, match="overlap"):
        FlywheelConfig(base_model=BASE, deploy_seed=99_000, rounds=3, eval_seed=100_000)


def test_state_refuses_other_settings_and_says_how_to_resume(tmp_path: Path) -> None:
    FlywheelState.open(tmp_path, FlywheelConfig(base_model=BASE))
    with pytest.raises(ConfigError, match="failforward learn flywheel --run-dir"):
        FlywheelState.open(tmp_path, FlywheelConfig(base_model=BASE, finetune_steps=7))


def test_a_resumed_deployment_keeps_finished_episodes_and_reruns_the_interrupted(tmp_path: Path) -> None:
    wheel = Flywheel(FlywheelState.open(tmp_path, FlywheelConfig(base_model=BASE, deploy_seed=20_000)))
    deploy = tmp_path / "round_0"
    record(deploy, Spec(), seed=20_000)
    record(deploy, Spec(outcome=EpisodeOutcome(False, 1, "dropped")), seed=20_001)
    record(deploy, Spec(outcome=EpisodeOutcome(False, 1, "aborted: interrupted")), seed=20_002)
    (deploy / "run").rename(deploy / "deploy")
    record(deploy, Spec(), seed=20_003)  # a later resumed run's directory
    (deploy / "run").rename(deploy / "deploy-1")
    assert sorted(wheel._recorded_seeds(0)) == [20_000, 20_001, 20_003]  # 20 002 is run again


def test_results_and_table_from_finished_steps(tmp_path: Path) -> None:
    state = FlywheelState.open(tmp_path / "fw", FlywheelConfig(base_model=BASE, rounds=1, eval_runs=2))
    rows = [
        {"seed": 100_000 + i, "success": i < 3, "stage": 4, "reason": "r", "ticks": 9, "file": None} for i in range(4)
    ]
    state.finish("eval_0_run0", {"seconds": 1.0, "episodes": rows})
    outcomes = {"successes": 1, "failures": 2, "corrected": 1, "skipped": 0}
    state.finish("deploy_0", {"seconds": 1.0, "outcomes": outcomes, "files": []})
    path = write_flywheel_results(Flywheel(state))
    result = json.loads(path.read_text())
    first = result["rounds"][0]
    assert first["eval"]["successes"] == 3 and first["eval"]["trials"] == 4 and first["eval"]["runs"] == 1
    assert first["guidance"] == "adaptive γ=1"  # the shipped model's failure head has trained
    assert result["rounds"][1]["model"] is None and result["rounds"][1]["eval"] is None
    assert is_flywheel_run(tmp_path / "fw")
    out = tmp_path / "doc.md"
    write_flywheel_report([tmp_path / "fw"], out)
    text = out.read_text()
    assert "| 0 | adaptive γ=1 | – (base) | 1/3 (1 after a correction) | 75 % [30–95] (3/4, 1 of 2 runs) |" in text
    assert "| 1 | – | – | – | – |" in text  # round 1 not trained yet
    assert f"failforward learn flywheel --run-dir {tmp_path / 'fw'} --base-model {BASE}" in text
