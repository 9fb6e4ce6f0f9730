"""How the round-0 corrections differ from the demonstrations they are trained beside (issue 17).

On transfer cube, fine-tuning on demos + corrections drops the success head from 46 % to 19 %
(``docs/afil_correction_round_tc_limited3.md``) while demos alone lift it to 63 %. This compares the two success
sets of a ``failforward learn`` run the way ``bench/correction_round.py`` builds them (each successful correction
from its takeover tick): length, where they start, how fast the commanded joints move, and how long each gripper is
commanded closed.

Example:
    ./run python bench/correction_stats.py --run runs/learn/tc_limited3
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from failforward.learn.episodes import EpisodeArrays
from failforward.learn.sources import EpisodeSlice, load_slices
from failforward.sim.aloha_scene import GRIPPER_INDICES

STILL = 1e-3  # [rad per tick] a commanded joint step below this on every joint: the command holds


def success_sets(run: Path) -> tuple[list[EpisodeArrays], list[EpisodeArrays], np.ndarray]:
    """``(demos, successful round-0 corrections from their takeover tick, the takeover ticks)`` of ``run``."""
    steps = json.loads((run / "state.json").read_text())["steps"]
    demos = load_slices([EpisodeSlice(run / f) for f in steps["collect"]["files"]])
    fixed = [c for c in steps["correct_0"]["corrections"] if c["success"]]
    corrections = load_slices([EpisodeSlice(run / c["file"], c["takeover"]) for c in fixed])
    return demos, corrections, np.array([c["takeover"] for c in fixed])


def row(name: str, episodes: list[EpisodeArrays]) -> str:
    """One markdown row of the set's statistics."""
    lengths = np.array([e.length for e in episodes])
    arms = [c for c in range(episodes[0].actions.shape[1]) if c not in GRIPPER_INDICES]
    steps = np.concatenate([np.abs(np.diff(e.actions[:, arms], axis=0)).max(axis=1) for e in episodes])
    grippers = np.concatenate([e.actions[:, list(GRIPPER_INDICES)] for e in episodes])
    first = np.stack([e.object_state[0, :3] for e in episodes])
    start_spread = np.stack([e.joint_positions[0, arms] for e in episodes]).std(axis=0).mean()
    return (
        f"| {name} | {len(episodes)} | {np.median(lengths):.0f} | {np.median(first[:, 2]) * 1000:.0f} "
        f"| {start_spread:.3f} | {np.median(steps) * 50:.2f} / {np.percentile(steps, 90) * 50:.2f} "
        f"| {np.mean(steps < STILL):.2f} | {np.mean(grippers[:, 0] < 0.5):.2f} / {np.mean(grippers[:, 1] < 0.5):.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a `failforward learn` run with correct_0")
    args = parser.parse_args()
    demos, corrections, takeover = success_sets(args.run)
    ticks = np.percentile(takeover, [10, 50, 90])
    print(f"{args.run}: takeover tick p10 / p50 / p90 {ticks[0]:.0f} / {ticks[1]:.0f} / {ticks[2]:.0f}\n")
    print(
        "| success set | episodes | ticks p50 | cube height at the first tick p50 [mm] | start joints' std [rad] "
        "| arm speed p50 / p90 [rad/s, fastest joint] | holding share | gripper closed share left / right |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(row("demos", demos))
    print(row("corrections (from takeover)", corrections))


if __name__ == "__main__":
    main()
