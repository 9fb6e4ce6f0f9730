"""VINE's scene graph from the camera (issue 16, item 2): the plug strip with ``perception.kind='rgbd'`` against the
simulator's poses, the same held-out layouts in one run.

``run``: per seed, the ``sim_plug_strip_vine`` preset (the planner's scene graph from the simulator's poses) and
``sim_plug_strip_vine_rgbd`` (from the head camera's RGB-D frame, 240x320, no multisampling), in that order; both run
VINE-Full with the prompted expert as System 1 (which moves from the simulator's state in both). The rgbd arm also
compares, every ``--every`` ticks, the estimator's poses with the simulator's (position error [mm] per object in play)
and the scene graph ``φ`` built from each (the same relations or not; which relations differ). Seen layouts from
100000 and unseen from 200000: the Table 1 held-out seeds. Rows go to ``--out`` (jsonl, one per episode and arm); a
stopped run resumes (episodes already there are skipped). ``table`` prints the summary (the README's numbers).

Example:
    MUJOCO_GL=egl nice -n 19 python bench/plug_strip_perception.py run --splits seen --seeds 45
    python bench/plug_strip_perception.py table
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.config import RunConfig, get_preset
from failforward.control.assembly import build_loop
from failforward.planner.errors import NodeUnavailableError
from failforward.planner.plug_strip import PlugStripPlanning
from failforward.robots.registry import make_driver
from failforward.robots.sim_aloha import SimAlohaDriver
from failforward.sim.plug_strip_layout import OBJECTS
from failforward.stats import rate_text
from failforward.types import EpisodeInfo, EpisodeOutcome, TickRecord

ARMS = {"ground_truth": "sim_plug_strip_vine", "rgbd": "sim_plug_strip_vine_rgbd"}
FIRST_SEED = {"seen": 100_000, "unseen": 200_000}
QUIET = {"record.enabled": False, "loop.realtime": False}


def arm_config(arm: str, split: str) -> RunConfig:
    overrides: dict[str, Any] = {**QUIET, "robot.split": split}
    if arm == "ground_truth":
        overrides["robot.cameras"] = []  # the simulator's poses need no rendering
    return get_preset(ARMS[arm]).with_overrides(overrides)


class SceneGraphMeter:
    """Every ``every`` ticks: the estimator's poses (in the observation the loop saw) against the simulator's, and
    ``φ`` of each."""

    def __init__(self, driver: SimAlohaDriver, planning: PlugStripPlanning, every: int) -> None:
        self.driver, self.planning, self.every = driver, planning, every
        self.errors: dict[str, list[float]] = {}
        self.frames = self.agree = 0
        self.differ: Counter[str] = Counter()

    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.planning.reset(info.seed)
        self.layout = self.planning.layout
        self.errors, self.frames, self.agree, self.differ = {}, 0, 0, Counter()

    def on_tick(self, tick: TickRecord) -> None:
        seen = tick.observation
        if (
            tick.step % self.every
            or seen.object_state is None
            or np.asarray(seen.object_state).size != 7 * len(OBJECTS)
        ):
            return  # a held tick (perception failed) has no estimate
        poses = self.driver.privileged_state().object_poses
        truth = np.concatenate([poses[name] for name in OBJECTS])
        estimate = np.asarray(seen.object_state, dtype=np.float64)
        in_play = ("strip", *(self.layout.plugs if self.layout else ()))
        for k, name in enumerate(OBJECTS):
            if name in in_play:
                error = 1e3 * float(np.linalg.norm(estimate[7 * k : 7 * k + 3] - truth[7 * k : 7 * k + 3]))
                self.errors.setdefault(name, []).append(round(error, 2))
        try:
            want = self.planning.node(replace(seen, object_state=truth)).relations
            got = self.planning.node(seen).relations
        except NodeUnavailableError:
            return
        self.frames += 1
        self.agree += want == got
        self.differ.update(f"missed {r}" for r in want - got)
        self.differ.update(f"extra {r}" for r in got - want)

    def on_episode_end(self, outcome: EpisodeOutcome) -> None:
        pass


def _planning(config: RunConfig) -> PlugStripPlanning:
    """A second ``φ`` of the run's task (its own layout per seed), for the meter: the loop's stays untouched."""
    from failforward.control.plan_step import build_planning

    step = build_planning(config)
    assert step is not None and isinstance(step.task, PlugStripPlanning)
    return step.task


def episode_rows(split: str, seeds: list[int], every: int, done: set[tuple[str, str, int]]) -> Iterator[dict[str, Any]]:
    """One row per (arm, seed) not in ``done``; both arms' loops built once, the seeds interleaved."""
    configs = {arm: arm_config(arm, split) for arm in ARMS}
    drivers = {arm: make_driver(config.robot) for arm, config in configs.items()}
    try:
        loops, meter = {}, None
        for arm, driver in drivers.items():
            driver.connect()
            subscribers = []
            if arm == "rgbd":
                assert isinstance(driver, SimAlohaDriver)
                meter = SceneGraphMeter(driver, _planning(configs[arm]), every)
                subscribers.append(meter)
            loops[arm] = build_loop(configs[arm], driver, subscribers=subscribers)
        for seed in seeds:
            for arm, loop in loops.items():
                if (split, arm, seed) in done:
                    continue
                start = time.perf_counter()
                result = loop.run_episode(0, seed, task="plug_strip")
                row = {
                    "split": split,
                    "arm": arm,
                    "seed": seed,
                    "success": result.outcome.success,
                    "reason": result.outcome.reason,
                    "error": result.error,
                    "ticks": result.steps,
                    "seconds": round(time.perf_counter() - start, 1),
                    "perception": result.perception,
                    "planning": result.planning,
                }
                if arm == "rgbd" and meter is not None:
                    row.update(
                        frames=meter.frames, agree=meter.agree, differ=dict(meter.differ), errors_mm=meter.errors
                    )
                yield row
    finally:
        for driver in drivers.values():
            driver.disconnect()


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| split | scene graph from | success [95% Wilson] | held ticks / episode | plans / episode | seeds failed |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for split in FIRST_SEED:
        for arm in ARMS:
            mine = sorted((r for r in rows if r["split"] == split and r["arm"] == arm), key=lambda r: r["seed"])
            if not mine:
                continue
            wins = sum(r["success"] for r in mine)
            held = np.mean([r["perception"].get("held_ticks", 0.0) for r in mine])
            plans = np.mean([r["planning"].get("plans", 0.0) for r in mine])
            failed = ", ".join(str(r["seed"]) for r in mine if not r["success"]) or "none"
            lines.append(f"| {split} | {arm} | {rate_text(wins, len(mine))} | {held:.1f} | {plans:.1f} | {failed} |")
    return "\n".join(lines) + "\n\n" + _paired(rows) + "\n\n" + _graph_table(rows)


