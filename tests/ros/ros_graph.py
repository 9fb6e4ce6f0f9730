"""Helpers for node-graph tests: node executables as processes, spinning until a condition holds."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import rclpy

ROOT = Path(__file__).resolve().parents[2]
SETUP = (ROOT / "ros2_ws" / "src" / "failforward_ros" / "setup.py").read_text()


def module_of(executable: str) -> str:
    """Console-script name → module, read from setup.py's entry points."""
    match = re.search(rf'"{executable} = (failforward_ros\.[a-z_]+):main"', SETUP)
    assert match, f"{executable} is not a console script of failforward_ros"
    return match.group(1)


class NodeProcess:
    """One node executable running as its own process."""

    def __init__(
        self,
        executable: str,
        params_file: Path,
        overrides: dict[str, str],
        env: dict[str, str],
        log_dir: Path,
        node_name: str | None = None,
    ) -> None:
        args = [sys.executable, "-m", module_of(executable), "--ros-args", "--params-file", str(params_file)]
        if node_name:
            args += ["-r", f"__node:={node_name}"]
        for key, value in overrides.items():
            args += ["-p", f"{key}:={value}"]
        self.log_path = log_dir / f"{executable}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int:
        if self.alive():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()


def wait_for(predicate, timeout: float, node, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=step)
        if predicate():
            return True
    return False
