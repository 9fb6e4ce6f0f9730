"""Symbol-following data: an atomic motion moves the simulated tool as commanded, the episode file carries the
command sentence and its symbols, bad commands are refused without motion, and ``learn symbols`` records its
files (ViFailback VSF data, ``failforward.learn.symbols.generate``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from failforward.config import RecordConfig, SimAlohaConfig
from failforward.config.recovery import PmcConfig
from failforward.learn.symbols.config import SymbolDataConfig
from failforward.learn.symbols.generate import SymbolEpisodeSpec, run_symbol_episodes, sample_episodes
from failforward.learn.symbols.plan import SymbolPlanner
from failforward.learn.symbols.read import symbol_episode, vsf_arrays
from failforward.learn.symbols.sampling import sample_commands
from failforward.record.reader import read_episode
from failforward.record.recorder import EpisodeRecorder
from failforward.recovery.camera import MujocoCamera, robot_axes
from failforward.recovery.correction import Refusal
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.supervisor.commands import Grasp, Move, format_commands, parse_commands
from failforward.supervisor.scheduler import SupervisorReport
from failforward.symbols.types import StraightArrow

HEIGHT, WIDTH = 120, 160
FORWARD = Move(gripper="right", direction="forward", magnitude="significantly")


@pytest.fixture(scope="module")
def robot():
    with SimAlohaDriver(
        SimAlohaConfig(task="transfer_cube", cameras=("top",), image_height=HEIGHT, image_width=WIDTH)
    ) as driver:
        yield driver


class ReportSpy(EpisodeRecorder):
    """A recorder that also keeps the supervisor reports it was given."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reports: list[SupervisorReport] = []

    def record_report(self, report: SupervisorReport) -> None:
        self.reports.append(report)
        super().record_report(report)


@pytest.fixture(scope="module")
def recorded_move(robot, tmp_path_factory):
    """One episode: 30 expert ticks, then "Move the right gripper forward significantly."."""
    recorder = ReportSpy(RecordConfig(output_dir=tmp_path_factory.mktemp("sym")), "symbols")
    config = SymbolDataConfig()
    rows = run_symbol_episodes(robot, [SymbolEpisodeSpec(7, 30, (FORWARD,))], config, recorder=recorder)
    recorder.close()
    (report,) = recorder.reports
    return rows[0], Path(rows[0]["file"]), config, report.result


def test_a_move_displaces_the_simulated_tool_by_the_configured_distance(robot, recorded_move) -> None:
    row, _, config, _ = recorded_move
    assert row["success"] and not row["refused"], row["reason"]
    measured = np.array(row["verdict"]["measured_shift_m"])
    forward = robot_axes(MujocoCamera(robot.scene, "top").world_from_camera())[0]
    along = float(measured @ forward)
    assert along == pytest.approx(config.pmc.significant_m, abs=0.01)  # [m], measured in the simulator
    assert np.linalg.norm(measured - along * forward) < 0.01  # [m] off the commanded axis
    assert row["verdict"]["position_error_m"] < config.position_tolerance_m


def test_the_episode_file_carries_the_sentence_and_its_symbols(recorded_move) -> None:
    row, path, _, sent = recorded_move
    recorded = read_episode(path)
    assert recorded.prompt == "Move the right gripper forward significantly." == row["prompt"]
    assert recorded.outcome is not None and recorded.outcome.success
    sample = symbol_episode(recorded)
    assert sample.takeover == 30 and sample.arrays.length == recorded.length - 30
    assert sample.arrays.prompt == recorded.prompt and sample.diagnosis.commands == (FORWARD,)
    assert sample.diagnosis == sent  # symbols, text and raw answer round-trip through the MCAP file
    (arrow,) = sample.diagnosis.symbols
    assert isinstance(arrow, StraightArrow) and arrow.colors == ("red",)
    assert arrow.end[1] < arrow.start[1]  # forward = towards the top of the head image
    assert "Draw Straight Arrow" in sample.diagnosis.raw