def _paired(rows: list[dict[str, Any]]) -> str:
    out = []
    for split in FIRST_SEED:
        by_seed: dict[int, dict[str, bool]] = {}
        for r in rows:
            if r["split"] == split:
                by_seed.setdefault(r["seed"], {})[r["arm"]] = r["success"]
        both = [s for s, arms in sorted(by_seed.items()) if len(arms) == len(ARMS)]
        if both:
            pairs = Counter((by_seed[s]["ground_truth"], by_seed[s]["rgbd"]) for s in both)
            out.append(
                f"{split}, paired over {len(both)} seeds {both[0]}–{both[-1]}: both succeeded {pairs[(True, True)]}, "
                f"only ground_truth {pairs[(True, False)]}, only rgbd {pairs[(False, True)]}, "
                f"both failed {pairs[(False, False)]}"
            )
    return "\n".join(out)


def _graph_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| split | frames | φ(camera) = φ(simulator) | strip / plug_a / plug_b position error [mm] median / p90 "
        "| most frequent differences |",
        "| --- | --- | --- | --- | --- |",
    ]
    for split in FIRST_SEED:
        mine = [r for r in rows if r["split"] == split and r["arm"] == "rgbd"]
        if not mine:
            continue
        frames, agree = sum(r["frames"] for r in mine), sum(r["agree"] for r in mine)
        errors = []
        for name in OBJECTS:
            values = np.array([e for r in mine for e in r["errors_mm"].get(name, [])])
            errors.append(f"{np.median(values):.1f} / {np.percentile(values, 90):.1f}" if values.size else "–")
        differ: Counter[str] = Counter()
        for r in mine:
            differ.update(r["differ"])
        common = "; ".join(f"{k} ({v})" for k, v in differ.most_common(3)) or "none"
        share = f"{agree}/{frames} = {agree / frames:.0%}" if frames else "–"
        lines.append(f"| {split} | {frames} | {share} | {' · '.join(errors)} | {common} |")
    return "\n".join(lines)


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["run", "table"])
    parser.add_argument("--splits", nargs="+", default=["seen"], choices=list(FIRST_SEED))
    parser.add_argument("--seeds", type=int, default=45, help="held-out layouts per split")
    parser.add_argument("--every", type=int, default=10, help="ticks between compared frames")
    parser.add_argument("--out", type=Path, default=Path("docs/plug_strip_perception.jsonl"))
    args = parser.parse_args()
    if args.part == "run":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        for split in args.splits:
            done = {(r["split"], r["arm"], r["seed"]) for r in load(args.out)}
            seeds = list(range(FIRST_SEED[split], FIRST_SEED[split] + args.seeds))
            with args.out.open("a") as sink:
                for row in episode_rows(split, seeds, args.every, done):
                    sink.write(json.dumps(row) + "\n")
                    sink.flush()
                    print(
                        row["split"], row["arm"], row["seed"], row["success"], row["ticks"], row["seconds"], flush=True
                    )
    print(table(load(args.out)))


if __name__ == "__main__":
    main()
