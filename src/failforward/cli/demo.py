"""``failforward demo``: run presets on the simulated ALOHA, record every episode, write a report."""

from __future__ import annotations

import argparse
import json
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from tqdm import tqdm

from failforward.config import PRESETS, RunConfig, SimAlohaConfig, get_preset, load_config
from failforward.control.interrupt import EXIT_CODE, Interrupt
from failforward.control.loop import EpisodeResult
from failforward.control.runtime import run
from failforward.errors import ConfigError
from failforward.report.run_report import EpisodeSummary, inference_line, supervisor_line, write_report
from failforward.supervisor.detector import DetectorStats
from failforward.supervisor.tally import SupervisorTally
from failforward.types import TickSubscriber

# the learned AFIL policy where a model is shipped (models/afil_aloha_transfer_cube), the expert elsewhere
DEFAULT_PRESETS = ("sim_transfer_cube_afil", "sim_insertion")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", action="append", help=f"preset to run (repeatable); default: {DEFAULT_PRESETS}")
    parser.add_argument("--episodes", type=int, help="episodes per preset (default: the preset's)")
    parser.add_argument("--seed", type=int, help="first seed (default: the preset's)")
    parser.add_argument("--output", type=Path, default=Path("runs"), help="where runs are written")
    parser.add_argument(
        "--expert",
        action="store_true",
        help="run the scripted expert instead of the preset's policy (e.g. a learned AFIL model)",
    )
    parser.add_argument(
        "--foxglove",
        action="store_true",
        help="serve the run live to Foxglove (WebSocket on viz.foxglove.host:port; prints the URL and the layout)",
    )
    parser.add_argument("--foxglove-port", type=int, help="port of the Foxglove live view (implies --foxglove)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set robot.image_width=640 (JSON values)",
    )


def list_presets() -> int:
    for name, config in PRESETS.items():
        print(f"{name}: robot={config.robot.kind} task={config.robot.task} policy={config.policy.kind}")
    return 0


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``["a.b=3", "c=true"]`` → ``{"a.b": 3, "c": True}`` (values parsed as JSON, else kept as text)."""
    overrides = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {pair!r}.")
        try:
            overrides[key] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key] = raw
    return overrides


def run_demo(args: argparse.Namespace) -> int:
    """Run the presets; on Ctrl-C or SIGTERM the running episode is finished as ``aborted: interrupted``, its
    preset's report written, and the demo exits with ``EXIT_CODE`` (130) after one line saying so."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    interrupt = Interrupt()
    with interrupt.installed(), _live_view(args) as live:
        for name in args.preset or DEFAULT_PRESETS:
            if interrupt.requested:
                break
            config = _config_for(name, args)
            summary = _run_preset(name, config, f"{stamp}-{name}", live, interrupt)
            _print_summary(summary)
    if interrupt.requested:
        print(f"interrupted ({interrupt.signal_name}): the episode in progress was finished as 'aborted: interrupted'")
        return EXIT_CODE
    return 0


def _live_view(args: argparse.Namespace) -> AbstractContextManager[TickSubscriber | None]:
    """One Foxglove live view for every preset of the demo (``--foxglove``), its URL and layout printed; else none."""
    if not (args.foxglove or args.foxglove_port is not None):
        return nullcontext(None)
    from failforward.viz import LAYOUT_PATH
    from failforward.viz.foxglove_live import FoxgloveLiveView

    live = FoxgloveLiveView.for_run(_config_for((args.preset or DEFAULT_PRESETS)[0], args))
    print(f"Foxglove live view: {live.url} (Foxglove: Open connection → Foxglove WebSocket); layout: {LAYOUT_PATH}")
    return live


def _config_for(name: str, args: argparse.Namespace) -> RunConfig:
    preset = get_preset(name)
    if args.expert:  # the whole policy section changes kind, so it is replaced, not overridden field by field
        preset = load_config({**preset.model_dump(mode="json"), "policy": {"kind": "expert"}})
    overrides = {"record.output_dir": str(args.output), **parse_overrides(args.set)}
    if args.episodes is not None:
        overrides["episodes"] = args.episodes
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.foxglove or args.foxglove_port is not None:
        overrides["viz.foxglove.enabled"] = True
    if args.foxglove_port is not None:
        overrides["viz.foxglove.port"] = args.foxglove_port
    return preset.with_overrides(overrides)


