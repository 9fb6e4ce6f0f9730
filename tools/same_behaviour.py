"""Checks that a restructuring kept behaviour: two runs compared trial by trial, episode by episode.

Run:
    ./run python tools/same_behaviour.py benchmark docs/recovery_benchmark.json runs/new.json --methods blind_expert
    ./run python tools/same_behaviour.py episodes /tmp/demo_old/<run> runs/demo/<run>

- ``benchmark``: trials of ``bench/recovery_benchmark.py`` JSONs, matched by (task, method, disturbance, seed):
  success, ticks, tick of the disturbance and the recovery events must be equal.
- ``episodes``: MCAP episodes of two run directories, matched by file name: every command sent (``[T, A]``),
  every observed joint position and the recorded outcome must be equal, to the bit.
Prints one line per difference and a summary; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from failforward.record.reader import read_episode

TRIAL_FIELDS = ("success", "steps", "disturbed_at", "events")


def compare_benchmarks(reference: Path, candidate: Path, methods: list[str]) -> list[str]:
    """Differences between the trials of ``methods`` in two benchmark JSONs (empty: identical)."""

    def trials(path: Path) -> dict[tuple, dict]:
        rows = json.loads(path.read_text())["trials"]
        return {
            (t.get("task", "transfer_cube"), t["method"], t["disturbance"], t["seed"]): t
            for t in rows
            if t["method"] in methods
        }

    old, new = trials(reference), trials(candidate)
    missing = sorted(set(new) - set(old))
    differences = [f"{key}: not in {reference}" for key in missing]
    for key in sorted(set(new) & set(old)):
        changed = [
            f"{name} {old[key].get(name)!r} -> {new[key].get(name)!r}"
            for name in TRIAL_FIELDS
            if old[key].get(name) != new[key].get(name)
        ]
        differences += [f"{key}: {', '.join(changed)}"] if changed else []
    print(f"{len(set(new) & set(old))} trials compared ({', '.join(methods)}), {len(differences)} differ")
    return differences


def compare_episodes(reference: Path, candidate: Path) -> list[str]:
    """Differences between the same-named MCAP episodes of two run directories (empty: identical)."""
    names = sorted(p.name for p in reference.glob("*.mcap"))
    differences = [f"{name}: missing in {candidate}" for name in names if not (candidate / name).exists()]
    compared = 0
    for name in (n for n in names if (candidate / n).exists()):
        old, new = (read_episode(root / name, load_images=False) for root in (reference, candidate))
        compared += 1
        for what in ("sent_actions", "joint_positions"):
            a, b = getattr(old, what), getattr(new, what)
            if a.shape != b.shape or not np.array_equal(a, b):
                differences.append(f"{name}: {what} differ (shapes {a.shape} vs {b.shape})")
        if old.outcome != new.outcome:
            differences.append(f"{name}: outcome {old.outcome} -> {new.outcome}")
    print(f"{compared} episodes compared, {len(differences)} differ")
    return differences


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    bench = sub.add_parser("benchmark")
    bench.add_argument("reference", type=Path)
    bench.add_argument("candidate", type=Path)
    bench.add_argument("--methods", nargs="+", default=["blind_expert", "blind_expert+pmc"])
    episodes = sub.add_parser("episodes")
    episodes.add_argument("reference", type=Path)
    episodes.add_argument("candidate", type=Path)
    args = parser.parse_args(argv)
    if args.what == "benchmark":
        differences = compare_benchmarks(args.reference, args.candidate, args.methods)
    else:
        differences = compare_episodes(args.reference, args.candidate)
    for line in differences:
        print(line)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