def test_vsf_view_masks_outside_the_symbols(recorded_move) -> None:
    _, path, _, _ = recorded_move
    sample = symbol_episode(read_episode(path))
    head = vsf_arrays(sample.arrays, sample.diagnosis).images["top"]
    arrow = sample.diagnosis.symbols[0]
    u = int(max(arrow.start[0], arrow.end[0])) + 60  # beyond the 50 px margin
    assert head.shape[0] == sample.arrays.length and head.any()
    if u < WIDTH:
        assert not head[:, :, u:].any()


def _planner_view(robot, config: SymbolDataConfig):
    obs = robot.reset(3)
    return SymbolPlanner.for_sim_aloha(robot, config), obs, obs.joint_positions.copy()


@pytest.mark.parametrize(
    ("config", "commands", "reason"),
    [
        (
            SymbolDataConfig(pmc=PmcConfig(workspace_upper_m=(0.45, 1.0, 0.05))),
            (Move(gripper="left", direction="upward", magnitude="slightly"),),
            "workspace",
        ),
        (
            SymbolDataConfig(
                pmc=PmcConfig(significant_m=0.5, workspace_lower_m=(-2, -2, -2), workspace_upper_m=(2, 2, 2))
            ),
            (Move(gripper="left", direction="left", magnitude="significantly"),),
            "cannot reach",
        ),  # behind its base
        (SymbolDataConfig(), (Grasp(gripper="right", state="close"),), "already closed"),  # closed at reset
    ],
)
def test_bad_commands_are_refused_with_a_reason(robot, config, commands, reason) -> None:
    planner, obs, hold = _planner_view(robot, config)
    result = planner.plan(obs, hold, commands)
    assert isinstance(result, Refusal) and reason in result.reason


def test_a_refused_command_never_moves(robot, tmp_path: Path) -> None:
    config = SymbolDataConfig(pmc=PmcConfig(workspace_upper_m=(0.45, 1.0, 0.05)))
    spec = SymbolEpisodeSpec(3, 5, (Move(gripper="left", direction="upward", magnitude="slightly"),))
    recorder = EpisodeRecorder(RecordConfig(output_dir=tmp_path), "refused")
    row = run_symbol_episodes(robot, [spec], config, recorder=recorder)[0]
    assert row["refused"] and not row["success"] and "workspace" in row["reason"]
    assert row["ticks"] == spec.takeover + 1  # one holding tick, then the episode ends
    recorded = read_episode(row["file"], load_images=False)
    np.testing.assert_array_equal(recorded.policy_actions[-1], recorded.policy_actions[-2])  # held, not moved
    assert not recorded.diagnoses and not recorded.outcome.success


def test_sampled_commands_read_back_as_written() -> None:
    config = SymbolDataConfig(composition_probability=0.5)
    for seed in range(200):
        commands = sample_commands(np.random.default_rng(seed), config)
        text = format_commands(commands)
        assert parse_commands(text) == commands, text
        assert len(text.split()) <= 24  # aloha_state_cpu's max_prompt_tokens
    specs = sample_episodes(5, 50_000, config)
    assert [s.seed for s in specs] == list(range(50_000, 50_005)) and specs == sample_episodes(5, 50_000, config)


def test_learn_symbols_records_its_files(tmp_path: Path) -> None:
    from failforward.cli.main import main
    from failforward.learn.run_state import RunState
    from failforward.learn.stages import Pipeline

    run_dir = tmp_path / "run"
    assert main(["learn", "symbols", "--run-dir", str(run_dir), "--symbol-episodes", "2", "--demos", "1"]) == 0
    steps = json.loads((run_dir / "state.json").read_text())["steps"]
    rows = steps["symbols"]["episodes"]
    assert [r["seed"] for r in rows] == [50_000, 50_001] and "collect" not in steps
    for r in rows:
        assert (run_dir / r["file"]).is_file() and r["file"].startswith("symbols/")
    arrays = Pipeline(RunState.open(run_dir))._symbol_episodes()
    assert [a.prompt for a in arrays] == [r["prompt"] for r in rows if r["success"]]
    assert main(["learn", "symbols", "--run-dir", str(run_dir)]) == 0  # finished: skipped
    assert json.loads((run_dir / "state.json").read_text())["steps"]["symbols"] == steps["symbols"]
