"""Where AFIL's two heads disagree (issue 17): 1 − cos(v_s, v_f) early in episodes vs where failed episodes go wrong.

AFIL's guidance acts only where the failure head's velocity turns away from the success head's. This measures that
on a `failforward learn` run's guided evaluation episodes, from what they recorded (no model is rerun):

- every guided chunk records λ_t ``[N]`` per denoise step on ``/policy/guidance``; with adaptive guidance
  λ_t = γ (1 − cos(v_s, v_f)) / 2, so a chunk's disagreement is ``d = 2 · mean_k λ_t / γ`` (the mean of 1 − cos over
  its N Euler steps; 0 = the heads agree, 2 = opposite);
- each episode's task stage per tick comes from replaying its sent commands in the simulator (the robot kind's
  ``learn.correctors.CORRECTORS`` stage trace, physics only; the pipeline's failure corrections use the same replay);
- windows: *early* = chunks inferred in the first ``--early-s`` seconds (stage 0 for every episode); *at stage m* =
  chunks in the first ``--window-s`` seconds after the episode entered stage m. A failed episode whose highest stage
  is m stopped progressing there (that is where it went wrong); a successful one went on from m.

Printed per method and stage m: the mean d early and at m, for failed episodes stuck at m and for successful ones
passing m, and the AUROC of d (failed-at-m chunks above successful-at-m chunks; Hanley–McNeil 95 % interval), also
early (≈ 0.5 when the heads cannot tell the episodes apart before anything happened).

Run (after `failforward learn eval` finished the guided rows):
    nice -n 19 ./run python bench/guidance_mechanism.py --run-dir runs/learn/tc_limited \
        --out docs/afil_mechanism_tc_limited.json --doc docs/afil_mechanism_tc_limited.md
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from failforward.config import get_preset
from failforward.learn.correctors import CORRECTORS
from failforward.record.reader import read_episode
from failforward.robots.registry import make_driver
from failforward.stats import auroc


def episode_chunks(root: Path, row: dict[str, Any], gamma: float, driver: Any, kind: str) -> dict[str, Any] | None:
    """One evaluation episode as ``{success, max_stage, chunks: [[time s, stage, d], ...]}``; ``None`` if unguided."""
    episode = read_episode(root / row["file"], load_images=False)
    if not episode.guidance or len(episode.sent_actions) == 0:
        return None
    stages = CORRECTORS[kind].stage_trace(driver, row["seed"], episode.sent_actions)  # by robot kind
    t0 = float(episode.timestamps[0])
    chunks = []
    for t, lam in episode.guidance:
        tick = min(int(np.searchsorted(episode.timestamps, t)), len(stages) - 1)
        chunks.append([t - t0, int(stages[tick]), float(2.0 * np.mean(lam) / gamma)])
    entered = {int(m): float(episode.timestamps[np.argmax(stages >= m)] - t0) for m in np.unique(stages)}
    return {
        "success": bool(row["success"]),
        "max_stage": int(stages.max()),
        "replay_matches": int(stages.max()) == int(row["stage"]),  # the replay reached the recorded stage
        "entered": entered,
        "chunks": chunks,
    }


def window(ep: dict[str, Any], stage: int, seconds: float) -> list[float]:
    """The episode's chunk disagreements in its first ``seconds`` at ``stage`` (empty if it never reached it)."""
    start = ep["entered"].get(stage, ep["entered"].get(str(stage)))
    if start is None:
        return []
    return [d for t, m, d in ep["chunks"] if m == stage and start <= t < start + seconds]


