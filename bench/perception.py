"""Object perception: the RGB-D estimator's pose error, and the shipped state policy on perceived vs true poses.

``pose``: scripted-expert episodes on the simulated ALOHA (seeds from 300000, one per seed), the head camera's RGB-D
frame at the ``sim_transfer_cube_afil_rgbd`` preset's size and rendering, the estimator run on every tick (it tracks)
and compared with the simulator's poses every ``--every`` ticks until ``--frames`` frames per task. Errors per
object: position [mm]; orientation [deg] as the policy reads it (the quaternion against the simulator's) and up to
the object's symmetry (a cube turned a quarter turn looks the same: the smallest angle over its symmetry group).

``policy``: the shipped model (``models/afil_aloha_transfer_cube``) on ``--seeds`` held-out seeds from 200000 (seeds
no learning run used: demos 1000+, rollouts 10000+, evaluations 100000+), each seed once with the simulator's poses
(``ground_truth``) and once with the RGB-D estimator's (``rgbd``), in one run: its presets without supervisor,
recovery or recording, inference synchronous (chunks of 50, 25 executed: the same robot time whatever the machine's
load), fixed flow-noise seed, at most 400 ticks.

Rows go to ``--pose-out`` / ``--policy-out`` (jsonl, one per frame / episode); a stopped run resumes where it left
off (episodes already there are skipped). ``table`` prints the summary from those files (the README's numbers).

Example:
    MUJOCO_GL=egl nice -n 19 python bench/perception.py pose --frames 200
    MUJOCO_GL=egl nice -n 19 python bench/perception.py policy --seeds 50
    python bench/perception.py table
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.config import RunConfig, get_preset
from failforward.control.assembly import build_loop
from failforward.control.perceive import perception_camera
from failforward.perception import PerceptionContext, PerceptionError, make_perception
from failforward.perception.base import ObjectPerception
from failforward.perception.objects import object_models
from failforward.perception.symmetry import rotation_angle_deg, symmetric_angle_deg
from failforward.robots.registry import make_driver
from failforward.stats import wilson_interval
from failforward.types import EpisodeInfo, EpisodeOutcome, TickRecord

RGBD_PRESET = "sim_transfer_cube_afil_rgbd"
ARMS = {"ground_truth": "sim_transfer_cube_afil", "rgbd": RGBD_PRESET}
POSE_SEED, POLICY_SEED = 300_000, 200_000
TASKS = ("transfer_cube", "insertion")
QUIET = {"supervisor.enabled": False, "recovery.enabled": False, "record.enabled": False}


# ------------------------------------------------------------------------------------------------ pose error
def pose_config(task: str) -> RunConfig:
    """The task's expert preset with the rgbd preset's head camera (colour + depth, same size and rendering) and the
    simulator's poses in the observations, for comparison only (the expert reads its own privileged state)."""
    rgbd = get_preset(RGBD_PRESET).robot
    camera = {f"robot.{k}": v for k, v in rgbd.model_dump(include={"cameras", "depth_cameras", "antialias"}).items()}
    size = {"robot.image_height": rgbd.image_height, "robot.image_width": rgbd.image_width}
    return get_preset(f"sim_{task}").with_overrides({**QUIET, **camera, **size, "robot.object_state": True})


class PoseMeter:
    """Runs ``perception`` on every tick; every ``every`` ticks, one row per object: estimate vs the simulator."""

    def __init__(self, perception: ObjectPerception, task: str, every: int) -> None:
        self.perception, self.task, self.every = perception, task, every
        self.models = object_models(task)
        self.rows: list[dict[str, Any]] = []
        self.seed = 0

    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.perception.reset()
        self.seed = info.seed

    def on_tick(self, tick: TickRecord) -> None:
        before = self.perception.health()
        try:
            estimate, status = self.perception.estimate(tick.observation), "ok"
        except PerceptionError as exc:
            estimate, status = None, type(exc).__name__
        counted = {k for k, v in self.perception.health().items() if v != before.get(k)}
        if tick.step % self.every == 0:
            self.rows += [self._row(tick, k, estimate, status, counted) for k in range(len(self.models))]

    def on_episode_end(self, outcome: EpisodeOutcome) -> None:
        pass

    def _row(
        self, tick: TickRecord, k: int, estimate: np.ndarray | None, status: str, counted: set[str]
    ) -> dict[str, Any]:
        model, truth = self.models[k], tick.observation.object_state[7 * k : 7 * k + 7]
        row: dict[str, Any] = {"task": self.task, "seed": self.seed, "tick": tick.step, "object": model.name}
        row.update(status=status, view=_view(model.name, counted), truth=truth.round(5).tolist())
        if estimate is not None:
            pose = estimate[7 * k : 7 * k + 7]
            row.update(
                estimate=pose.round(5).tolist(),
                position_mm=1e3 * float(np.linalg.norm(pose[:3] - truth[:3])),
                quaternion_deg=rotation_angle_deg(pose[3:], truth[3:]),
                symmetric_deg=symmetric_angle_deg(pose[3:], truth[3:], model.half_extents),
            )
        return row


