"""Success of the scripted plug-strip expert per insertion order, seen and unseen (issue 16, item 1).

Runs seeds ``start..start+N-1`` of each split; every seed's layout is tried with every order it allows (plug order ×
socket choice: 2–12 orders), each episode from the same reset. Orders are named by their pairs (``a0 b1`` = plug_a
into socket_0, then plug_b into socket_1). Each episode is appended to ``--out`` (jsonl) as it ends, so a stopped run
resumes where it stopped and ``--report-only`` re-reads it without simulating.

Printed per split, with 95 % Wilson intervals: success per **reach** (how far past the table's centre line, towards
the other arm, the order's farthest socket lies for the arm that inserts there [m]: the arm nearer a plug grasps and
inserts it), per order kind (``far``: reach above ``FAR``; ``tight``: socket_1; ``adjacent``: next to the plug already
in), per fixed order across layouts, and, in the layouts that offer both, the safe orders (reach up to ``SAFE``)
against the far ones (above ``FAR``): what a planner that reads the placement can gain; then the failure reasons.
About 2–4 s per episode on one core.

Example:
    MUJOCO_GL=egl nice -n 19 python bench/plug_strip_expert.py --seeds 20 --splits seen unseen --markdown
"""

from __future__ import annotations

import argparse
import collections
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from failforward.policy.expert.plug_strip import grasp_side
from failforward.policy.expert.plug_strip_episode import run_episode
from failforward.sim.plug_strip_layout import PlugStripLayout, sample_layout
from failforward.sim.plug_strip_status import socket_mouth
from failforward.sim.plug_strip_subgoals import all_orders
from failforward.stats import wilson_interval

Order = tuple[tuple[str, str], ...]
FAR = 0.13  # [m] reach past the centre line above which an order counts as "far"
SAFE = 0.10  # [m] reach up to which an order counts as safe (per-layout comparison)
REACH_BINS = (0.0, 0.05, 0.10, 0.13, 0.16)  # [m] lower edges of the reach rows


def order_name(order: Iterable[tuple[str, str]]) -> str:
    """``(("plug_a", "socket_0"), ("plug_b", "socket_1"))`` → ``"a0 b1"``."""
    return " ".join(f"{p[-1]}{s[-1]}" for p, s in order)


def parse_order(name: str) -> Order:
    """``"a0 b1"`` → ``(("plug_a", "socket_0"), ("plug_b", "socket_1"))``."""
    return tuple((f"plug_{t[0]}", f"socket_{t[1]}") for t in name.split())


def reach(plug: str, socket: str, layout: PlugStripLayout) -> float:
    """How far [m] socket's mouth lies past the table's centre line (world x = 0) towards the other arm, for the arm
    that grasps ``plug`` (the nearer one); negative on its own side."""
    x = float(socket_mouth(layout.strip_pose, layout.sockets.index(socket))[0])
    return x if grasp_side(layout.plug_poses[plug][:2]) == "left" else -x


def order_reach(order: Order, layout: PlugStripLayout) -> float:
    """The order's largest :func:`reach` [m]."""
    return max(reach(p, s, layout) for p, s in order)


def order_kind(order: Order, layout: PlugStripLayout) -> str:
    """``far`` (reach above ``FAR``), ``tight`` (socket_1), ``adjacent`` (next to the plug already in), or ``plain``."""
    tags = ["far"] if order_reach(order, layout) > FAR else []
    tags += ["tight"] if any(s == "socket_1" for _, s in order) else []
    if len(order) == 2 and abs(int(order[0][1][-1]) - int(order[1][1][-1])) == 1:
        tags.append("adjacent")
    return "+".join(tags) or "plain"


def run(seeds: int, split: str, start: int, out: Path) -> None:
    """Append every (seed, order) episode of ``split`` not yet in ``out``."""
    done = {(r["seed"], r["order"]) for r in read_rows(out, split)}
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in range(start, start + seeds):
        for order in all_orders(sample_layout(seed, split)):
            if (seed, order_name(order)) in done:
                continue
            result = run_episode(seed, order, split)
            row = {"split": split, "seed": seed, "order": order_name(order), "success": result.success,
                   "reason": result.reason, "subgoals": result.subgoals}  # fmt: skip
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"{split} seed {seed} {row['order']}: {'ok' if result.success else result.reason}", flush=True)


def read_rows(path: Path, split: str) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["split"] == split]


