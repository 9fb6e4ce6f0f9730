"""Evaluation output files: one row per episode (``results.json``, ``episodes.csv``) and per method
(``summary.csv``) with success rates and 95% Wilson intervals. Tables are generated from these files only.

``results.json``::

    {"preset": ..., "config": PipelineConfig, "rounds": [per-round rollout/correction counts],
     "episodes": [EpisodeRecord ...], "summary": [MethodSummary ...]}
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from failforward.learn.methods import EvalMethod
from failforward.learn.pipeline import PipelineConfig
from failforward.stats import wilson_interval


@dataclass(frozen=True)
class EpisodeRecord:
    """One evaluation episode: method, task preset, held-out ``seed``, run index ``run`` (noise seed), outcome."""

    method: str
    label: str
    family: str
    preset: str
    round: int
    guidance: str
    seed: int
    run: int
    success: bool
    stage: int
    reason: str
    ticks: int
    file: str | None

    @classmethod
    def from_row(cls, method: EvalMethod, preset: str, row: dict[str, Any]) -> EpisodeRecord:
        g = method.guidance
        guidance = {"none": "none", "static": f"static λ={g.static_lambda:g}", "adaptive": f"adaptive γ={g.gamma:g}"}
        return cls(
            method.name,
            method.label,
            method.family,
            preset,
            method.round,
            guidance[g.mode.value],
            int(row["seed"]),
            int(row.get("run", 0)),
            bool(row["success"]),
            int(row["stage"]),
            str(row["reason"]),
            int(row["ticks"]),
            row.get("file"),
        )


@dataclass(frozen=True)
class MethodSummary:
    """Success rate of one method on one preset, with its 95% Wilson interval ``[low, high]``."""

    method: str
    label: str
    preset: str
    successes: int
    trials: int
    rate: float
    low: float
    high: float


def summarize(records: list[EpisodeRecord]) -> list[MethodSummary]:
    """One summary per (preset, method), in first-seen order."""
    groups: dict[tuple[str, str], list[EpisodeRecord]] = {}
    for r in records:
        groups.setdefault((r.preset, r.method), []).append(r)
    out = []
    for (preset, method), rows in groups.items():
        s, n = sum(r.success for r in rows), len(rows)
        low, high = wilson_interval(s, n)
        out.append(MethodSummary(method, rows[0].label, preset, s, n, s / n, low, high))
    return out


def write_results(
    directory: Path, config: PipelineConfig, records: list[EpisodeRecord], rounds: list[dict[str, Any]]
) -> Path:
    """Write ``results.json``, ``episodes.csv`` and ``summary.csv`` into ``directory``; returns the JSON path."""
    directory.mkdir(parents=True, exist_ok=True)
    summary = summarize(records)
    data = {
        "preset": config.preset,
        "config": config.model_dump(mode="json"),
        "rounds": rounds,
        "episodes": [asdict(r) for r in records],
        "summary": [asdict(s) for s in summary],
    }
    path = directory / "results.json"
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False))
    _csv(directory / "episodes.csv", [asdict(r) for r in records])
    _csv(directory / "summary.csv", [asdict(s) for s in summary])
    return path


def read_results(path: Path) -> dict[str, Any]:
    """Load a ``results.json`` (as written by :func:`write_results`)."""
    return json.loads(Path(path).read_text())


def _csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        path.write_text("")
        return
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
