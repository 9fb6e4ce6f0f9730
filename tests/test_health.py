"""Honest health (issue 14, item 9): supervisor outcomes counted apart, refused configs, tracebacks only on --debug."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

import failforward.testing  # noqa: F401 - registers the fake robot
from failforward.cli.demo import _run_preset
from failforward.config import (
    LoopConfig,
    OpenAIBackendConfig,
    PolicyConfig,
    RunConfig,
    ScheduleConfig,
    SupervisorConfig,
    get_preset,
)
from failforward.errors import ConfigError
from failforward.supervisor.diagnosis import Diagnosis, NoDiagnosis, Unreadable
from failforward.supervisor.tally import SupervisorTally
from failforward.testing import FakeRobotConfig

ROOT = Path(__file__).resolve().parents[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on return: connections are refused


def test_each_outcome_is_counted_apart() -> None:
    results = [
        Diagnosis(question="visual_correction_cot", success=False),
        Diagnosis(question="visual_correction_cot", success=True),
        NoDiagnosis(reason="timeout"),
        NoDiagnosis(reason="connection"),
        NoDiagnosis(reason="http_error"),
        NoDiagnosis(reason="empty_frames"),
        Unreadable(reason="no <Answer>"),
    ]
    tally = SupervisorTally.of(results)
    assert tally == SupervisorTally(answers=2, flagged=1, timeouts=1, unreachable=2, no_frames=1, unreadable=1)
    assert tally.queries == 7 and not tally.healthy
    assert tally.line() == (
        "7 queries: 2 answers (1 flagged a failure), 1 timeouts, 2 unreachable, 1 without frames, 1 unreadable"
    )
    assert SupervisorTally.from_dict(tally.as_dict()) + tally == SupervisorTally.of(results + results)


def test_a_dead_endpoint_reads_as_unreachable_in_the_report(tmp_path: Path, capsys) -> None:
    backend = OpenAIBackendConfig(base_url=f"http://127.0.0.1:{_closed_port()}/v1", retries=0, timeout_s=2.0)
    config = RunConfig(
        robot=FakeRobotConfig(cameras=("top",), image_height=8, image_width=8),
        policy=PolicyConfig(kind="hold"),
        loop=LoopConfig(rate_hz=50.0, max_steps=120, realtime=False),
        supervisor=SupervisorConfig(enabled=True, backend=backend, schedule=ScheduleConfig(every_chunks=1)),
        episodes=1,
    ).with_overrides({"record.output_dir": str(tmp_path), "broker.execute_steps": 10})
    summary = _run_preset("dead_endpoint", config, "dead")
    counts = summary["supervisor"]
    assert counts["answers"] == 0 and counts["flagged"] == 0
    assert counts["unreachable"] >= 1, counts
    report = (tmp_path / "dead" / "report.md").read_text()
    assert "unreachable" in report and "0 answers" in report


def test_a_supervisor_without_its_head_camera_is_refused_with_the_reason() -> None:
    assert not get_preset("aloha").supervisor.enabled  # no camera in the shipped hardware presets
    with pytest.raises(ConfigError, match=r"head camera supervisor\.schedule\.camera='top'"):
        get_preset("aloha").with_overrides({"supervisor.enabled": True})
    with pytest.raises(ConfigError, match=r"robot\.cameras"):
        get_preset("sim_transfer_cube").with_overrides({"robot.cameras": ["left_wrist"]})


def failforward_cli(*args: str) -> subprocess.Popen:
    """``failforward ARGS`` as a user runs it, from the repository root (text pipes)."""
    command = [sys.executable, "-m", "failforward.cli.main", *args]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_missing_robot_prints_its_message_and_a_traceback_only_with_debug(tmp_path: Path) -> None:
    args = ("demo", "--preset", "aloha", "--episodes", "1", "--output", str(tmp_path))
    plain = failforward_cli(*args)
    _, stderr = plain.communicate(timeout=120)
    assert plain.returncode == 2
    assert "Cannot open Dynamixel bus" in stderr and "Traceback" not in stderr
    debug = failforward_cli("--debug", *args)
    _, stderr = debug.communicate(timeout=120)
    assert debug.returncode == 2 and "Traceback" in stderr and "Cannot open Dynamixel bus" in stderr
