"""The CLI starts on a robot PC (core + hw extras): no simulator, training or rosbags package is imported.

Each case runs ``failforward.cli.main.main`` in a fresh interpreter whose import system refuses the optional
packages (a ``sys.meta_path`` finder raising ``ModuleNotFoundError``, as if they were not installed) and
reports, after the command, which refused names were asked for and which ``failforward`` modules were loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from failforward.cli.main import COMMANDS
from failforward.config import get_preset

ROOT = Path(__file__).resolve().parents[1]
ABSENT = ("mujoco", "torch", "mani_skill", "gym_aloha", "dm_control", "rosbags")
REPORT = "LAZY-CLI-REPORT "

SCRIPT = f"""
import importlib.abc, json, sys

asked = []

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {ABSENT!r}:
            asked.append(name)
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Absent())
from failforward.cli.main import main
try:
    code = main(sys.argv[1:])
finally:
    loaded = sorted(m for m in sys.modules if m.startswith("failforward"))
    print({REPORT!r} + json.dumps({{"asked": asked, "loaded": loaded}}), file=sys.stderr)
sys.exit(code)
"""


def _cli(*argv: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run the CLI with ``argv`` and the optional packages absent; the process and its import report."""
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith(REPORT)]
    assert len(lines) == 1, result.stderr[-3000:]
    return result, json.loads(lines[0].removeprefix(REPORT))


def _no_learning_modules(loaded: list[str]) -> None:
    assert not [m for m in loaded if m.startswith(("failforward.learn", "failforward.sim"))], loaded


def test_help_lists_every_subcommand_and_imports_none() -> None:
    result, report = _cli("--help")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in COMMANDS:
        assert name in result.stdout
    assert report["asked"] == []
    assert not [m for m in report["loaded"] if m.startswith("failforward.cli.") and m != "failforward.cli.main"]


def test_demo_help_on_the_aloha_preset() -> None:
    result, report = _cli("demo", "--preset", "aloha", "--help")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "--preset" in result.stdout and "--expert" in result.stdout
    assert report["asked"] == []
    _no_learning_modules(report["loaded"])


def test_demo_on_the_aloha_preset_stops_at_the_missing_serial_port(tmp_path: Path) -> None:
    port = get_preset("aloha").robot.follower_left_port
    if Path(port).exists():
        pytest.skip(f"{port} exists here: the demo would drive a real ALOHA")
    result, report = _cli("demo", "--preset", "aloha", "--output", str(tmp_path))
    assert result.returncode == 2, result.stderr[-3000:]  # a FailforwardError, reported by main
    assert f"error: Cannot open Dynamixel bus follower_left at {port}:" in result.stderr
    assert "Traceback" not in result.stderr and "ModuleNotFoundError" not in result.stderr
    assert report["asked"] == []
    assert "failforward.robots.aloha.driver" in report["loaded"]
    _no_learning_modules(report["loaded"])
    assert not list(tmp_path.iterdir())  # nothing recorded
