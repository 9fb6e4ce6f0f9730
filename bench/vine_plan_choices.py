"""Which first plan each planner row makes on the evaluated layouts, and how far its insertions reach.

For every ``(row, split, seed)`` of a ``bench/vine.py eval`` results file (``--out``), the layout is reset in the
simulator, the start node built as the runtime builds it, and the row's planner (the same models) plans once. Its plan's
reach (``bench/plug_strip_expert.py``: how far past the centre line an insertion goes for the arm that makes it) is
compared with the safest order the layout allows, and with how the episode went (success with the plan held: no
replanning after a plug was let go outside a socket or a diagnosis). Printed per split and row:

- far plans: a plan with an insertion past ``FAR`` (0.13 m), and among them those made while a safe order (every
  insertion within ``SAFE``, 0.10 m) existed: the choices a failure-aware planner should avoid;
- the plan held in far and in near plans.

Example:
    ./run python bench/vine_plan_choices.py --out docs/vine_results_fixed_failures.jsonl
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benches (vine, plug_strip_expert)
os.environ.setdefault("MUJOCO_GL", "egl")

from failforward.config import load_config
from failforward.kinematics.aloha_ik import AlohaIK
from failforward.planner.plug_strip import PlugStripPlanning
from failforward.planner.registry import make_planner
from failforward.robots.registry import make_driver
from failforward.sim.plug_strip_layout import sample_layout
from failforward.sim.plug_strip_subgoals import all_orders
from failforward.sim.tasks import get_task
from failforward.stats import rate_text
from plug_strip_expert import FAR, SAFE, order_reach, reach
from vine import MODELS, episode_config, plan_held, read_rows, row_planner


def first_plans(rows: list[dict], models: Path) -> list[dict]:
    """Per result row: its first plan's reach [m], the layout's safest order's reach [m], and whether the plan held."""
    ik = AlohaIK(get_task("plug_strip").xml_path)
    out = []
    for split in sorted({r["split"] for r in rows}):
        robot = {"kind": "sim_aloha", "task": "plug_strip", "split": split, "cameras": [], "object_state": True}
        with make_driver(load_config({"robot": robot}).robot) as driver:
            for r in (r for r in rows if r["split"] == split):
                layout = sample_layout(r["seed"], split)
                task = PlugStripPlanning(lambda _, layout=layout: layout, ik)
                task.reset(r["seed"])
                node = task.node(driver.reset(seed=r["seed"]))
                config = episode_config(split, r["seed"], row_planner(r["row"], 0, models), None).planner
                if config is None:  # System 1 alone: no plan
                    continue
                plan = make_planner(config, task.graph()).plan(node)
                inserts = [e.args for e in plan.subgoals if e.kind == "insert"]
                out.append({
                    **{k: r[k] for k in ("row", "split", "seed")},
                    "reach": max(reach(p, s, layout) for p, s in inserts),
                    "safest": min(order_reach(order, layout) for order in all_orders(layout)),
                    "held": plan_held(r),
                })  # fmt: skip
    return out


def table(plans: list[dict]) -> str:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for p in plans:
        groups[(p["split"], p["row"])].append(p)
    lines = [
        f"| split | row | far plans (> {FAR} m) | far while a safe order (≤ {SAFE} m) existed | far plans: held | "
        "near plans: held |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for (split, row), group in sorted(groups.items()):
        far = [p for p in group if p["reach"] > FAR]
        avoidable = [p for p in far if p["safest"] <= SAFE]
        near = [p for p in group if p["reach"] <= FAR]
        lines.append(
            f"| {split} | {row} | {len(far)}/{len(group)} | {len(avoidable)}/{len(group)} | "
            f"{rate_text(sum(p['held'] for p in far), len(far)) if far else '–'} | "
            f"{rate_text(sum(p['held'] for p in near), len(near)) if near else '–'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="a bench/vine.py eval results file (jsonl)")
    parser.add_argument("--models", type=Path, default=MODELS)
    args = parser.parse_args()
    print(table(first_plans(read_rows(args.out), args.models)))


if __name__ == "__main__":
    main()
