"""A motor unplugged mid-episode on the emulated ALOHA: one line says what happened; --debug adds the traceback."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from failforward.robots.dynamixel.emulator import DynamixelEmulator, aloha_port_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_motor_unplugged_mid_episode_is_reported_without_a_traceback(
    emulator: DynamixelEmulator, tmp_path: Path, debug: bool
) -> None:
    settings = [f"--set=robot.{key}={value}" for key, value in aloha_port_settings(emulator).items()]
    demo = ["demo", "--preset", "aloha", "--episodes", "1", "--output", str(tmp_path), *settings]
    command = [sys.executable, "-m", "failforward.cli.main", *(["--debug"] if debug else []), *demo]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)  # connected and holding
    emulator.unplug("follower_left", 4)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr[-3000:]  # the episode ends aborted; the run and its report complete
    assert "ended by an error" in stderr and "follower_left" in stderr, stderr[-3000:]
    assert ("Traceback" in stderr) == debug, stderr[-3000:]
