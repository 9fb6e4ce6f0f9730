"""Can the sim presets' supervision and recovery act within an episode? The same seeds with and without them.

Issue 17, item 0: with 400-tick (8 s) episodes and a 4 s stall rule the oracle never flagged a stalled policy and no
correction finished before the episode ended. The presets now run up to ``SIM_EPISODE_TICKS`` and judge a stall
against the previous query (``failforward.config.run``); this measures what that buys, as users run the preset.

Each of ``--seeds`` seeds from ``--first-seed`` (default 400000: no learning run or other bench uses them) runs twice
through :func:`failforward.control.runtime.run`, one episode at a time:
- ``alone``: the preset with its supervisor and recovery off;
- ``supervised``: the preset as shipped (oracle every 6 chunks over the last 5 s at 1 fps, PMC recovery).
Both with the flow-noise seed fixed (``policy.seed = 0``; each episode draws from ``(0, episode seed)``), so a seed's
two episodes start from the same noise; recording is off; inference is synchronous (chunks of 50, 25 executed):
asynchronous inference in a simulated run charges the robot the wall-clock latency of each chunk, so on a loaded
machine episodes would end by starvation and the comparison would measure the machine, not the supervision.
Per episode: success, ticks, supervisor answers and flagged failures, and the recovery machine's corrections
(planned, completed, refused, timed out).

Rows go to ``--out`` (jsonl, one per episode); a stopped run resumes (rows already there are skipped). ``table``
prints the README's summary from that file: success per arm with 95 % Wilson intervals, and over the seeds that
failed alone: how many were flagged, corrected and rescued (and how many succeeded alone but failed supervised).

Example:
    MUJOCO_GL=egl nice -n 19 ./run python bench/preset_rescue.py run --seeds 50
    ./run python bench/preset_rescue.py table
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MUJOCO_GL", "egl")

from failforward.config import RunConfig, get_preset
from failforward.control.runtime import run
from failforward.recovery.events import RecoveryEvent
from failforward.stats import wilson_interval
from failforward.supervisor.scheduler import SupervisorReport
from failforward.supervisor.tally import SupervisorTally
from failforward.types import EpisodeInfo, TickSubscriber

ARMS = {"alone": {"supervisor.enabled": False, "recovery.enabled": False}, "supervised": {}}
CORRECTION_EVENTS = ("planned", "completed", "succeeded", "refused", "timeout", "exhausted")
OUT = Path("docs/preset_rescue.jsonl")


class Watch(TickSubscriber):
    """Counts one episode's supervisor answers and recovery transitions (a ``RunObserver``)."""

    def __init__(self) -> None:
        self.reports: list[SupervisorReport] = []
        self.events: Counter[str] = Counter()
        self.first_flag_tick: int | None = None

    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.reports.clear()
        self.events.clear()
        self.first_flag_tick = None

    def record_report(self, report: SupervisorReport) -> None:
        self.reports.append(report)
        if self.first_flag_tick is None and SupervisorTally.of([report.result]).flagged:
            self.first_flag_tick = report.step

    def record_event(self, event: RecoveryEvent) -> None:
        self.events[event.kind] += 1


def arm_config(preset: str, arm: str, seed: int) -> RunConfig:
    """``preset`` for one episode of ``seed`` in ``arm`` (``ARMS``), fixed noise seed, nothing recorded."""
    overrides: dict[str, Any] = {
        "episodes": 1,
        "seed": seed,
        "record.enabled": False,
        "policy.seed": 0,
        "broker.inference": "synchronous",  # the same robot time whatever the machine's load (see the docstring)
    }
    return get_preset(preset).with_overrides({**overrides, **ARMS[arm]})


