"""The runtime end to end: preset → driver, policy, supervisor, loop, recorder → files and report."""

from __future__ import annotations

import json
from pathlib import Path

from failforward.cli.main import main
from failforward.config import get_preset
from failforward.control.interrupt import Interrupt
from failforward.control.runtime import run
from failforward.record.reader import read_episode
from failforward.recovery.events import RecoveryEvent
from failforward.types import TickSubscriber


def test_expert_episode_with_the_oracle_supervisor_is_recorded(tmp_path: Path) -> None:
    config = get_preset("sim_transfer_cube").with_overrides(
        {
            "episodes": 1,
            "seed": 3,
            "record.output_dir": str(tmp_path),
            "supervisor.schedule.every_chunks": 2,
            "robot.image_height": 96,
            "robot.image_width": 128,
        }
    )
    result = run(config, run_name="expert")
    episode = result.episodes[0]
    assert episode.outcome.success and episode.error is None
    assert episode.reports, "the supervisor should have answered at least once"
    recorded = read_episode(episode.files[0])
    assert recorded.outcome.success and recorded.length == episode.steps
    assert len(recorded.diagnoses) == len(episode.reports)
    assert all(d["result"]["kind"] in ("diagnosis", "no_diagnosis", "unreadable") for _, d in recorded.diagnoses)


def test_a_stalled_robot_is_flagged_by_the_oracle(tmp_path: Path) -> None:
    """The hold policy never touches the cube: the oracle must call it a failure within 5 s."""
    config = get_preset("sim_transfer_cube").with_overrides(
        {
            "episodes": 1,
            "policy.kind": "hold",
            "loop.max_steps": 300,
            "record.output_dir": str(tmp_path),
            "supervisor.schedule.every_chunks": 2,
            "robot.image_height": 96,
            "robot.image_width": 128,
        }
    )
    episode = run(config, run_name="stall").episodes[0]
    assert not episode.outcome.success
    failures = [r for r in episode.reports if r.result.kind == "diagnosis" and not r.result.success]
    assert failures, [r.result for r in episode.reports]
    assert failures[0].result.symbols or failures[0].result.commands  # it says what to do about it


class FirstCorrection(TickSubscriber):
    """Watches supervisor answers and recovery events; stops the episode once a correction has completed."""

    def __init__(self) -> None:
        self.interrupt = Interrupt(announce=lambda _: None)
        self.flagged_at: list[int] = []
        self.events: list[RecoveryEvent] = []
        self.tick = 0

    def on_tick(self, tick) -> None:
        self.tick = tick.step

    def record_report(self, report) -> None:
        if report.result.kind == "diagnosis" and not report.result.success:
            self.flagged_at.append(report.step)

    def record_event(self, event: RecoveryEvent) -> None:
        self.events.append(event)
        if event.kind == "completed":
            self.interrupt.request("a correction completed")


def test_the_sim_preset_gives_supervision_and_recovery_time_to_act(tmp_path: Path) -> None:
    """As shipped (schedule, stall rule, episode length): a robot that never moves is flagged at the second query
    and a PMC correction completes with time left in the episode (issue 17: at 400 ticks neither happened)."""
    preset = get_preset("sim_transfer_cube")
    config = preset.with_overrides(
        {"episodes": 1, "seed": 3, "policy.kind": "hold", "record.enabled": False, "record.output_dir": str(tmp_path)}
    )
    watch = FirstCorrection()
    run(config, run_name="time-to-act", subscribers=[watch], interrupt=watch.interrupt)
    query_ticks = preset.supervisor.schedule.every_chunks * preset.broker.execute_steps
    assert watch.flagged_at and watch.flagged_at[0] <= 2 * query_ticks + preset.broker.execute_steps
    kinds = [e.kind for e in watch.events]
    assert "planned" in kinds and kinds[-1] == "completed", kinds
    assert watch.tick < preset.loop.max_steps - 5 * preset.loop.rate_hz  # >= 5 s of the episode left


def test_demo_command_prints_and_writes_the_report(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "demo",
            "--preset",
            "sim_insertion",
            "--episodes",
            "1",
            "--output",
            str(tmp_path),
            "--set",
            "robot.image_height=96",
            "--set",
            "robot.image_width=128",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "success rate: 1/1" in out and "mcap:" in out and "report:" in out
    report_dir = next(tmp_path.iterdir())
    summary = json.loads((report_dir / "report.json").read_text())
    assert summary["episodes"] == 1 and summary["success_rate"] == 1.0
    assert (report_dir / "joint_trajectories.png").stat().st_size > 10_000
    assert (report_dir / "head_camera_strip.png").exists()
    rows = [line for line in (report_dir / "report.md").read_text().splitlines() if line.startswith("| ")]
    assert len(rows) == 3 and len({row.count("|") for row in rows}) == 1  # every row fills every column
    assert rows[2].split("|")[8].strip() == "0"  # no corrections in a successful expert episode


def test_demo_reports_config_errors_without_a_traceback(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--preset", "sim_insertoin", "--output", str(tmp_path)]) == 2
    assert "Did you mean 'sim_insertion'" in capsys.readouterr().err


def test_supervisor_diagnosis_drives_a_pmc_correction_then_hold(tmp_path: Path) -> None:
    """Oracle → diagnosis → PMC trajectory through the loop's safety layer → re-diagnosis → HOLD when exhausted.

    The hold policy never grasps, so the oracle keeps flagging it; the correction must move the right arm.
    """
    config = get_preset("sim_transfer_cube").with_overrides(
        {
            "episodes": 1,
            "policy.kind": "hold",
            "loop.max_steps": 480,
            "record.output_dir": str(tmp_path),
            "supervisor.schedule.every_chunks": 2,
            "recovery.max_attempts": 1,
            "robot.image_height": 120,
            "robot.image_width": 160,
        }
    )
    episode = run(config, run_name="recover").episodes[0]
    recorded = read_episode(episode.files[0], load_images=False)
    kinds = [event["kind"] for _, event in recorded.recovery_events]
    assert kinds[:4] == ["reset", "diagnosed", "planned", "completed"], kinds
    assert "exhausted" in kinds and recorded.recovery_events[-1][1]["target"] == "hold"
    planned_at = next(t for t, event in recorded.recovery_events if event["kind"] == "planned")
    during = recorded.joint_positions[(recorded.timestamps > planned_at) & (recorded.timestamps < planned_at + 0.8)]
    assert abs(during[-1] - during[0]).max() > 0.05  # the correction really moved the arm


def test_export_vqa_command_writes_pairs_from_recorded_episodes(tmp_path: Path, capsys) -> None:
    config = get_preset("sim_transfer_cube").with_overrides(
        {
            "episodes": 1,
            "record.output_dir": str(tmp_path / "runs"),
            "robot.image_height": 96,
            "robot.image_width": 128,
            "supervisor.enabled": False,
            "recovery.enabled": False,
        }
    )
    episode = run(config, run_name="for-export").episodes[0]
    assert main(["export-vqa", str(episode.files[0]), "--out", str(tmp_path / "vqa")]) == 0
    lines = (tmp_path / "vqa" / "vqa.jsonl").read_text().splitlines()
    assert lines and all(json.loads(line)["messages"][0]["role"] == "user" for line in lines)
    assert "records=" in capsys.readouterr().out


def test_demo_falls_back_to_the_expert_on_the_afil_preset(tmp_path: Path, capsys) -> None:
    assert (
        main(["demo", "--preset", "sim_transfer_cube_afil", "--expert", "--episodes", "1", "--output", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "expert on sim_aloha" in out and "success rate: 1/1" in out