def summarize(
    episodes: list[dict[str, Any]], early_s: float, window_s: float, min_chunks: int = 10
) -> list[dict[str, Any]]:
    """One row per failure stage m with failed episodes: mean d and AUROC, early and at m (an AUROC only where both
    groups hold at least ``min_chunks`` chunks; NaN otherwise, as its interval would mean nothing)."""

    def separation(positive: list[float], negative: list[float]) -> tuple[float, float, float]:
        if min(len(positive), len(negative)) < min_chunks:
            return math.nan, math.nan, math.nan
        return auroc(positive, negative)

    rows = []
    failed_stages = sorted({e["max_stage"] for e in episodes if not e["success"]})
    for m in failed_stages:
        failed = [e for e in episodes if not e["success"] and e["max_stage"] == m]
        passed = [e for e in episodes if e["success"]]
        f_at = [d for e in failed for d in window(e, m, window_s)]
        s_at = [d for e in passed for d in window(e, m, window_s)]
        f_stay = [d for e in failed for _, s, d in e["chunks"] if s == m]
        s_stay = [d for e in passed for _, s, d in e["chunks"] if s == m]
        f_early = [d for e in failed for t, _, d in e["chunks"] if t < early_s]
        s_early = [d for e in passed for t, _, d in e["chunks"] if t < early_s]
        rows.append(
            {
                "stage": m,
                "failed_episodes": len(failed),
                "successful_episodes": len(passed),
                "mean_early": {"failed": _mean(f_early), "successful": _mean(s_early)},
                "mean_at_stage": {"failed": _mean(f_at), "successful": _mean(s_at)},
                "chunks_at_stage": {"failed": len(f_at), "successful": len(s_at)},
                "auroc_early": separation(f_early, s_early),
                "auroc_at_stage": separation(f_at, s_at),
                "mean_whole_stay": {"failed": _mean(f_stay), "successful": _mean(s_stay)},
                "auroc_whole_stay": separation(f_stay, s_stay),
            }
        )
    return rows


def setbacks(episodes: list[dict[str, Any]], min_chunks: int = 10) -> dict[str, Any]:
    """Chunks inferred after a setback (the stage below the highest the episode had reached, e.g. a grasped cube
    dropped) against every other chunk after the first stage was passed: mean d, chunk counts, AUROC (setback above)."""
    after, onward, with_setback = [], [], 0
    for e in episodes:
        best, before = 0, len(after)
        for _, m, d in e["chunks"]:
            best = max(best, m)
            if best > 0:
                (after if m < best else onward).append(d)
        with_setback += len(after) > before
    auc = auroc(after, onward) if min(len(after), len(onward)) >= min_chunks else (math.nan,) * 3
    return {
        "episodes_with_setback": with_setback,
        "mean": {"setback": _mean(after), "onward": _mean(onward)},
        "chunks": {"setback": len(after), "onward": len(onward)},
        "auroc": auc,
    }


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def method_gamma(name: str) -> float | None:
    """γ of an adaptive method name (``dag_adaptive_<γ>``), else ``None`` (static λ carries no 1 − cos)."""
    return float(name.rsplit("_", 1)[1]) if name.startswith("dag_adaptive_") else None


def measure(run_dir: Path, methods: list[str] | None) -> dict[str, list[dict[str, Any]]]:
    """Every adaptive method's episodes of ``run_dir``'s evaluation, per method."""
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    robot = get_preset(results["preset"]).robot.model_copy(update={"cameras": []})  # physics only: no rendering
    wanted = methods or sorted({r["method"] for r in results["episodes"] if method_gamma(r["method"]) is not None})
    out: dict[str, list[dict[str, Any]]] = {}
    with make_driver(robot) as driver:
        for name in wanted:
            gamma = method_gamma(name)
            if gamma is None or gamma == 0:
                raise SystemExit(f"{name}: not an adaptive method (dag_adaptive_<γ>, γ > 0)")
            rows = [r for r in results["episodes"] if r["method"] == name and r.get("file")]
            eps = [episode_chunks(run_dir, r, gamma, driver, robot.kind) for r in rows]
            out[name] = [e for e in eps if e is not None]
            matches = sum(e["replay_matches"] for e in out[name])
            print(f"{name}: {len(out[name])} guided episodes read, {matches} replays reached the recorded stage")
    return out