def _run_preset(
    name: str, config: RunConfig, run_name: str, live: TickSubscriber | None = None, interrupt: Interrupt | None = None
) -> dict[str, Any]:
    with tqdm(total=config.episodes, desc=name, unit="episode") as bar:

        def advance(episode: EpisodeResult) -> None:
            bar.set_postfix_str("success" if episode.outcome.success else f"fail: {episode.outcome.reason}")
            bar.update()

        result = run(
            config, run_name=run_name, on_episode=advance, subscribers=[live] if live else None, interrupt=interrupt
        )
    episodes = [
        EpisodeSummary(
            e.index,
            e.seed,
            e.outcome.success,
            e.outcome.stage,
            e.outcome.reason,
            e.steps,
            e.timing,
            tuple(e.files),
            supervisor=SupervisorTally.of(r.result for r in e.reports),
            inference=e.inference,
        )
        for e in result.episodes
    ]
    summary = write_report(result.run_dir, f"{name}: {config.policy.kind} on {config.robot.kind}", episodes)
    summary["report"] = str(result.run_dir / "report.md")
    summary["perception"] = perception_line(config, result.episodes)
    summary["planning"] = planner_line(config, result.episodes)
    summary["detector"] = detector_line(config, result.detector)
    return summary


def perception_line(config: RunConfig, episodes: list[EpisodeResult]) -> str:
    """Where the policy's object poses came from (``config.perception``) and how often perception held the robot."""
    perception = config.perception
    if perception is None:
        truth = isinstance(config.robot, SimAlohaConfig) and config.robot.object_state
        return "none, the simulator's poses unchecked (robot.object_state)" if truth else "none"
    if perception.kind == "ground_truth":
        return "ground_truth (the simulator's object poses; evaluation only)"
    total = {k: sum(e.perception.get(k, 0.0) for e in episodes) for k in ("held_ticks", "not_found_ticks")}
    hidden = sum(v for e in episodes for k, v in e.perception.items() if k.startswith("occluded_"))
    return (
        f"{perception.kind} (estimated from the colour and depth of camera {perception.camera!r}): held "
        f"{total['held_ticks']:.0f} ticks ({total['not_found_ticks']:.0f} with no object in view, the rest on bad "
        f"frames); objects out of view {hidden:.0f} ticks (last pose kept, or carried by a gripper)"
    )


def planner_line(config: RunConfig, episodes: list[EpisodeResult]) -> str:
    """What System 2 did over the run (``EpisodeResult.planning``): planning cycles by reason, the slowest plan, plans
    cut by the budget, ticks held without a scene graph, and the chunks whose done head said the subgoal ended (when
    System 1 has one); ``""`` without a planner."""
    if config.planner is None:
        return ""
    total: dict[str, float] = {}
    for episode in episodes:
        for key, value in episode.planning.items():
            total[key] = max(total.get(key, 0.0), value) if key == "plan_seconds_max" else total.get(key, 0.0) + value
    reasons = ", ".join(f"{v:.0f} {k.removeprefix('plans_')}" for k, v in sorted(total.items()) if _is_reason(k))
    return (
        f"{config.planner.kind}: {total.get('plans', 0.0):.0f} plans ({reasons or 'none'}); slowest "
        f"{1e3 * total.get('plan_seconds_max', 0.0):.1f} ms, "
        f"{total.get('plans_timed_out', 0.0):.0f} cut by the budget; "
        f"held {total.get('lost_node_ticks', 0.0):.0f} ticks without a scene graph"
        + (f"; done head: {total['done_signals']:.0f} ends of edge" if total.get("done_signals") else "")
    )


def detector_line(config: RunConfig, stats: DetectorStats | None) -> str:
    """What the failure detector did over the run: chunks scored, trips, and the queries its trips asked (a trip
    while a query is in flight asks nothing); ``""`` without a detector."""
    detector = config.supervisor.detector
    if detector is None or stats is None or not config.supervisor.enabled:
        return ""
    unguided = f", {stats.unguided_chunks} chunks without a guidance trace" if stats.unguided_chunks else ""
    return (
        f"{detector.kind} (threshold {detector.threshold:g}): {stats.chunks} chunks scored{unguided}, "
        f"{stats.trips} trips, {stats.requests} asked the supervisor at once"
    )


def _is_reason(key: str) -> bool:
    return key.startswith("plans_") and key != "plans_timed_out"


def _print_summary(summary: dict[str, Any]) -> None:
    low, high = summary["success_ci95"]
    print(f"\n== {summary['title']}")
    print(f"object perception: {summary['perception']}")
    if summary.get("planning"):
        print(f"planner: {summary['planning']}")
    print(
        f"success rate: {summary['successes']}/{summary['episodes']} = {summary['success_rate']:.0%} "
        f"(95% CI {low:.0%}-{high:.0%}); mean length {summary['length_mean']:.0f} ticks"
    )
    print(
        f"loop: tick p50 {summary['tick_p50_ms']:.1f} ms, p99 {summary['tick_p99_ms']:.1f} ms, "
        f"overruns {summary['overruns']}/{summary['ticks']} (budget 20 ms)"
    )
    print(inference_line(summary))
    corrections = sum(e.get("corrections", 0) for e in summary["per_episode"])
    print(f"supervisor: {supervisor_line(summary)}; recovery: {corrections} corrections")
    if summary.get("detector"):
        print(f"failure detector: {summary['detector']}")
    print(f"report: {summary['report']}")
    for episode in summary["per_episode"]:
        print(f"  mcap: {', '.join(episode['files'])}")