def run_episode(preset: str, arm: str, seed: int) -> dict[str, Any]:
    """One episode; its row."""
    watch = Watch()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:  # nothing is recorded; the run directory is left empty
        config = arm_config(preset, arm, seed).with_overrides({"record.output_dir": scratch})
        result = run(config, run_name=f"rescue-{arm}-{seed}", subscribers=[watch])
    (episode,) = result.episodes
    tally = SupervisorTally.of(r.result for r in watch.reports)
    return {
        "preset": preset,
        "arm": arm,
        "seed": seed,
        "success": episode.outcome.success,
        "reason": episode.outcome.reason,
        "ticks": episode.steps,
        "answers": tally.answers,
        "flagged": tally.flagged,
        "first_flag_tick": watch.first_flag_tick,
        **{f"corrections_{k}": watch.events[k] for k in CORRECTION_EVENTS},
        "seconds": round(time.perf_counter() - start, 1),
    }


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def cmd_run(args: argparse.Namespace) -> None:
    done = {(r["preset"], r["arm"], r["seed"]) for r in read_rows(args.out)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for arm in ARMS:
            if (args.preset, arm, seed) in done:
                continue
            row = run_episode(args.preset, arm, seed)
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{arm:>10} seed {seed}: {'success' if row['success'] else 'FAILED '} in {row['ticks']} ticks, "
                  f"{row['flagged']}/{row['answers']} flagged, {row['corrections_completed']} corrections completed "
                  f"({row['seconds']} s)", flush=True)  # fmt: skip


def _rate(successes: int, trials: int) -> str:
    low, high = wilson_interval(successes, trials)
    return f"{successes}/{trials} = {successes / max(trials, 1):.0%} [{low:.0%}–{high:.0%}]"


def table(rows: list[dict[str, Any]], preset: str) -> str:
    """The summary over seeds present in both arms."""
    by = {(r["arm"], r["seed"]): r for r in rows if r["preset"] == preset}
    seeds = sorted(s for (arm, s) in by if arm == "alone" and ("supervised", s) in by)
    if not seeds:
        return f"no complete seeds for {preset}"
    alone, sup = [by["alone", s] for s in seeds], [by["supervised", s] for s in seeds]
    failed = [(a, b) for a, b in zip(alone, sup, strict=True) if not a["success"]]
    lines = [
        f"preset `{preset}`, seeds {seeds[0]}–{seeds[-1]} ({len(seeds)}), flow-noise seed 0, one episode per seed "
        "and arm",
        "",
        "| arm | success [95 % Wilson] | answers | flagged | corrections planned / completed | mean ticks |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, arm in (("alone", alone), ("supervised", sup)):
        lines.append(
            f"| {name} | {_rate(sum(r['success'] for r in arm), len(arm))} | {sum(r['answers'] for r in arm)} "
            f"| {sum(r['flagged'] for r in arm)} | {sum(r['corrections_planned'] for r in arm)} / "
            f"{sum(r['corrections_completed'] for r in arm)} | {sum(r['ticks'] for r in arm) / len(arm):.0f} |"
        )
    flagged = [b for _, b in failed if b["flagged"]]
    corrected = [b for _, b in failed if b["corrections_completed"]]
    rescued = [b for _, b in failed if b["success"]]
    broken = [b for a, b in zip(alone, sup, strict=True) if a["success"] and not b["success"]]
    lines += [
        "",
        f"Of the {len(failed)} seeds that failed alone, supervised: {len(flagged)} flagged, "
        f"{len(corrected)} with a completed correction, {len(rescued)} rescued "
        f"(seeds {', '.join(str(b['seed']) for b in rescued) or 'none'}); "
        f"{len(broken)} seed(s) succeeded alone but failed supervised"
        + (f" ({', '.join(str(b['seed']) for b in broken)})." if broken else "."),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="run the missing episodes")
    run_parser.add_argument("--preset", default="sim_transfer_cube_afil")
    run_parser.add_argument("--seeds", type=int, default=50)
    run_parser.add_argument("--first-seed", type=int, default=400_000)
    table_parser = sub.add_parser("table", help="print the summary")
    table_parser.add_argument("--preset", default="sim_transfer_cube_afil")
    for p in (run_parser, table_parser):
        p.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.command == "run":
        cmd_run(args)
    print(table(read_rows(args.out), args.preset))


if __name__ == "__main__":
    main()
