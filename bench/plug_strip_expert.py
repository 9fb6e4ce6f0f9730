"""Success of the scripted plug-strip expert per insertion order, seen and unseen (issue 16, item 1).

Runs seeds ``0..N-1`` of each split; every seed's layout is tried with every order it allows (plug order × socket
choice: 2–12 orders), each episode from the same reset. Orders are named by their pairs (``a0 b1`` = plug_a into
socket_0, then plug_b into socket_1). Prints, per split, the success rate per order and per order kind with 95%
Wilson intervals, and the failure reasons; ``--markdown`` prints the same as Markdown tables (for
``docs/plug_strip.md``). About 1.5 s (one plug) to 4 s (two plugs) per episode on one core.

Example:
    MUJOCO_GL=egl python bench/plug_strip_expert.py --seeds 10 --splits seen unseen --markdown
"""

from __future__ import annotations

import argparse
import collections
import time
from collections.abc import Iterable

from failforward.policy.expert.plug_strip import grasp_side
from failforward.policy.expert.plug_strip_episode import EpisodeResult, run_episode
from failforward.sim.plug_strip_layout import PlugStripLayout, sample_layout
from failforward.sim.plug_strip_status import socket_mouth
from failforward.sim.plug_strip_subgoals import all_orders
from failforward.stats import wilson_interval


def order_name(order: Iterable[tuple[str, str]]) -> str:
    """``(("plug_a", "socket_0"), ("plug_b", "socket_1"))`` → ``"a0 b1"``."""
    return " ".join(f"{p[-1]}{s[-1]}" for p, s in order)


def order_kind(order: tuple[tuple[str, str], ...], layout: PlugStripLayout) -> str:
    """What makes an order risky, from the layout alone: a plug going to the far side of the strip from its arm
    (``cross``), into the tight socket_1 (``tight``), next to a plug already in (``adjacent``)."""
    tags = []
    for k, (plug, socket) in enumerate(order):
        side = grasp_side(layout.plug_poses[plug][:2])
        mouth_x = socket_mouth(layout.strip_pose, layout.sockets.index(socket))[0]
        if (side == "left" and mouth_x > layout.strip_pose[0] + 0.01) or (
            side == "right" and mouth_x < layout.strip_pose[0] - 0.01
        ):
            tags.append("cross")
        if socket == "socket_1":
            tags.append("tight")
        if k > 0 and abs(int(socket[-1]) - int(order[k - 1][1][-1])) == 1:
            tags.append("adjacent")
    return "+".join(sorted(set(tags))) or "plain"


def run(seeds: int, split: str, start: int) -> list[tuple[EpisodeResult, str]]:
    results = []
    for seed in range(start, start + seeds):
        layout = sample_layout(seed, split)
        for order in all_orders(layout):
            result = run_episode(seed, order, split)
            results.append((result, order_kind(result.order, layout)))
    return results


def _rows(groups: dict[str, list[bool]]) -> list[tuple[str, int, int, float, float]]:
    rows = []
    for key in sorted(groups):
        ok = groups[key]
        lo, hi = wilson_interval(sum(ok), len(ok))
        rows.append((key, sum(ok), len(ok), lo, hi))
    return rows


def report(split: str, results: list[tuple[EpisodeResult, str]], markdown: bool) -> None:
    by_order: dict[str, list[bool]] = collections.defaultdict(list)
    by_kind: dict[str, list[bool]] = collections.defaultdict(list)
    reasons: collections.Counter[str] = collections.Counter()
    for result, kind in results:
        by_order[order_name(result.order)].append(result.success)
        by_kind[kind].append(result.success)
        if not result.success:
            reasons[result.reason.split(" (")[0]] += 1
    total = [r.success for r, _ in results]
    lo, hi = wilson_interval(sum(total), len(total))
    print(f"\n{split}: {sum(total)}/{len(total)} = {sum(total) / max(1, len(total)):.2f} [{lo:.2f}, {hi:.2f}]")
    for title, groups in (("order", by_order), ("order kind", by_kind)):
        if markdown:
            print(f"\n| {title} | success | n | rate | 95% Wilson |\n|---|---|---|---|---|")
        for key, k, n, lo, hi in _rows(groups):
            if markdown:
                print(f"| {key} | {k} | {n} | {k / n:.2f} | [{lo:.2f}, {hi:.2f}] |")
            else:
                print(f"  {title:10s} {key:24s} {k:3d}/{n:<3d} {k / n:.2f} [{lo:.2f}, {hi:.2f}]")
    print("  failures: " + ", ".join(f"{reason} {count}" for reason, count in reasons.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10, help="layouts per split")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--splits", nargs="+", default=["seen", "unseen"])
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    for split in args.splits:
        t0 = time.perf_counter()
        results = run(args.seeds, split, args.start)
        report(split, results, args.markdown)
        print(f"  ({len(results)} episodes in {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
