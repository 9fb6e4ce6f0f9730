"""The type checker holds for the core and the ROS package (``[tool.mypy]`` in pyproject.toml).

mypy keeps an incremental cache in ``.mypy_cache/`` at the repository root: the first run on a fresh
checkout takes about a minute, later runs re-check only what changed (a few seconds).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_reports_no_errors() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.fail("mypy is not installed; install the dev extra: pip install -e '.[dev]'")
    # No paths on the command line: the files, plugins and per-module settings come from pyproject.toml.
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--no-color-output"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    report = result.stdout.splitlines()
    errors = [line for line in report if ": error:" in line]
    if result.returncode != 0 or errors:
        pytest.fail(
            f"mypy found {len(errors)} errors (exit {result.returncode}); fix the causes, or use a specific "
            "'# type: ignore[code]' with a reason:\n" + "\n".join(report[:300]) + result.stderr[-2000:],
            pytrace=False,
        )
