"""How close the learned System 1 brings the gripper to the grasp, and where it closes (issue 16).

The prompted expert closes a gripper only with its tool point within ``AT_GRASP_RADIUS`` (8 mm) of the plug's grasp
pose (:mod:`failforward.policy.expert.grasp`). On the labelled states of ``bench/vine.py dagger`` rollouts under
``grasp <plug>`` prompts this prints, per label directory: the grasping arm's tool-point distance to that grasp
(forward kinematics of the measured joints; the plug's observed pose; ``plug_grasp`` and ``grasp_side`` as the
expert computes them) at the closest state of each grasp subgoal, and at the states where the gripper was open and
the chunk that ran commands it closed (a close begins). A learner that never gets within the radius cannot grasp
however it times its gripper; one that gets there and closes elsewhere times it wrong.

Example:
    ./run python bench/vine_grasp_precision.py runs/vine/onpolicy3 runs/vine/onpolicy_h25_tools
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from mink import SE3, SO3

from failforward.policy.afil.state_features import ALOHA_ARM_COLUMNS, aloha_tool_points
from failforward.policy.expert.grasp import AT_GRASP_RADIUS
from failforward.policy.expert.plug_strip import grasp_side, plug_grasp
from failforward.sim.aloha_scene import GRIPPER_INDICES
from failforward.sim.plug_strip_layout import OBJECTS
from failforward.stats import rate_text

SIDES = ("left", "right")
OPEN = 0.5  # a measured opening (normalized) above this is open; a commanded target below it closes


def grasp_distances(file: Path, every: int) -> tuple[list[float], list[float]]:
    """``(closest per grasp subgoal, at each close that begins)`` tool-to-grasp distances [m] in one episode."""
    with np.load(file) as data:
        prompts, joints, objects = data["prompt"].tolist(), data["joints"], data["objects"]
        ran = np.where(data["expert_ran"][:, None, None], data["label"], data["learner"])
    tools = aloha_tool_points(joints[:, list(ALOHA_ARM_COLUMNS)])  # [T, 6]
    closest: dict[str, float] = {}
    closes = []
    for k, prompt in enumerate(prompts):
        verb, _, plug = prompt.partition(" ")
        if verb != "grasp" or plug not in OBJECTS:
            continue
        pose = objects[k, 7 * OBJECTS.index(plug) : 7 * OBJECTS.index(plug) + 7]
        side = grasp_side(pose[:2])
        grasp = plug_grasp(SE3.from_rotation_and_translation(SO3(pose[3:]), pose[:3]), side)
        tool = tools[k, :3] if side == "left" else tools[k, 3:]
        distance = float(np.linalg.norm(tool - grasp.translation()))
        closest[prompt] = min(closest.get(prompt, np.inf), distance)
        column = GRIPPER_INDICES[SIDES.index(side)]
        if joints[k, column] > OPEN and ran[k, every - 1, column] < OPEN:
            closes.append(distance)
    return list(closest.values()), closes


def summary(values: list[float]) -> str:
    """``n, p10 / p50 / p90 [mm], within the radius k/n``."""
    if not values:
        return "– | – | –"
    mm = np.percentile(np.array(values) * 1000, [10, 50, 90])
    within = rate_text(int(sum(v < AT_GRASP_RADIUS for v in values)), len(values))
    return f"{len(values)} | {mm[0]:.0f} / {mm[1]:.0f} / {mm[2]:.0f} | {within}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", type=Path, nargs="+", help="label directories of bench/vine.py dagger")
    parser.add_argument("--every", type=int, default=25, help="chunk rows the loop executes (broker.execute_steps)")
    args = parser.parse_args()
    radius = f"{AT_GRASP_RADIUS * 1000:.0f} mm"
    print(
        f"| labels | grasp subgoals | closest tool-to-grasp p10 / p50 / p90 [mm] | within {radius} | closes begun "
        f"| distance at a close p10 / p50 / p90 [mm] | within {radius} |\n" + "| --- " * 7 + "|"
    )
    for d in args.dirs:
        rows = [json.loads(line) for line in (d / "episodes.jsonl").read_text().splitlines() if line.strip()]
        closest, closes = [], []
        for file in (Path(r["file"]) for r in rows if r.get("file")):
            c, s = grasp_distances(file, args.every)
            closest += c
            closes += s
        print(f"| {d} | {summary(closest)} | {summary(closes)} |")


if __name__ == "__main__":
    main()
