"""Real-time execution: synchronous vs asynchronous inference vs real-time chunking, under emulated policy delay.

The shipped AFIL model (``sim_transfer_cube_afil``, physics only: no cameras, no supervisor, no recording) runs on
held-out seeds behind a :class:`~failforward.policy.delayed.DelayedPolicy` that makes every chunk cost ``d`` ms of
wall time (a slow GPU or a network hop). Modes, all on the same seeds in one run:

- ``sync``: today's broker, inference inside the tick (the tick waits ``d``);
- ``async``: the asynchronous broker, plain switching (the new chunk takes over at row ``d``, no prefix);
- ``rtc_inference``: asynchronous + inference-time RTC (ΠGDM guidance toward the queued actions; torch backend);
- ``rtc_training``: asynchronous + training-time RTC (the model conditioned on the frozen prefix; onnxruntime);
  skipped with a message when the model was not trained for prefixes.

Per mode and ``d``: success with its 95 % Wilson interval; the largest per-tick action jump where a chunk took over,
relative to the safety layer's per-tick limit of that joint (≤ 1: no clamping needed); how many of those splices
and of all ticks the per-tick limit cut; task time [s] of successful episodes (ticks × period plus the time ticks
overran the period, i.e. what a real-time robot would have waited); starved ticks per episode; the mean delay
``d`` [actions]; and (``--realtime-seeds``, a few episodes paced by the wall clock) the p99 of |tick period − 20 ms|.

Without ``loop.realtime`` the asynchronous broker keeps robot time honest (a result of latency ``L`` is collected
``⌈L / 20 ms⌉`` ticks after its request; see :mod:`failforward.control.async_broker`), so these runs see the delays a
real-time run would. The synchronous broker's stall cannot move a lock-step simulator (physics waits with the loop),
so its cost shows in task time and tick period, not in success: a real arm would hold for ``d`` at every chunk.

``--jitter`` adds the loop-jitter check: the real-time loop (physics only) with the shipped model's inference in
flight on every tick vs a hold policy, interleaved, p99 |period error| ratio (target ≤ 1.1).

Example:
    MUJOCO_GL=egl python bench/realtime.py --seeds 50 --out runs/bench/realtime.jsonl
    MUJOCO_GL=egl python bench/realtime.py --seeds 3 --delays-ms 0 200 --modes sync async --realtime-seeds 0
    MUJOCO_GL=egl python bench/realtime.py --jitter-only --jitter-rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.config import RunConfig, get_preset
from failforward.control.assembly import build_loop, policy_context
from failforward.policy.afil.errors import ManifestError
from failforward.policy.base import PolicyBackend
from failforward.policy.delayed import DelayedPolicy
from failforward.policy.hold import HoldPolicy
from failforward.policy.registry import make_policy
from failforward.robots.base import EpisodicDriver
from failforward.robots.registry import make_driver
from failforward.stats import wilson_interval
from failforward.testing.policy_server import ServerProcess
from failforward.types import ChunkPrefix, EpisodeInfo, EpisodeOutcome, Observation, TickRecord

PRESET = "sim_transfer_cube_afil"
HELD_OUT_SEED = 100_000  # the model card's held-out evaluation seeds start here
BASE = {
    "robot.cameras": [],
    "supervisor.enabled": False,
    "recovery.enabled": False,
    "record.enabled": False,
    "loop.max_steps": 400,
    "policy.seed": 0,
}
MODES: dict[str, dict[str, Any]] = {
    "sync": {"broker.inference": "synchronous"},
    "async": {"broker.inference": "asynchronous", "broker.rtc": False},
    "rtc_inference": {
        "broker.inference": "asynchronous",
        "broker.rtc": True,
        "policy.backend": "torch",
        "policy.rtc": "inference",
    },
    "rtc_training": {"broker.inference": "asynchronous", "broker.rtc": True, "policy.rtc": "training"},
}


class TickMeter:
    """Per episode: tick wall times (for the period error), and the time ticks spent past the period."""

    def __init__(self, period: float) -> None:
        self.period = period
        self.stamps: list[float] = []
        self.overrun_s = 0.0

    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.stamps, self.overrun_s = [], 0.0

    def on_tick(self, tick: TickRecord) -> None:
        self.stamps.append(time.perf_counter())
        self.overrun_s += max(0.0, sum(tick.timings.values()) - self.period)

    def on_episode_end(self, outcome: EpisodeOutcome) -> None:
        pass

    def period_errors_ms(self) -> np.ndarray:
        return np.abs(np.diff(self.stamps) - self.period) * 1e3


def mode_config(mode: str, realtime: bool) -> RunConfig:
    overrides = {**BASE, **MODES[mode], "loop.realtime": realtime}
    return get_preset(PRESET).with_overrides(overrides)


def warm_up(policy: PolicyBackend, observation: Observation) -> None:
    """One call without and (when the policy takes one) one with a prefix, so that first-use costs (an autograd
    graph, allocator growth) stay out of the measured episodes, as the broker keeps cold starts out of its
    latency statistics."""
    chunk = policy.infer(observation)
    if policy.rtc.method != "none":
        policy.infer(observation, prefix=ChunkPrefix(chunk.actions[:10], min(3, policy.rtc.max_delay)))


def run_mode(mode: str, delay_ms: float, seeds: list[int], realtime: bool) -> Iterable[dict[str, Any]]:
    """One row per episode of ``mode`` at ``delay_ms``."""
    config = mode_config(mode, realtime)
    with make_driver(config.robot) as driver:
        try:
            inner = make_policy(config.policy, policy_context(config, driver))
        except ManifestError as exc:  # rtc_training on a model not trained for prefixes
            print(f"  {mode}: skipped: {exc}")
            return
        warm_up(inner, driver.reset(seeds[0]) if isinstance(driver, EpisodicDriver) else driver.get_observation())
        policy: PolicyBackend = DelayedPolicy(inner, delay_ms / 1e3)
        meter = TickMeter(1.0 / config.loop.rate_hz)
        loop = build_loop(config, driver, policy=policy, subscribers=[meter])
        for index, seed in enumerate(seeds):
            result = loop.run_episode(index, seed, task=config.robot.task)
            errors = meter.period_errors_ms()
            yield {
                "mode": mode,
                "delay_ms": delay_ms,
                "seed": seed,
                "realtime": realtime,
                "success": result.outcome.success,
                "steps": result.steps,
                "error": result.error,
                "clamped_ticks": result.safety_clamped_ticks,
                "overrun_s": meter.overrun_s,
                "period_error_p99_ms": float(np.percentile(errors, 99)) if errors.size else None,
                **{f"inf_{k}": v for k, v in result.inference.items()},
            }
        policy.close()


def load_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def collect(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run what ``args`` asks for, skipping (mode, d, seed, realtime) rows already in ``--out`` (resumable)."""
    rows = load_rows(args.out)
    done = {(r["mode"], r["delay_ms"], r["seed"], r["realtime"]) for r in rows}
    plan = [(False, range(HELD_OUT_SEED, HELD_OUT_SEED + args.seeds))]
    if args.realtime_seeds:
        plan.append((True, range(HELD_OUT_SEED, HELD_OUT_SEED + args.realtime_seeds)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as sink:
        for realtime, seeds in plan:
            for delay in args.delays_ms:
                for mode in args.modes:
                    todo = [s for s in seeds if (mode, delay, s, realtime) not in done]
                    if not todo:
                        continue
                    start = time.perf_counter()
                    for row in run_mode(mode, delay, todo, realtime):
                        rows.append(row)
                        sink.write(json.dumps(row) + "\n")
                        sink.flush()
                    clock, spent = "real time" if realtime else "robot time", time.perf_counter() - start
                    print(f"  {mode:13s} d={delay:5.0f} ms {clock}: {len(todo)} episodes in {spent:.0f} s")
    return rows


def table(rows: list[dict[str, Any]], modes: list[str], delays: list[float], period: float = 0.02) -> str:
    lines = [
        "| mode | d [ms] | success [95% CI] | max splice jump [× per-tick limit] | splices rate-limited "
        "| rate-limited ticks | task time [s] | starved ticks / ep | delay d [actions] | tick period p99 error [ms] |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for mode in modes:
        for delay in delays:
            sim = [r for r in rows if r["mode"] == mode and r["delay_ms"] == delay and not r["realtime"]]
            if not sim:
                continue
            real = [r for r in rows if r["mode"] == mode and r["delay_ms"] == delay and r["realtime"]]
            wins = [r for r in sim if r["success"]]
            low, high = wilson_interval(len(wins), len(sim))
            ticks = sum(r["steps"] for r in sim)
            limited = sum(r.get("inf_rate_limited_ticks", 0) for r in sim)
            splices = sum(r.get("inf_chunks", 0) for r in sim)
            splices_limited = sum(r.get("inf_splices_rate_limited", 0) for r in sim)
            task = np.mean([r["steps"] * period + r["overrun_s"] for r in wins]) if wins else float("nan")
            delays_seen = [r.get("inf_delay_mean") for r in sim if r.get("inf_delay_mean") is not None]
            p99 = [r["period_error_p99_ms"] for r in real if r["period_error_p99_ms"] is not None]
            lines.append(
                f"| {mode} | {delay:.0f} | {len(wins)}/{len(sim)} = {len(wins) / len(sim):.0%} [{low:.0%}–{high:.0%}] "
                f"| {max(r.get('inf_max_splice_jump_ratio', 0.0) for r in sim):.2f} "
                f"| {splices_limited:.0f}/{splices:.0f} "
                f"| {limited:.0f}/{ticks} "
                f"| {task:.2f} | {np.mean([r.get('inf_starved_ticks', 0) for r in sim]):.1f} "
                f"| {np.mean(delays_seen) if delays_seen else float('nan'):.1f} "
                f"| {f'{np.median(p99):.1f} (median of {len(p99)})' if p99 else '–'} |"
            )
    return "\n".join(lines)


def jitter(rounds: int, ticks: int) -> str:
    """Real-time loop, physics only: p99 |period error| with inference in flight every tick vs a hold policy.

    Inference runs in the loop's worker thread, and (third arm) in a policy server process at a lower CPU priority
    (``failforward serve``, nice 10) reached over loopback: what a process worker buys over a thread.
    """
    config = get_preset(PRESET).with_overrides(
        {**BASE, "loop.realtime": True, "loop.max_steps": ticks, "loop.stop_on_success": False}
    )
    busy = config.with_overrides({"broker.inference": "asynchronous", "broker.refill_threshold": 10_000})
    arms = ("hold policy (no inference)", "inference in flight, worker thread", "inference in flight, server process")
    errors: dict[str, list[float]] = {arm: [] for arm in arms}
    chunks = dict.fromkeys(arms, 0)
    with ServerProcess.model(Path(str(config.policy.model_dir))) as server, make_driver(config.robot) as driver:
        assert server.process is not None
        os.setpriority(os.PRIO_PROCESS, server.process.pid, 10)
        remote = busy.with_overrides({"policy": {"kind": "remote", "endpoint": server.endpoint, "timeout_s": 5.0}})
        meters = {arm: TickMeter(0.02) for arm in arms}
        loops = {
            arms[0]: build_loop(config, driver, policy=HoldPolicy(), subscribers=[meters[arms[0]]]),
            arms[1]: build_loop(busy, driver, subscribers=[meters[arms[1]]]),
            arms[2]: build_loop(remote, driver, subscribers=[meters[arms[2]]]),
        }
        for index in range(rounds):
            for arm, loop in loops.items():
                result = loop.run_episode(index, HELD_OUT_SEED + index)
                errors[arm].extend(meters[arm].period_errors_ms())
                chunks[arm] += int(result.inference.get("chunks", 0))
        loops[arms[2]].policy.close()
    p99 = {arm: float(np.percentile(values, 99)) for arm, values in errors.items()}
    lines = [f"real-time loop, 50 Hz, physics only, {rounds} rounds × {ticks} ticks per arm, interleaved:"]
    for arm in arms:
        ratio = p99[arm] / max(p99[arms[0]], 1e-9)
        lines.append(
            f"  {arm:38s} p99 |period error| {p99[arm]:6.3f} ms, ratio to hold {ratio:.2f} ({chunks[arm]} chunks)"
        )
    lines.append("  target: ratio <= 1.1")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=50, help="held-out seeds from 100000 (robot-time runs)")
    parser.add_argument("--realtime-seeds", type=int, default=3, help="episodes per mode and d paced in real time")
    parser.add_argument("--delays-ms", type=float, nargs="+", default=[0, 40, 100, 200, 300])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--out", type=Path, default=Path("runs/bench/realtime.jsonl"), help="rows (resumable)")
    parser.add_argument("--jitter", action="store_true", help="also run the loop-jitter check")
    parser.add_argument("--jitter-only", action="store_true")
    parser.add_argument("--jitter-rounds", type=int, default=4)
    parser.add_argument("--jitter-ticks", type=int, default=500)
    args = parser.parse_args()
    if not args.jitter_only:
        rows = collect(args)
        print(table(rows, args.modes, args.delays_ms))
    if args.jitter or args.jitter_only:
        print(jitter(args.jitter_rounds, args.jitter_ticks))


if __name__ == "__main__":
    main()
