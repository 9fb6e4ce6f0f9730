"""``bench/vine.py dagger-summary``: the README's DART rollout counts come from it, so its counting is checked on
directories whose outcomes are known."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _write_rollouts(directory: Path, rows: list[tuple[int, bool, int]]) -> None:
    """An ``episodes.jsonl`` as ``bench/vine.py dagger`` writes it: (seed, success, ticks) per rollout, 10 labels of
    which 4 ran."""
    directory.mkdir()
    lines = [
        json.dumps({"seed": seed, "success": won, "ticks": ticks, "labels": 10, "expert_ran": 4})
        for seed, won, ticks in rows
    ]
    (directory / "episodes.jsonl").write_text("\n".join(lines) + "\n")


def test_the_summary_counts_successes_time_limits_and_labels_per_directory_and_together(tmp_path: Path) -> None:
    first, second, empty = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _write_rollouts(first, [(7, True, 400), (5, False, 2000), (6, False, 1200)])
    _write_rollouts(second, [(20, True, 390)])
    empty.mkdir()
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "vine.py"), "dagger-summary", str(first), str(second), str(empty)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in out.splitlines()[2:]}
    assert set(rows) == {str(first), str(second), "all"}  # a directory with no rollouts has no row
    assert "| 5–7 (3) | 1/3 = 33%" in rows[str(first)] and "| 1/3 | 30 (12) |" in rows[str(first)]
    assert "| 20–20 (1) | 1/1 = 100%" in rows[str(second)] and "| 0/1 | 10 (4) |" in rows[str(second)]
    assert "| 5–20 (4) | 2/4 = 50%" in rows["all"] and "| 1/4 | 40 (16) |" in rows["all"]
