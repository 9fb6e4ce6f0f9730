"""Success rate of ManiSkill's motion-planning expert on the AFIL paper's Panda tasks, through failforward's loop.

Each task runs its preset (``maniskill_stack_cube``, ``maniskill_lift_peg_upright``, ``maniskill_pull_cube``:
20 Hz, chunks of 50 executed 25 at a time, the safety layer in between) with recording off, on seeds
``start .. start + N - 1``, and prints the success rate with its 95% Wilson interval, the mean length of
successful episodes, the failure reasons, and the wall time. ``--json`` also writes the per-episode results.

Needs the ManiSkill venv (``bash scripts/setup_maniskill.sh``).

Example:
    .venv-maniskill/bin/python bench/maniskill_expert.py --seeds 50
    .venv-maniskill/bin/python bench/maniskill_expert.py --seeds 5 --tasks maniskill_pull_cube --json out.json
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import time
from pathlib import Path

import numpy as np

from failforward.config import get_preset
from failforward.control.loop import EpisodeResult
from failforward.control.runtime import run
from failforward.stats import wilson_interval

PRESETS = ("maniskill_stack_cube", "maniskill_lift_peg_upright", "maniskill_pull_cube")


def evaluate(preset: str, seeds: int, start: int) -> tuple[list[EpisodeResult], float]:
    config = get_preset(preset).with_overrides({"episodes": seeds, "seed": start, "record.enabled": False})
    began = time.perf_counter()
    result = run(config, run_name=f"bench-{preset}")
    return result.episodes, time.perf_counter() - began


def report(preset: str, episodes: list[EpisodeResult], seconds: float) -> str:
    ok = [e for e in episodes if e.outcome.success]
    low, high = wilson_interval(len(ok), len(episodes))
    length = np.mean([e.steps for e in ok]) if ok else float("nan")
    reasons = collections.Counter(e.outcome.reason for e in episodes if not e.outcome.success)
    failed = [e.seed for e in episodes if not e.outcome.success]
    task = get_preset(preset).robot.task
    return (
        f"{task:18s} success {len(ok)}/{len(episodes)} = {len(ok) / len(episodes):.0%} "
        f"(95% Wilson {low:.0%}-{high:.0%}), mean length {length:.0f} ticks, {seconds:.0f} s; "
        f"failed seeds {failed} {dict(reasons)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="episodes per task (seeds start .. start+N-1)")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--tasks", nargs="+", default=list(PRESETS), choices=PRESETS, help="presets to run")
    parser.add_argument("--json", type=Path, help="write per-episode results here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results = {}
    for preset in args.tasks:
        episodes, seconds = evaluate(preset, args.seeds, args.start)
        print(report(preset, episodes, seconds), flush=True)
        results[preset] = {
            "seconds": seconds,
            "episodes": [{"seed": e.seed, "success": e.outcome.success, "stage": e.outcome.stage,
                          "reason": e.outcome.reason, "steps": e.steps, "error": e.error,
                          "safety_clamped_ticks": e.safety_clamped_ticks} for e in episodes],
        }
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