def render(run_dir: Path, data: dict[str, Any]) -> str:
    """Markdown table of every method's rows."""
    a = data["args"]
    lines = [
        f"# Where the heads disagree: `{run_dir}`",
        "",
        "Generated by `bench/guidance_mechanism.py` from the run's guided evaluation episodes; no number is "
        "typed by hand. d = 1 − cos(v_s, v_f), a chunk's mean over its denoise steps (= 2 λ_t / γ). Early: the "
        f"first {a['early_s']} s of every episode. At m: the first {a['window_s']} s after entering stage m; failed "
        "episodes are those whose highest stage is m (they stopped there), successful ones passed it. The whole "
        "stay: every chunk at stage m. AUROC: P(a failed chunk's d > a successful chunk's d) [95 % Hanley–McNeil].",
        "",
    ]
    lines += table(data["methods"])
    if data.get("setbacks"):
        lines += [
            "",
            "After a setback: chunks inferred at a stage below the highest the episode had reached (the task partly "
            "undone, e.g. a grasped object dropped) against every other chunk once stage 1 was reached, all episodes; "
            "AUROC: P(a setback chunk's d > another's).",
            "",
            "| method | episodes with a setback | d after a setback / otherwise | chunks | AUROC |",
            "| --- | --- | --- | --- | --- |",
        ]
        for name, r in data["setbacks"].items():
            means = _numbers(r["mean"]["setback"], r["mean"]["onward"])
            chunks = f"{r['chunks']['setback']} / {r['chunks']['onward']}"
            lines.append(f"| {name} | {r['episodes_with_setback']} | {means} | {chunks} | {_auc(r['auroc'])} |")
    return "\n".join(lines) + "\n"


def table(methods: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Markdown table lines: one row per (method or variant, failure stage) of :func:`summarize`'s output."""
    lines = [
        "| method | stage m (failed episodes / successful) | d early: failed / successful | AUROC early "
        "| d at m: failed / successful | AUROC at m | d over the whole stay at m | AUROC over the stay |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, rows in methods.items():
        for r in rows:
            lines.append(
                f"| {name} | {r['stage']} ({r['failed_episodes']} / {r['successful_episodes']}) "
                f"| {_pair(r['mean_early'])} | {_auc(r['auroc_early'])} | {_pair(r['mean_at_stage'])} "
                f"| {_auc(r['auroc_at_stage'])} | {_pair(r['mean_whole_stay'])} | {_auc(r['auroc_whole_stay'])} |"
            )
    return lines


def _pair(means: dict[str, float | None]) -> str:
    return _numbers(means["failed"], means["successful"])


def _numbers(*values: float | None) -> str:
    return " / ".join("–" if v is None else f"{v:.3f}" for v in values)


def _auc(a: list[float] | tuple[float, float, float]) -> str:
    return "–" if a[0] != a[0] else f"{a[0]:.2f} [{a[1]:.2f}–{a[2]:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="a `failforward learn` run with eval/results.json")
    parser.add_argument("--methods", nargs="+", help="dag_adaptive_<γ> methods (default: every adaptive one)")
    parser.add_argument("--early-s", type=float, default=2.0)
    parser.add_argument("--window-s", type=float, default=1.0)
    parser.add_argument("--out", type=Path, required=True, help="JSON: per-episode chunks and the summary rows")
    parser.add_argument("--doc", type=Path, help="also write the markdown table here")
    args = parser.parse_args()
    episodes = measure(args.run_dir, args.methods)
    summary = {name: summarize(eps, args.early_s, args.window_s) for name, eps in episodes.items()}
    data = {
        "run_dir": str(args.run_dir),
        "args": {"early_s": args.early_s, "window_s": args.window_s},
        "methods": summary,
        "setbacks": {name: setbacks(eps) for name, eps in episodes.items()},
        "episodes": episodes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1))
    text = render(args.run_dir, data)
    print(text)
    if args.doc:
        args.doc.write_text(text)


if __name__ == "__main__":
    main()
