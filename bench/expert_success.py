"""Success rate of the scripted expert on the simulated ALOHA tasks (physics only, no rendering).

Runs seeds ``0..N-1`` per task, each for at most 400 ticks (50 Hz) in the control loop
(``failforward.learn.expert_episode``) with chunks executed 25 of 50 rows at a time, and prints the
success rate with its 95% Wilson interval, the mean episode length of successful episodes and the
largest per-tick command change. ``--start`` chooses how the expert gets the scene: ``reset`` (from
the initial state) or a mid-episode takeover (``random``: after a random joint-space policy;
``teleport``: after another expert ran and the objects were teleported; ``drop``: after the right arm
dropped its lifted object).

Example:
    MUJOCO_GL=egl python bench/expert_success.py --seeds 50
    MUJOCO_GL=egl python bench/expert_success.py --seeds 50 --start random teleport drop
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from failforward.config import SimAlohaConfig
from failforward.learn.expert_episode import run_expert_episode
from failforward.policy.expert import ScriptedExpert
from failforward.policy.expert.evaluate import EpisodeResult, Prelude
from failforward.policy.expert.perturb import dropped_object, interrupted_expert, random_motion
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.sim.tasks import SimTaskSpec
from failforward.stats import wilson_interval

STARTS: dict[str, object] = {
    "reset": lambda task: None,
    "random": lambda task: random_motion(),
    "teleport": lambda task: interrupted_expert(task),
    "drop": lambda task: dropped_object(task),
}


def evaluate(task_name: str, seeds: int, start: str, max_steps: int, execute_steps: int) -> list[EpisodeResult]:
    with SimAlohaDriver(SimAlohaConfig(task=task_name, cameras=())) as robot:
        task: SimTaskSpec = robot.task
        prelude: Prelude | None = STARTS[start](task)  # type: ignore[operator]
        expert = ScriptedExpert(task, robot.privileged_state)
        return [
            run_expert_episode(robot, expert, seed, max_steps=max_steps, execute_steps=execute_steps, prelude=prelude)
            for seed in range(seeds)
        ]


def report(task: str, start: str, execute_steps: int, results: list[EpisodeResult], seconds: float) -> str:
    ok = [r for r in results if r.success]
    low, high = wilson_interval(len(ok), len(results))
    length = np.mean([r.steps for r in ok]) if ok else float("nan")
    failed = [i for i, r in enumerate(results) if not r.success]
    return (
        f"{task:14s} start={start:8s} k={execute_steps:2d} "
        f"success {len(ok)}/{len(results)} = {len(ok) / len(results):.0%} "
        f"(95% Wilson {low:.0%}-{high:.0%}), mean length {length:.0f} ticks, "
        f"max step arm {max(r.max_arm_step for r in results):.3f} rad gripper "
        f"{max(r.max_gripper_step for r in results):.3f}, {seconds:.1f} s; failed seeds {failed}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--tasks", nargs="+", default=["transfer_cube", "insertion"])
    parser.add_argument("--start", nargs="+", default=["reset"], choices=sorted(STARTS))
    parser.add_argument("--max-steps", type=int, default=400)
    parser.add_argument("--execute-steps", type=int, default=25, help="rows of each 50-row chunk executed")
    args = parser.parse_args()
    for start in args.start:
        for task in args.tasks:
            t0 = time.perf_counter()
            results = evaluate(task, args.seeds, start, args.max_steps, args.execute_steps)
            print(report(task, start, args.execute_steps, results, time.perf_counter() - t0), flush=True)


if __name__ == "__main__":
    main()