def complete_layouts(rows: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    """The rows of the seeds whose every order has run (a stopped run reports whole layouts only)."""
    ran: dict[int, set[str]] = collections.defaultdict(set)
    for r in rows:
        ran[r["seed"]].add(r["order"])
    whole = {s for s, names in ran.items() if names >= {order_name(o) for o in all_orders(sample_layout(s, split))}}
    return [r for r in rows if r["seed"] in whole]


def _table(title: str, groups: dict[str, list[bool]], markdown: bool) -> None:
    if markdown:
        print(f"\n| {title} | success | n | rate | 95% Wilson |\n|---|---|---|---|---|")
    for key in groups:
        ok = groups[key]
        lo, hi = wilson_interval(sum(ok), len(ok))
        k, n = sum(ok), len(ok)
        line = f"| {key} | {k} | {n} | {k / n:.2f} | [{lo:.2f}, {hi:.2f}] |" if markdown else (
            f"  {title:12s} {key:24s} {k:3d}/{n:<3d} {k / n:.2f} [{lo:.2f}, {hi:.2f}]")  # fmt: skip
        print(line)


def _reach_label(value: float) -> str:
    """The reach row of ``value`` [m]: ``"0: own side"``, ``"1: 0.00–0.06 m"``, …, numbered so they sort."""
    k = sum(value > e for e in REACH_BINS)
    if k == 0:
        return "0: own side"
    hi = f"{REACH_BINS[k]:.2f}" if k < len(REACH_BINS) else ""
    return f"{k}: {REACH_BINS[k - 1]:.2f}–{hi} m" if hi else f"{k}: > {REACH_BINS[k - 1]:.2f} m"


def report(split: str, rows: list[dict[str, Any]], markdown: bool) -> None:
    """Print the split's tables (module docstring) from its episode rows."""
    layouts = {seed: sample_layout(seed, split) for seed in {r["seed"] for r in rows}}
    by_reach: dict[str, list[bool]] = collections.defaultdict(list)
    by_kind: dict[str, list[bool]] = collections.defaultdict(list)
    by_order: dict[str, list[bool]] = collections.defaultdict(list)
    per_layout: dict[int, list[tuple[float, bool]]] = collections.defaultdict(list)
    reasons: collections.Counter[str] = collections.Counter()
    for r in sorted(rows, key=lambda r: (r["seed"], r["order"])):
        layout, order = layouts[r["seed"]], parse_order(r["order"])
        value = order_reach(order, layout)
        by_reach[_reach_label(value)].append(r["success"])
        by_kind[order_kind(order, layout)].append(r["success"])
        by_order[r["order"]].append(r["success"])
        per_layout[r["seed"]].append((value, r["success"]))
        if not r["success"]:
            reasons[r["reason"].split(" (")[0]] += 1
    total = [r["success"] for r in rows]
    lo, hi = wilson_interval(sum(total), len(total))
    print(f"\n{split}: {sum(total)}/{len(total)} = {sum(total) / max(1, len(total)):.2f} [{lo:.2f}, {hi:.2f}] "
          f"over {len(layouts)} layouts (seeds {min(layouts)}–{max(layouts)})")  # fmt: skip
    both = [v for v in per_layout.values() if min(x for x, _ in v) <= SAFE < FAR < max(x for x, _ in v)]
    picks = {
        f"safe orders (reach <= {SAFE} m), {len(both)} layouts with both": [
            ok for v in both for x, ok in v if x <= SAFE
        ],
        f"far orders (reach > {FAR} m), same layouts": [ok for v in both for x, ok in v if x > FAR],
        "any order succeeds (every layout)": [any(ok for _, ok in v) for v in per_layout.values()],
    }
    _table("per layout", picks, markdown)
    _table("reach", dict(sorted(by_reach.items())), markdown)
    _table("order kind", dict(sorted(by_kind.items())), markdown)
    _table("fixed order", dict(sorted(by_order.items())), markdown)
    print("  failures: " + ", ".join(f"{reason} {count}" for reason, count in reasons.most_common()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="layouts per split")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--splits", nargs="+", default=["seen", "unseen"])
    parser.add_argument("--out", type=Path, default=Path("runs/plug_strip_expert/episodes.jsonl"))
    parser.add_argument("--report-only", action="store_true", help="only print the tables from --out")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    for split in args.splits:
        if not args.report_only:
            run(args.seeds, split, args.start, args.out)
        rows = [r for r in read_rows(args.out, split) if args.start <= r["seed"] < args.start + args.seeds]
        report(split, complete_layouts(rows, split), args.markdown)


if __name__ == "__main__":
    main()
