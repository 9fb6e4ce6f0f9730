"""Import rules (import-linter contracts in pyproject.toml) and lint hold for the whole tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.fail(f"{name} is not installed; install the dev extra: pip install -e '.[dev]'")
    return path


def test_import_layers_and_no_rclpy_in_core() -> None:
    result = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


PATHS = ["src", "tests", "bench", "ros2_ws", "launch", "tools", "scripts"]


def test_ruff_is_clean() -> None:
    result = subprocess.run([_tool("ruff"), "check", *PATHS], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_tree_is_ruff_formatted() -> None:
    result = subprocess.run(
        [_tool("ruff"), "format", "--check", *PATHS], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, "run `./run ruff format " + " ".join(PATHS) + "`:\n" + result.stdout[-3000:]
