"""The dual head as a fast failure detector (issue 17, item 5): the supervisor asked at once when AFIL's success and
failure heads disagree on a chunk, against the every-6-chunks schedule alone, on the recovery benchmark's disturbances.

Run (each step appends one JSON line per trial; the report reads them all; ``docs/failure_detector_trials.jsonl`` is
the five files below concatenated, ``docs/failure_detector_threshold.json`` the calibration):
    nice -n 19 ./run python bench/failure_detector.py calibrate --seeds 100 142 --out runs/fd/calibrate.jsonl \
        --threshold-out runs/fd/threshold.json
    nice -n 19 ./run python bench/failure_detector.py evaluate --condition schedule --out runs/fd/schedule.jsonl
    nice -n 19 ./run python bench/failure_detector.py evaluate --condition detector \
        --threshold runs/fd/threshold.json --out runs/fd/detector.jsonl
    nice -n 19 ./run python bench/failure_detector.py evaluate --condition schedule --delays 2 77 \
        --disturbances knock_out forced_open --out runs/fd/late_schedule.jsonl
    nice -n 19 ./run python bench/failure_detector.py evaluate --condition detector --threshold runs/fd/threshold.json \
        --delays 2 77 --disturbances knock_out forced_open --out runs/fd/late_detector.jsonl
    cat runs/fd/{calibrate,schedule,detector,late_schedule,late_detector}.jsonl > docs/failure_detector_trials.jsonl
    ./run python bench/failure_detector_report.py docs/failure_detector_trials.jsonl --out docs/failure_detector.json \
        --doc docs/failure_detector.md

Protocol. ``bench/recovery_benchmark.py``'s trials (same layouts, disturbances and flow noise per seed; synchronous
supervisor, so each answer is collected on the tick that asked): the shipped AFIL policy (adaptive guidance γ = 1),
the privileged sim-oracle supervisor every 6 chunks over the last 5 s at 1 fps, the recovery controller in PMC mode
(method ``afil+pmc``). Conditions: ``schedule`` (the schedule alone) and ``detector`` (the schedule + the dual-head
detector: a chunk whose score (1 − cos(v_s, v_f)) / 2 = λ_t / γ, averaged over its denoise steps, is above the
threshold asks the supervisor at once; cooldown 6 chunks). The threshold is calibrated on held-out undisturbed
episodes of the policy alone (``calibrate``: seeds disjoint from the evaluation's): the 0.9 quantile of the successful
episodes' peak chunk scores, so about 1 in 10 undisturbed episodes trips it at least once. Every chunk's score
(mean, max and last denoise step) is logged in every condition. Onset: the disturbance's first tick
(``Disturbance.done_at``); diagnosis: the first answer at or after it that flags a failure.

Late onsets (``--delays 2 77``): the benchmark strikes 2–14 ticks after the lift, which on this policy falls just
before the schedule's sixth chunk (tick 125); drawing the delay from 2–76 ticks (the carry lasts about 100) spreads the
onsets over half a schedule period, so some must wait for the next scheduled query (tick 275).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from failforward.config.detector import DualHeadDetectorConfig
from failforward.supervisor.detector import DetectorContext, DetectorTrigger, calibrate_threshold, make_detector
from failforward.supervisor.detector.dual_head import chunk_score
from failforward.supervisor.diagnosis import Diagnosis
from failforward.supervisor.scheduler import SupervisorReport, SupervisorScheduler
from failforward.types import EpisodeInfo, TickRecord, TickSubscriber


def _sibling(name: str) -> ModuleType:
    """The benchmark script ``bench/<name>.py`` beside this one, as a module (bench scripts are not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rb = _sibling("recovery_benchmark")
STATISTICS = ("mean", "max", "last")
QUANTILE = 0.9  # about 1 in 10 undisturbed episodes trips the detector at least once
COOLDOWN = 6  # chunks: one schedule period
RATE_HZ = 50.0


class ScoreLog(TickSubscriber):
    """Every new chunk's tick and scores ``(1 − cos) / 2`` (mean, max, last denoise step) of the episode so far."""

    def __init__(self, gamma: float = 1.0) -> None:
        self.gamma = gamma
        self.rows: list[list[float | None]] = []

    def on_episode_start(self, info: EpisodeInfo) -> None:
        self.rows = []

    def on_tick(self, tick: TickRecord) -> None:
        if tick.chunk is not None:
            scores = [chunk_score(tick.chunk.guidance, self.gamma, s) for s in STATISTICS]  # type: ignore[arg-type]
            self.rows.append([float(tick.step), *scores])


def _answer(report: SupervisorReport) -> str:
    result = report.result
    if isinstance(result, Diagnosis):
        return "ok" if result.success else "failure"
    return result.kind


def _run_trials(bench: Any, log: ScoreLog, kinds: Sequence[str], seeds: range, condition: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        for seed in seeds:
            trial = bench.run(seed, kind)
            result = bench.last_result
            trigger = bench.supervisor if isinstance(bench.supervisor, DetectorTrigger) else None
            row = {
                "condition": condition,
                "disturbance": kind,
                "seed": seed,
                "success": trial.success,
                "steps": trial.steps,
                "onset": trial.disturbed_at,
                "delays": list(bench.delays),
                "reports": [[r.step, _answer(r)] for r in result.reports],
                "asked": list(trigger.asked) if trigger else [],
                "trips": [s for s, _, t in trigger.trace if t] if trigger else [],
                "scores": log.rows,
                "events": trial.events,
                "seconds": round(trial.seconds, 2),
                "error": trial.error,
            }
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(trial.line(), f"reports {row['reports']} trips {row['trips']}", flush=True)


def calibrate(args: argparse.Namespace) -> None:
    """Undisturbed episodes of the policy alone on the calibration seeds; the threshold from their scores."""
    bench = rb.Bench("afil", args.max_steps, {"afil": args.afil_model})
    log = ScoreLog()
    bench.subscribers.append(log)
    try:
        _run_trials(bench, log, ["none"], range(*args.seeds), "calibrate", args.out)
    finally:
        bench.close()
    rows = [r for r in _read([args.out]) if r["condition"] == "calibrate" and r["success"]]
    calibration = calibrate_threshold(
        [[s[1] for s in r["scores"]] for r in rows], quantile=QUANTILE, debounce_chunks=1, statistic="mean"
    )
    calibration.write(args.threshold_out)
    print(f"threshold {calibration.threshold:.5f} from {calibration.episodes} episodes")
    print(f"--set '{calibration.override()}'")


def evaluate(args: argparse.Namespace) -> None:
    """The schedule alone, or with the detector of ``--threshold``, on every disturbance and seed."""
    bench = rb.Bench("afil+pmc", args.max_steps, {"afil": args.afil_model})
    bench.delays = tuple(args.delays)
    log = ScoreLog()
    bench.subscribers.append(log)
    if args.condition == "detector":
        calibration = json.loads(args.threshold.read_text())
        config = DualHeadDetectorConfig(
            statistic=calibration["statistic"],
            threshold=calibration["threshold"],
            debounce_chunks=calibration["debounce_chunks"],
            cooldown_chunks=COOLDOWN,
        )
        assert isinstance(bench.supervisor, SupervisorScheduler)
        bench.supervisor = DetectorTrigger(bench.supervisor, make_detector(config, DetectorContext(gamma=1.0)))
    try:
        _run_trials(bench, log, args.disturbances, range(*args.seeds), args.condition, args.out)
    finally:
        bench.close()


def _read(paths: Sequence[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("calibrate", "evaluate"):
        p = sub.add_parser(name)
        p.add_argument("--seeds", type=int, nargs=2, default=[100, 142] if name == "calibrate" else [0, 21])
        p.add_argument("--max-steps", type=int, default=1500)
        p.add_argument("--afil-model", type=Path, default=rb.SHIPPED_MODEL)
        p.add_argument("--out", type=Path, required=True, help="JSON lines, one per trial (appended)")
    sub.choices["calibrate"].add_argument("--threshold-out", type=Path, required=True)
    ev = sub.choices["evaluate"]
    ev.add_argument("--condition", choices=("schedule", "detector"), required=True)
    ev.add_argument("--threshold", type=Path, help="calibration JSON (detector condition)")
    ev.add_argument("--disturbances", nargs="+", default=["none", "knock_out", "forced_open", "target_moved"])
    ev.add_argument(
        "--delays",
        type=int,
        nargs=2,
        default=[2, 15],
        help="[ticks] after the lift, [low, high), when knock_out and forced_open strike (the benchmark's: 2 15)",
    )
    rep = sub.add_parser("report")
    rep.add_argument("inputs", type=Path, nargs="+")
    rep.add_argument("--out", type=Path, required=True)
    rep.add_argument("--doc", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.command == "calibrate":
        calibrate(args)
    elif args.command == "evaluate":
        if args.condition == "detector" and args.threshold is None:
            parser.error("--condition detector needs --threshold (the calibration JSON)")
        evaluate(args)
    else:
        _sibling("failure_detector_report").write(_read(args.inputs), args.out, args.doc, args.inputs)


if __name__ == "__main__":
    main()
