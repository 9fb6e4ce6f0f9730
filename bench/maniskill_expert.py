"""Success rate of ManiSkill's motion-planning expert on the AFIL paper's Panda tasks, through failforward's loop.

Each task runs its preset (``maniskill_stack_cube``, ``maniskill_lift_peg_upright``, ``maniskill_pull_cube``:
20 Hz, chunks of 50 executed 25 at a time, the safety layer in between) with recording off, on seeds
``start .. start + N - 1``, and prints the success rate with its 95% Wilson interval, the mean length of
successful episodes, the failure reasons, and the wall time. ``--json`` also writes the per-episode results.

``--takeover T`` measures the expert taking over instead (issue 4's failure correction): for the first
``T`` ticks (at most 25) the arm moves linearly to a random pose up to 0.3 rad per joint away (seeded, the
gripper as it is), then the expert plans from wherever the arm, and anything it pushed, ended up.

Needs the ManiSkill venv (``bash scripts/setup_maniskill.sh``).

Example:
    .venv-maniskill/bin/python bench/maniskill_expert.py --seeds 50
    .venv-maniskill/bin/python bench/maniskill_expert.py --seeds 5 --tasks maniskill_pull_cube --json out.json
    .venv-maniskill/bin/python bench/maniskill_expert.py --seeds 20 --takeover 20
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import time
from pathlib import Path

import numpy as np

from failforward.config import RunConfig, get_preset
from failforward.control.assembly import build_loop, policy_context
from failforward.control.loop import EpisodeResult
from failforward.control.runtime import run
from failforward.policy.base import PolicyBackend
from failforward.policy.registry import make_policy
from failforward.robots.registry import make_driver
from failforward.stats import wilson_interval
from failforward.types import ActionChunk, Observation

PRESETS = ("maniskill_stack_cube", "maniskill_lift_peg_upright", "maniskill_pull_cube")


class Takeover(PolicyBackend):
    """The first chunk moves the arm ``ticks`` ticks towards a random pose; every later chunk is the expert's."""

    def __init__(self, expert: PolicyBackend, ticks: int, seed: int) -> None:
        self.expert, self.ticks, self.rng = expert, ticks, np.random.default_rng(seed)
        self._started = False

    def reset(self) -> None:
        self._started = False
        self.expert.reset()

    def infer(self, obs: Observation, *, prompt: str = "", noise: np.ndarray | None = None) -> ActionChunk:
        if self._started:
            return self.expert.infer(obs, prompt=prompt)
        self._started = True
        offset = np.append(self.rng.uniform(-0.3, 0.3, 7), 0.0)  # [rad] arm; gripper unchanged
        ramp = np.linspace(1.0 / self.ticks, 1.0, self.ticks)[:, None]
        return ActionChunk(obs.joint_positions + ramp * offset, source="perturb")


def takeover_episodes(config: RunConfig, ticks: int) -> list[EpisodeResult]:
    """``config.episodes`` episodes through a :class:`ControlLoop` whose policy is :class:`Takeover`."""
    with make_driver(config.robot) as driver:
        policy = Takeover(make_policy(config.policy, policy_context(config, driver)), ticks, config.seed)
        loop = build_loop(config, driver, policy=policy)
        return [loop.run_episode(i, config.seed + i, config.robot.task) for i in range(config.episodes)]


def evaluate(preset: str, seeds: int, start: int, takeover: int) -> tuple[list[EpisodeResult], float]:
    config = get_preset(preset).with_overrides({"episodes": seeds, "seed": start, "record.enabled": False})
    began = time.perf_counter()
    episodes = takeover_episodes(config, takeover) if takeover else run(config, run_name=f"bench-{preset}").episodes
    return episodes, time.perf_counter() - began


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
    parser.add_argument(
        "--takeover",
        type=int,
        default=0,
        choices=range(26),
        metavar="T",
        help="ticks (1-25) of random arm motion before the expert takes over; 0: from reset",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    results = {}
    for preset in args.tasks:
        episodes, seconds = evaluate(preset, args.seeds, args.start, args.takeover)
        print(report(preset, episodes, seconds), flush=True)
        results[preset] = {
            "takeover_ticks": args.takeover,
            "seconds": seconds,
            "episodes": [
                {
                    "seed": e.seed,
                    "success": e.outcome.success,
                    "stage": e.outcome.stage,
                    "reason": e.outcome.reason,
                    "steps": e.steps,
                    "error": e.error,
                    "safety_clamped_ticks": e.safety_clamped_ticks,
                }
                for e in episodes
            ],
        }
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
