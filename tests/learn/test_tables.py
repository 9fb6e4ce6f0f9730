"""Tables, verdicts and the report are generated from results files; the numbers follow the episodes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from failforward.config.policy import GuidanceConfig
from failforward.errors import RecordingError
from failforward.learn.methods import EvalMethod, eval_methods
from failforward.learn.pipeline import PipelineConfig
from failforward.learn.report import verdict, write_report
from failforward.learn.results import EpisodeRecord, read_results, summarize, write_results
from failforward.learn.table import methods_table, rounds_table
from failforward.stats import wilson_interval

FIXTURE = Path(__file__).parent / "fixtures" / "results.json"


def _records(method: EvalMethod, outcomes: list[bool]) -> list[EpisodeRecord]:
    rows = [
        {
            "seed": 100 + i,
            "success": ok,
            "stage": 4 if ok else 1,
            "reason": "success" if ok else "dropped",
            "ticks": 200,
            "file": None,
        }
        for i, ok in enumerate(outcomes)
    ]
    return [EpisodeRecord.from_row(method, "sim_transfer_cube", r) for r in rows]


def test_summary_matches_wilson_and_table_prints_it(tmp_path: Path) -> None:
    base = EvalMethod("success_only", "Success only", 0, GuidanceConfig(mode="none"))
    guided = EvalMethod("dag_adaptive_1", "DAG + adaptive guidance (γ = 1)", 1, GuidanceConfig(gamma=1.0))
    records = _records(base, [True, False, False, False]) + _records(guided, [True, True, True, False])
    path = write_results(tmp_path, PipelineConfig(), records, rounds=[])
    result = read_results(path)
    low, high = wilson_interval(3, 4)
    table = methods_table([result])
    assert f"| DAG + adaptive guidance (γ = 1) | 75 [{100 * low:.0f}–{100 * high:.0f}] (3/4) |" in table
    assert "| Success only | 25 " in table
    assert "1 of 1 guided settings have a higher point estimate than *Success only*" in verdict(result)[0]
    assert (tmp_path / "summary.csv").read_text().count("\n") == 3


def test_report_from_fixture_file(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    (run_dir / "eval").mkdir(parents=True)
    shutil.copyfile(FIXTURE, run_dir / "eval" / "results.json")
    written = write_report([run_dir], tmp_path / "docs" / "afil_results.md")
    text = (tmp_path / "docs" / "afil_results.md").read_text()
    result = json.loads(FIXTURE.read_text())
    for s in summarize([EpisodeRecord(**e) for e in result["episodes"]]):
        assert f"({s.successes}/{s.trials})" in text
    assert rounds_table(result) in text
    assert (run_dir / "eval" / "table.md") in written


def test_missing_results_say_how_to_make_them(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="failforward learn eval"):
        write_report([tmp_path])


def test_methods_need_a_failure_head_for_guidance() -> None:
    config = PipelineConfig(static_lambdas=(0.05,), gammas=(0.5, 1.0))
    assert [m.name for m in eval_methods(config, 1, has_failure_head=False)] == ["success_only", "success_correction"]
    names = [m.name for m in eval_methods(config, 1, has_failure_head=True)]
    assert names[2:] == ["dag_static_0.05", "dag_adaptive_0.5", "dag_adaptive_1"]


def test_reproduce_flags_name_every_changed_setting_and_the_observation() -> None:
    from failforward.learn.pipeline import PipelineConfig
    from failforward.learn.report import config_flags, observation_text

    config = PipelineConfig(preset="sim_insertion", object_state=True, demos=100, gammas=(1.0, 2.0)).model_dump(
        mode="json"
    )
    assert config_flags(config) == ["--preset sim_insertion", "--object-state", "--demos 100", "--gammas 1.0 2.0"]
    assert "ground-truth pose" in observation_text(config)
    assert "no object poses" in observation_text({**config, "object_state": False})


def test_reproduce_names_the_venv_the_runs_need() -> None:
    from failforward.learn.report import environment

    assert environment(["sim_transfer_cube"]) == "source .venv/bin/activate"
    assert environment(["maniskill_pull_cube", "maniskill_stack_cube"]).startswith("source .venv-maniskill/")
    assert ".venv-maniskill" in environment(["sim_transfer_cube", "maniskill_pull_cube"])


def test_a_rate_cell_is_count_percentage_and_wilson_interval() -> None:
    from failforward.stats import rate_text

    assert rate_text(40, 45) == "40/45 = 89% [77%–95%]" and rate_text(0, 45) == "0/45 = 0% [0%–8%]"
    assert rate_text(0, 0) == "–"


def test_two_runs_of_one_preset_get_a_column_each(tmp_path: Path) -> None:
    base = EvalMethod("success_only", "Success only", 0, GuidanceConfig(mode="none"))
    for name, outcomes in (("first", [True, False, False, False]), ("second", [True, True, True, False])):
        write_results(tmp_path / name / "eval", PipelineConfig(), _records(base, outcomes), rounds=[])
    write_report([tmp_path / "first", tmp_path / "second"], tmp_path / "docs" / "report.md")
    text = (tmp_path / "docs" / "report.md").read_text()
    assert "| Method | sim_transfer_cube (first) | sim_transfer_cube (second) |" in text
    assert "| Success only | 25 " in text and "(1/4) | 75 " in text  # each run's own cells, in order


def test_rounds_table_counts_failures_and_corrections_so_far() -> None:
    train = {"train_steps": 10, "train_success_episodes": 5, "train_failure_episodes": 0, "train_seconds": 1.0}
    rounds = [
        {"round": 0, **train, "rollouts": 10, "rollout_successes": 6, "corrections": 4, "corrected": 1},
        {"round": 1, **train, "rollouts": 10, "rollout_successes": 3, "corrections": 7, "corrected": 5},
        {"round": 2, **train},
    ]
    lines = rounds_table({"rounds": rounds}).splitlines()
    low, high = wilson_interval(6, 10)
    assert f"| 60 [{100 * low:.0f}–{100 * high:.0f}] (6/10) |" in lines[2]
    assert lines[2].endswith("| 4 | 1 |") and lines[3].endswith("| 11 | 6 |")
    assert lines[4].endswith("| – | – |")  # the last round only trains
