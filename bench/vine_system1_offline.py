"""System 1 offline, on recorded episodes it was not trained on (issue 16): does its done head find the end of a
subgoal, and how far are its chunks from the recorded expert's actions.

For every subgoal segment of the held-out recordings (:mod:`failforward.learn.vine.system1`, the runtime's planning
cycles), the done head is read as the runtime reads it: once per chunk, every ``--every`` ticks from the segment's
start (the broker's ``execute_steps``), on the recorded observation and the segment's prompt. Per successful segment:
whether it fired before the subgoal's successor was observed (an early end of edge), and the ticks from the successor
to the first chunk at or above the threshold (its latency; "missed" when none fired within ``--tail`` ticks after).
A segment whose successor was observed on the episode's last ticks (the last insertion: the episode ends on success)
has no chunk after it and counts for early ends only. Per failed segment (a plug let go, or time ran out): whether it
fired at all (a false end of edge). Action error: per chunk, the mean absolute difference [rad] between its first
``--every`` rows (what the loop executes) and the recorded actions of the same ticks, over the successful segments;
beside it the error of holding the tick's recorded action for those rows (the scale of the motion to predict), and
the error of the chunk's first row alone (where the arm is asked to be now: an absolute-action model that cannot
place the arm where it already is shows it here).

Example:
    ./run python bench/vine.py collect --episodes 40 --first-seed 100000 --data runs/vine/heldout
    ./run python bench/vine_system1_offline.py --data runs/vine/heldout --model models/vine_plug_strip/system1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.learn.vine.system1 import segments_of
from failforward.policy.base import PolicyBackend
from failforward.record.reader import RecordedEpisode, read_episode
from failforward.stats import rate_text
from failforward.types import Observation

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench vine_dagger_error
from vine_dagger_error import unguided_system1


def _observation(episode: RecordedEpisode, t: int) -> Observation:
    return Observation(
        float(episode.timestamps[t]),
        episode.joint_positions[t],
        episode.joint_velocities[t],
        object_state=episode.object_state[t],
    )


def score_episode(
    policy: PolicyBackend, episode: RecordedEpisode, every: int, tail: int, threshold: float
) -> list[dict]:
    """One row per subgoal segment (``done`` segments skipped): kind, whether the head fired early, its latency."""
    rows = []
    for segment in segments_of(episode):
        if segment.subgoal == "done":
            continue
        end = segment.stop if segment.reached is None else min(episode.length, segment.reached + tail + 1)
        ticks = range(segment.start, end, every)
        chunks = [policy.infer(_observation(episode, t), prompt=segment.subgoal) for t in ticks]
        probabilities = [c.done for c in chunks]
        fired = [t for t, p in zip(ticks, probabilities, strict=True) if p is not None and p >= threshold]
        row = {"subgoal": segment.subgoal.split()[0], "succeeded": segment.reached is not None}
        if segment.reached is None:
            row["fired"] = bool(fired)
        else:
            pairs = list(zip(chunks, ticks, strict=True))
            row["action_error"] = float(np.mean([_error(c.actions, episode, t, every) for c, t in pairs]))
            row["first_row_error"] = float(np.mean([_error(c.actions, episode, t, 1) for c, t in pairs]))
            held = [_error(episode.sent_actions[t][None], episode, t, every) for t in ticks]
            row["hold_error"] = float(np.mean(held))  # a policy that holds the tick's action: the scale of the motion
            row["early"] = any(t < segment.reached for t in fired)
            row["final"] = segment.reached + every > episode.length  # the episode ended on it: no chunk after
            after = [t - segment.reached for t in fired if t >= segment.reached]
            row["latency"] = after[0] if after else None
        rows.append(row)
    return rows


def _error(actions: np.ndarray, episode: RecordedEpisode, t: int, every: int) -> float:
    """Mean |chunk − recorded| [rad] over the rows executed from tick ``t`` (at most ``every``)."""
    recorded = episode.sent_actions[t : t + every]
    return float(np.abs(actions[: len(recorded)] - recorded).mean())


def summary(rows: list[dict]) -> str:
    """Early ends, latency and misses per subgoal kind (successful segments), false ends (failed segments)."""
    lines = ["| subgoal | segments | early end | latency p50 / p90 [ticks] | missed (not last) | failed: fired | "
             "action error p50 [rad] (holding: p50) | first row error p50 [rad] |", "| --- " * 8 + "|"]  # fmt: skip
    for kind in sorted({r["subgoal"] for r in rows}):
        ok = [r for r in rows if r["subgoal"] == kind and r["succeeded"]]
        bad = [r for r in rows if r["subgoal"] == kind and not r["succeeded"]]
        ended = [r for r in ok if not r["final"]]  # a chunk came after the successor was observed
        latencies = [r["latency"] for r in ended if r["latency"] is not None]
        p50, p90 = np.percentile(latencies, [50, 90]) if latencies else (float("nan"),) * 2
        early = rate_text(sum(r["early"] for r in ok), len(ok))
        missed = rate_text(sum(r["latency"] is None for r in ended), len(ended))
        false_ends = rate_text(sum(r["fired"] for r in bad), len(bad))
        error = np.median([r["action_error"] for r in ok]) if ok else float("nan")
        hold = np.median([r["hold_error"] for r in ok]) if ok else float("nan")
        first = np.median([r["first_row_error"] for r in ok]) if ok else float("nan")
        cells = (kind, len(ok), early, f"{p50:.0f} / {p90:.0f}", missed, false_ends, f"{error:.3f} ({hold:.3f})",
                 f"{first:.3f}")  # fmt: skip
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("runs/vine/heldout"))
    parser.add_argument("--model", type=Path, default=Path("models/vine_plug_strip/system1"))
    parser.add_argument("--every", type=int, default=25, help="ticks between chunks (broker.execute_steps)")
    parser.add_argument("--tail", type=int, default=50, help="ticks after the successor within which it must fire")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=Path("docs/vine_system1_offline.json"))
    args = parser.parse_args()
    policy = unguided_system1(args.model)
    files = [json.loads(line)["file"] for line in (args.data / "episodes.jsonl").read_text().splitlines() if line]
    rows = []
    for file in files:
        rows.extend(score_episode(policy, read_episode(file, load_images=False), args.every, args.tail, args.threshold))
    table = summary(rows)
    settings = {"data": str(args.data), "model": str(args.model), "episodes": len(files), "every": args.every,
                "tail": args.tail, "threshold": args.threshold}  # fmt: skip
    args.out.write_text(json.dumps({"settings": settings, "segments": rows, "table": table}, indent=1) + "\n")
    print(json.dumps(settings))
    print(table)


if __name__ == "__main__":
    main()