def _view(name: str, counted: set[str]) -> str:
    """How the estimator had the object this tick, from the counters it advanced (``RgbdPerception.health``):
    ``carried`` (out of view, moved with a gripper), ``occluded`` (out of view, last pose), ``partial``, ``seen``."""
    for view in ("carried", "occluded", "partial"):
        if f"{view}_{name}" in counted:
            return view
    return "seen"


def pose_rows(task: str, frames: int, every: int, done: set[tuple[str, int]], have: int) -> Iterator[dict[str, Any]]:
    """Rows of expert episodes on fresh seeds until ``task`` has ``frames`` frames (``have`` already)."""
    config = pose_config(task)
    with make_driver(config.robot) as driver:
        rgbd = get_preset(RGBD_PRESET).perception
        context = PerceptionContext(driver.features, task, perception_camera(config, driver, "top"))
        meter = PoseMeter(make_perception(rgbd, context), task, every)
        loop = build_loop(config, driver, subscribers=[meter])
        seed = POSE_SEED
        while have < frames:
            if (task, seed) not in done:
                meter.rows = []
                loop.run_episode(0, seed, task=task)
                have += len({r["tick"] for r in meter.rows})
                yield from meter.rows
            seed += 1


def pose_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| task | object | frames | seeds | estimated | position error [mm] median / p90 / max "
        "| quaternion error [deg] median / p90 | error up to symmetry [deg] median / p90 / max |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for task in TASKS:
        for name in dict.fromkeys(r["object"] for r in rows if r["task"] == task):
            mine = [r for r in rows if r["task"] == task and r["object"] == name]
            ok = [r for r in mine if r["status"] == "ok"]
            seeds = sorted({r["seed"] for r in mine})
            pos = np.array([r["position_mm"] for r in ok])
            quat = np.array([r["quaternion_deg"] for r in ok])
            sym = np.array([r["symmetric_deg"] for r in ok])
            lines.append(
                f"| {task} | {name} | {len(mine)} | {len(seeds)} ({seeds[0]}–{seeds[-1]}) | {len(ok)}/{len(mine)} "
                f"| {_stats(pos, (50, 90, 100))} | {_stats(quat, (50, 90))} | {_stats(sym, (50, 90, 100))} |"
            )
    return "\n".join(lines) + "\n\n" + _view_table(rows)


