"""Simulated ALOHA step cost with and without rendering, and control-loop tick jitter.

Run: ./run python bench/sim_step_cost.py [--steps 100]

Everything is measured side by side in one run (these machines are noisy), and reported as
ratios to the physics-only step. The reference is gym-aloha's own ``env.step`` (three 480x640
cameras with shadows every step).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")

import gym_aloha  # noqa: F401 - registers the envs
import gymnasium as gym
import numpy as np

from failforward.config import BrokerConfig, LoopConfig, SafetyConfig, SimAlohaConfig
from failforward.control.assembly import assemble_loop
from failforward.policy.hold import HoldPolicy
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.types import JointCommand, TickRecord, TickSubscriber


def time_driver(config: SimAlohaConfig, steps: int) -> float:
    """Mean [ms] of one observe + send_action tick of our driver."""
    with SimAlohaDriver(config) as robot:
        obs = robot.reset(seed=0)
        start = time.perf_counter()
        for _ in range(steps):
            obs = robot.get_observation()
            robot.send_action(JointCommand(obs.timestamp, obs.joint_positions))
        return (time.perf_counter() - start) / steps * 1e3


def time_gym_aloha(steps: int) -> float:
    """Mean [ms] of gym-aloha's ``env.step`` (renders top, angle and front_close at 480x640 every step)."""
    env = gym.make("gym_aloha/AlohaTransferCube-v0")
    env.reset(seed=0)
    action = np.zeros(14)
    start = time.perf_counter()
    for _ in range(steps):
        env.step(action)
    env.close()
    return (time.perf_counter() - start) / steps * 1e3


def tick_jitter(ticks: int) -> dict[str, float]:
    """Real-time loop at 50 Hz (physics only, hold policy): tick start interval statistics [ms]."""
    starts: list[float] = []

    class Stamp(TickSubscriber):
        def on_tick(self, tick: TickRecord) -> None:
            starts.append(time.perf_counter())

    with SimAlohaDriver(SimAlohaConfig(cameras=())) as robot:
        timing = LoopConfig(max_steps=ticks, realtime=True, stop_on_success=False)
        loop = assemble_loop(
            robot,
            HoldPolicy(),
            loop=timing,
            safety=SafetyConfig(),
            broker=BrokerConfig(),
            prompt="hold",
            subscribers=[Stamp()],
        )
        result = loop.run_episode(0, seed=0)
    intervals = np.diff(starts) * 1e3
    return {
        "period_mean_ms": float(intervals.mean()),
        "jitter_std_ms": float(intervals.std()),
        "jitter_p99_abs_ms": float(np.percentile(np.abs(intervals - 20.0), 99)),
        "overruns": float(result.timing["overruns"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--ticks", type=int, default=500)
    args = parser.parse_args()
    cases = {
        "physics only (no camera)": SimAlohaConfig(cameras=()),
        "top 240x320": SimAlohaConfig(cameras=("top",)),
        "top 480x640": SimAlohaConfig(cameras=("top",), image_height=480, image_width=640),
        "top 480x640 + depth": SimAlohaConfig(
            cameras=("top",), depth_cameras=("top",), image_height=480, image_width=640
        ),
        "top + 2 wrists 240x320": SimAlohaConfig(cameras=("top", "left_wrist", "right_wrist")),
    }
    results = {name: time_driver(cfg, args.steps) for name, cfg in cases.items()}
    results["gym-aloha env.step (3 cams 480x640, shadows)"] = time_gym_aloha(max(args.steps // 5, 10))
    base = results["physics only (no camera)"]
    print(f"{'case':48s} {'ms/step':>9s} {'x physics':>10s}")
    for name, ms in results.items():
        print(f"{name:48s} {ms:9.2f} {ms / base:10.1f}")
    jitter = tick_jitter(args.ticks)
    print(
        f"\nreal-time loop, 50 Hz, {args.ticks} ticks: period {jitter['period_mean_ms']:.3f} ms, "
        f"jitter std {jitter['jitter_std_ms']:.3f} ms, p99 |error| {jitter['jitter_p99_abs_ms']:.3f} ms, "
        f"overruns {jitter['overruns']:.0f}"
    )


if __name__ == "__main__":
    main()
