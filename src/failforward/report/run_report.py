"""The report written after every run: success rate, lengths, loop timing, plots, file paths.

Outputs in the run directory: ``report.md``, ``report.json``, ``joint_trajectories.png`` (every
episode's measured joints, green = success, red = failure) and ``head_camera_strip.png`` (evenly
spaced head-camera frames of the first episode).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from failforward.record.reader import RecordedEpisode, read_episode
from failforward.stats import wilson_interval
from failforward.supervisor.tally import SupervisorTally

STRIP_FRAMES = 8


@dataclass(frozen=True)
class EpisodeSummary:
    """What the report needs of one episode (the loop's result, flattened)."""

    index: int
    seed: int
    success: bool
    stage: int
    reason: str
    steps: int
    timing: dict[str, float]
    files: tuple[Path, ...]
    supervisor: SupervisorTally = field(default_factory=SupervisorTally)  # what its queries came to
    inference: dict[str, float] = field(default_factory=dict)  # the loop's EpisodeResult.inference


def write_report(run_dir: Path, title: str, episodes: list[EpisodeSummary], camera: str = "top") -> dict[str, Any]:
    """Write the report files into ``run_dir`` and return the summary dict (also ``report.json``)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(title, episodes)
    recorded = [read_episode(f) for e in episodes for f in e.files if f.exists()]
    corrections = {str(r.path): sum(ev.get("kind") == "planned" for _, ev in r.recovery_events) for r in recorded}
    for row in summary["per_episode"]:
        row["corrections"] = sum(corrections.get(f, 0) for f in row["files"])
    if recorded:
        summary["joint_plot"] = str(plot_joints(recorded, run_dir / "joint_trajectories.png"))
        strip = camera_strip(recorded[0], camera, run_dir / "head_camera_strip.png")
        if strip is not None:
            summary["camera_strip"] = str(strip)
    _write_whole(run_dir / "report.json", json.dumps(summary, indent=2))
    _write_whole(run_dir / "report.md", to_markdown(summary))
    return summary


def _write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` all or nothing: a process killed while writing leaves no half report."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def summarize(title: str, episodes: list[EpisodeSummary]) -> dict[str, Any]:
    """Success rate with its Wilson interval, lengths, pooled timing percentiles, overruns."""
    n, wins = len(episodes), sum(e.success for e in episodes)
    low, high = wilson_interval(wins, n)
    lengths = [e.steps for e in episodes]
    return {
        "title": title,
        "episodes": n,
        "successes": wins,
        "success_rate": wins / n if n else 0.0,
        "success_ci95": [low, high],
        "length_mean": float(np.mean(lengths)) if lengths else 0.0,
        "length_min": min(lengths, default=0),
        "length_max": max(lengths, default=0),
        "tick_p50_ms": _median_of(episodes, "tick_p50_ms"),
        "tick_p99_ms": max((e.timing.get("tick_p99_ms", 0.0) for e in episodes), default=0.0),
        "overruns": int(sum(e.timing.get("overruns", 0) for e in episodes)),
        "ticks": int(sum(e.timing.get("ticks", 0) for e in episodes)),
        "inference": _inference_totals(episodes),
        "supervisor": sum((e.supervisor for e in episodes), SupervisorTally()).as_dict(),
        "sections_p50_ms": {
            key[: -len("_p50_ms")]: _median_of(episodes, key)
            for key in sorted({k for e in episodes for k in e.timing if k.endswith("_p50_ms")})
            if key != "tick_p50_ms"
        },
        "per_episode": [
            {
                "index": e.index,
                "seed": e.seed,
                "success": e.success,
                "stage": e.stage,
                "reason": e.reason,
                "steps": e.steps,
                "supervisor": e.supervisor.as_dict(),
                "files": [str(f) for f in e.files],
            }
            for e in episodes
        ],
    }


INFERENCE_COUNTS = ("chunks", "starved_ticks", "late_chunks", "rejected_chunks", "failed_requests", "rtc_fallbacks")


def supervisor_line(summary: dict[str, Any]) -> str:
    """The run's supervisor outcomes in one line: answers, failures flagged, timeouts, unreachable, unreadable."""
    return SupervisorTally.from_dict(summary.get("supervisor", {})).line()


def _inference_totals(episodes: list[EpisodeSummary]) -> dict[str, float]:
    """Inference counters summed over episodes, the largest latency p99 [ms] and splice jump (absolute, and relative
    to the safety layer's per-tick limit)."""
    totals = {key: float(sum(e.inference.get(key, 0.0) for e in episodes)) for key in INFERENCE_COUNTS}
    totals["latency_p99_ms"] = max((e.inference.get("latency_p99_ms", 0.0) for e in episodes), default=0.0)
    totals["max_splice_jump"] = max((e.inference.get("max_splice_jump", 0.0) for e in episodes), default=0.0)
    ratios = [e.inference["max_splice_jump_ratio"] for e in episodes if "max_splice_jump_ratio" in e.inference]
    if ratios:
        totals["max_splice_jump_ratio"] = max(ratios)
    return totals


def inference_line(summary: dict[str, Any]) -> str:
    """One line on inference: chunks, warm latency p99, starvations, late / refused / failed chunks, RTC fallbacks."""
    inf = summary.get("inference", {})
    return (
        f"inference: {inf.get('chunks', 0):.0f} chunks, latency p99 {inf.get('latency_p99_ms', 0.0):.1f} ms, "
        f"starved {inf.get('starved_ticks', 0):.0f} ticks; chunks late {inf.get('late_chunks', 0):.0f}, "
        f"refused {inf.get('rejected_chunks', 0):.0f}, failed {inf.get('failed_requests', 0):.0f}; "
        f"RTC fallbacks {inf.get('rtc_fallbacks', 0):.0f}; largest splice jump {inf.get('max_splice_jump', 0.0):.3f}"
        + (f" ({inf['max_splice_jump_ratio']:.1f}× the per-tick limit)" if "max_splice_jump_ratio" in inf else "")
    )


def _median_of(episodes: list[EpisodeSummary], key: str) -> float:
    values = [e.timing[key] for e in episodes if key in e.timing]
    return float(np.median(values)) if values else 0.0


def plot_joints(episodes: list[RecordedEpisode], path: Path) -> Path:
    """Measured joint positions over time, one panel per joint, all episodes overlaid."""
    names = episodes[0].joint_names or tuple(f"joint {i}" for i in range(episodes[0].joint_positions.shape[1]))
    cols = 2
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 1.6 * rows), sharex=True, squeeze=False)
    panels = axes.T.reshape(-1) if len(names) == 14 else axes.reshape(-1)
    for panel, joint in zip(panels, range(len(names)), strict=False):
        for ep in episodes:
            colour = "tab:green" if ep.outcome and ep.outcome.success else "tab:red"
            t = ep.timestamps - (ep.timestamps[0] if ep.length else 0.0)
            panel.plot(t, ep.joint_positions[:, joint], color=colour, alpha=0.6, linewidth=0.9)
        panel.set_ylabel(names[joint].replace("_arm_", "\n"), fontsize=7)
        panel.tick_params(labelsize=7)
    for panel in axes[-1]:
        panel.set_xlabel("time [s]")
    fig.suptitle("Measured joint positions (green: success, red: failure)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def camera_strip(episode: RecordedEpisode, camera: str, path: Path) -> Path | None:
    """``STRIP_FRAMES`` evenly spaced frames of ``camera`` side by side, tick index written on each."""
    frames = episode.images.get(camera)
    if frames is None or len(frames) == 0:
        return None
    picks = np.linspace(0, len(frames) - 1, num=min(STRIP_FRAMES, len(frames))).round().astype(int)
    tiles = []
    for index in picks:
        tile = cv2.cvtColor(frames[index], cv2.COLOR_RGB2BGR)
        cv2.putText(tile, f"t={index}", (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    cv2.imwrite(str(path), np.concatenate(tiles, axis=1))
    return path


def to_markdown(summary: dict[str, Any]) -> str:
    low, high = summary["success_ci95"]
    lines = [
        f"# {summary['title']}",
        "",
        f"- success: {summary['successes']}/{summary['episodes']} = {summary['success_rate']:.0%} "
        f"(95% Wilson CI {low:.0%}–{high:.0%})",
        f"- episode length [ticks]: mean {summary['length_mean']:.0f}, "
        f"min {summary['length_min']}, max {summary['length_max']}",
        f"- tick: p50 {summary['tick_p50_ms']:.2f} ms, p99 {summary['tick_p99_ms']:.2f} ms, "
        f"overruns {summary['overruns']}/{summary['ticks']}",
        "- sections p50 [ms]: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["sections_p50_ms"].items()),
        f"- {inference_line(summary)}",
        "",
        f"- supervisor: {supervisor_line(summary)}",
        "",
        "| episode | seed | success | stage | reason | ticks | supervisor | corrections | file |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in summary["per_episode"]:
        lines.append(
            f"| {e['index']} | {e['seed']} | {e['success']} | {e['stage']} | {e['reason']} | "
            f"{e['steps']} | {SupervisorTally.from_dict(e['supervisor']).line()} | {e.get('corrections', 0)} | "
            f"{', '.join(e['files'])} |"
        )
    for key, label in (("joint_plot", "Joint trajectories"), ("camera_strip", "Head camera")):
        if key in summary:
            lines += ["", f"![{label}]({Path(summary[key]).name})"]
    return "\n".join(lines) + "\n"
