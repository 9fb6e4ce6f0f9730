"""Markdown tables generated from ``results.json`` files (never typed by hand).

``methods_table`` is shaped like AFIL Tables 1–2: one row per method, one column per task, each cell
``rate % [95% Wilson low–high] (successes/trials)``; ``rounds_table`` reports each learning round.
"""

from __future__ import annotations

from typing import Any

from failforward.stats import wilson_interval


def _cell(s: dict[str, Any]) -> str:
    return f"{100 * s['rate']:.0f} [{100 * s['low']:.0f}–{100 * s['high']:.0f}] ({s['successes']}/{s['trials']})"


def methods_table(results: list[dict[str, Any]]) -> str:
    """Methods × tasks success rates [%] with 95% Wilson intervals, from one or more ``results.json``."""
    tasks = [r["preset"] for r in results]
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    labels: dict[str, str] = {}
    for r in results:
        for s in r["summary"]:
            rows.setdefault(s["method"], {})[r["preset"]] = s
            labels[s["method"]] = s["label"]
    lines = ["| Method | " + " | ".join(tasks) + " |", "| --- |" + " --- |" * len(tasks)]
    for method, cells in rows.items():
        values = [_cell(cells[t]) if t in cells else "–" for t in tasks]
        lines.append(f"| {labels[method]} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def rounds_table(result: dict[str, Any]) -> str:
    """Per-round training data, rollout success [% with 95 % Wilson interval] and correction success of one run,
    with the failures and corrections collected so far (the paper's scale: 1500 failures, 1000 corrections)."""
    lines = [
        "| round | train steps (total) | success episodes | failure episodes | train [s] | rollouts succeeded "
        "| rollout [s] | corrections succeeded | correct [s] | failures so far | corrections so far |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    failures = corrected = 0
    for r in result["rounds"]:
        rollout, corrections, so_far = "–", "–", ("–", "–")
        if "rollouts" in r:
            rollout = _cell(_rate(r["rollout_successes"], r["rollouts"]))
            failures += r["rollouts"] - r["rollout_successes"]
        if "corrections" in r:
            corrections = f"{r['corrected']}/{r['corrections']}"
            corrected += r["corrected"]
        if "rollouts" in r or "corrections" in r:
            so_far = (str(failures), str(corrected))
        lines.append(
            f"| {r['round']} | {r['train_steps']} | {r['train_success_episodes']} | {r['train_failure_episodes']} "
            f"| {r['train_seconds']:.0f} | {rollout} | {_seconds(r.get('rollout_seconds'))} | {corrections} "
            f"| {_seconds(r.get('correct_seconds'))} | {so_far[0]} | {so_far[1]} |"
        )
    return "\n".join(lines)


def _rate(successes: int, trials: int) -> dict[str, Any]:
    low, high = wilson_interval(successes, trials)
    return {
        "rate": successes / trials if trials else 0.0,
        "low": low,
        "high": high,
        "successes": successes,
        "trials": trials,
    }


def failure_reasons_table(result: dict[str, Any]) -> str:
    """How evaluation episodes ended, per method (counts of the simulator's failure reasons)."""
    counts: dict[str, dict[str, int]] = {}
    for e in result["episodes"]:
        reason = "success" if e["success"] else e["reason"]
        counts.setdefault(e["label"], {}).setdefault(reason, 0)
        counts[e["label"]][reason] += 1
    reasons = sorted({r for c in counts.values() for r in c}, key=lambda r: (r != "success", r))
    lines = ["| Method | " + " | ".join(reasons) + " |", "| --- |" + " --- |" * len(reasons)]
    for label, c in counts.items():
        lines.append(f"| {label} | " + " | ".join(str(c.get(r, 0)) for r in reasons) + " |")
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"