def _view_table(rows: list[dict[str, Any]]) -> str:
    """Position error [mm] by how the object was had: in full view, partly hidden, out of view (kept or carried)."""
    views = ("seen", "partial", "occluded", "carried")
    lines = [
        "| task | object | " + " | ".join(f"{v}: frames, position error [mm] median / p90" for v in views) + " |",
        "| --- | --- | " + " | ".join("---" for _ in views) + " |",
    ]
    for task in TASKS:
        for name in dict.fromkeys(r["object"] for r in rows if r["task"] == task):
            ok = [r for r in rows if r["task"] == task and r["object"] == name and r["status"] == "ok"]
            cells = []
            for view in views:
                errors = np.array([r["position_mm"] for r in ok if r.get("view") == view])
                cells.append(f"{errors.size}, {_stats(errors, (50, 90))}")
            lines.append(f"| {task} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _stats(values: np.ndarray, percentiles: tuple[int, ...]) -> str:
    return " / ".join(f"{v:.1f}" for v in np.percentile(values, percentiles)) if values.size else "–"


# ----------------------------------------------------------------------------------------------- policy A/B
def policy_config(arm: str) -> RunConfig:
    overrides = {**QUIET, "loop.max_steps": 400, "broker.inference": "synchronous", "policy.seed": 0}
    if arm == "ground_truth":
        overrides["robot.cameras"] = []  # the simulator's poses need no rendering
    return get_preset(ARMS[arm]).with_overrides(overrides)


def policy_rows(seeds: list[int], done: set[tuple[str, int]]) -> Iterator[dict[str, Any]]:
    """One row per (seed, arm) not in ``done``; both arms' loops built once, the seeds interleaved."""
    configs = {arm: policy_config(arm) for arm in ARMS}
    drivers = {arm: make_driver(config.robot) for arm, config in configs.items()}
    try:
        loops = {}
        for arm, driver in drivers.items():
            driver.connect()
            loops[arm] = build_loop(configs[arm], driver)
        for seed in seeds:
            for arm, loop in loops.items():
                if (arm, seed) in done:
                    continue
                start = time.perf_counter()
                result = loop.run_episode(0, seed, task="transfer_cube")
                yield {
                    "arm": arm,
                    "seed": seed,
                    "success": result.outcome.success,
                    "stage": result.outcome.stage,
                    "reason": result.outcome.reason,
                    "ticks": result.steps,
                    "seconds": round(time.perf_counter() - start, 1),
                    "perception": result.perception,
                }
    finally:
        for driver in drivers.values():
            driver.disconnect()


def policy_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| object poses | success [95% Wilson] | mean ticks (successes) | held ticks / episode | seeds failed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for arm in ARMS:
        mine = sorted((r for r in rows if r["arm"] == arm), key=lambda r: r["seed"])
        if not mine:
            continue
        wins = [r for r in mine if r["success"]]
        low, high = wilson_interval(len(wins), len(mine))
        held = np.mean([r["perception"].get("held_ticks", 0.0) for r in mine])
        failed = ", ".join(str(r["seed"]) for r in mine if not r["success"]) or "none"
        lines.append(
            f"| {arm} | {len(wins)}/{len(mine)} = {len(wins) / len(mine):.0%} [{low:.0%}–{high:.0%}] "
            f"| {np.mean([r['ticks'] for r in wins]) if wins else float('nan'):.0f} | {held:.1f} | {failed} |"
        )
    return "\n".join(lines) + "\n\n" + _paired(rows)


def _paired(rows: list[dict[str, Any]]) -> str:
    by_seed: dict[int, dict[str, bool]] = {}
    for r in rows:
        by_seed.setdefault(r["seed"], {})[r["arm"]] = r["success"]
    both = [s for s, arms in sorted(by_seed.items()) if len(arms) == len(ARMS)]
    if not both:
        return ""
    count = {
        "both succeeded": sum(by_seed[s]["ground_truth"] and by_seed[s]["rgbd"] for s in both),
        "only ground_truth": sum(by_seed[s]["ground_truth"] and not by_seed[s]["rgbd"] for s in both),
        "only rgbd": sum(by_seed[s]["rgbd"] and not by_seed[s]["ground_truth"] for s in both),
        "both failed": sum(not (by_seed[s]["ground_truth"] or by_seed[s]["rgbd"]) for s in both),
    }
    seeds = f"seeds {both[0]}–{both[-1]}" if both == list(range(both[0], both[-1] + 1)) else f"seeds {both}"
    return f"paired over {len(both)} {seeds}: " + ", ".join(f"{k} {v}" for k, v in count.items())


# ----------------------------------------------------------------------------------------------------- main
def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def append(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as sink:
        for row in rows:
            sink.write(json.dumps(row) + "\n")
            sink.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("part", choices=["pose", "policy", "table"])
    parser.add_argument("--frames", type=int, default=200, help="pose: frames per task")
    parser.add_argument("--every", type=int, default=10, help="pose: ticks between measured frames")
    parser.add_argument("--seeds", type=int, default=50, help="policy: held-out seeds from 200000")
    parser.add_argument("--pose-out", type=Path, default=Path("docs/perception_pose.jsonl"))
    parser.add_argument("--policy-out", type=Path, default=Path("docs/perception_policy.jsonl"))
    args = parser.parse_args()
    if args.part == "pose":
        for task in TASKS:
            rows = load(args.pose_out)
            have = len({(r["seed"], r["tick"]) for r in rows if r["task"] == task})
            done = {(r["task"], r["seed"]) for r in rows}
            append(args.pose_out, pose_rows(task, args.frames, args.every, done, have))
    elif args.part == "policy":
        done = {(r["arm"], r["seed"]) for r in load(args.policy_out)}
        append(args.policy_out, policy_rows(list(range(POLICY_SEED, POLICY_SEED + args.seeds)), done))
    print(pose_table(load(args.pose_out)))
    print()
    print(policy_table(load(args.policy_out)))


if __name__ == "__main__":
    main()
