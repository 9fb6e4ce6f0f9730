"""Does the learned System 1 follow the plug? Its chunk's end under a moved plug (issue 16).

On labelled states of ``bench/vine.py dagger`` rollouts under ``grasp <plug>`` prompts, the target plug's observed
position is moved by ``--shift`` [m] along world x and along world y, and the model is asked again with the same
flow noise. The gain is how far the grasping arm's tool point at the executed chunk's last row (forward kinematics
of the chunk's arm joints) moves along the shift, divided by the shift: 1 when the arm follows the plug, 0 when the
chunk ignores where the plug is. Printed per model: the gain's p10 / p50 / p90 over states and axes, and the mean
tool motion across the shift.

Example:
    ./run python bench/vine_plug_sensitivity.py runs/vine/onpolicy_h25_tools --model runs/vine/models_h25_tools/system1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.policy.afil.state_features import ALOHA_ARM_COLUMNS, aloha_tool_points
from failforward.policy.expert.plug_strip import grasp_side
from failforward.sim.plug_strip_layout import OBJECTS
from failforward.types import Observation

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench vine_dagger_error
from vine_dagger_error import unguided_system1


def grasp_states(dirs: list[Path], per_file: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """``(joints [14], objects [21], prompt)`` of up to ``per_file`` grasp-prompt states per episode (seed 0)."""
    rng, out = np.random.default_rng(0), []
    for d in dirs:
        rows = [json.loads(line) for line in (d / "episodes.jsonl").read_text().splitlines() if line.strip()]
        for file in (Path(r["file"]) for r in rows if r.get("file")):
            with np.load(file) as data:
                picks = [k for k, p in enumerate(data["prompt"].tolist()) if p.split(" ")[0] == "grasp"]
                for k in rng.permutation(picks)[:per_file]:
                    out.append((data["joints"][k], data["objects"][k], str(data["prompt"][k])))
    return out


def end_tool(model, joints: np.ndarray, objects: np.ndarray, prompt: str, side: str, every: int) -> np.ndarray:
    """The ``side`` tool point [m] at row ``every − 1`` of the model's chunk (flow-noise seed 0)."""
    model.reset()
    model.seed_episode(0)
    obs = Observation(0.0, joints, np.zeros_like(joints), object_state=objects)
    row = np.asarray(model.infer(obs, prompt=prompt).actions)[every - 1]
    tools = aloha_tool_points(row[list(ALOHA_ARM_COLUMNS)][None])[0]
    return tools[:3] if side == "left" else tools[3:]


def gains(model, states, shift: float, every: int) -> list[float]:
    """Per state and axis (x, y): the tool's motion along a plug shift of ``shift`` [m], over ``shift``."""
    out = []
    for joints, objects, prompt in states:
        plug = prompt.split(" ", 1)[1]
        at = 7 * OBJECTS.index(plug)
        side = grasp_side(objects[at : at + 2])
        base = end_tool(model, joints, objects, prompt, side, every)
        for axis in (0, 1):
            moved = objects.copy()
            moved[at + axis] += shift
            out.append(float((end_tool(model, joints, moved, prompt, side, every) - base)[axis] / shift))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", type=Path, nargs="+", help="label directories of bench/vine.py dagger")
    parser.add_argument("--model", type=Path, nargs="+", required=True, help="System 1 model directories")
    parser.add_argument("--shift", type=float, default=0.02, help="plug displacement [m]")
    parser.add_argument("--per-file", type=int, default=4, help="grasp states per episode")
    parser.add_argument("--every", type=int, default=25, help="chunk rows the loop executes (broker.execute_steps)")
    args = parser.parse_args()
    states = grasp_states(args.dirs, args.per_file)
    print(f"{len(states)} grasp states from {', '.join(map(str, args.dirs))}; plug moved {args.shift * 1000:.0f} mm")
    print("| model | gain p10 / p50 / p90 (1: follows the plug, 0: ignores it) |\n| --- | --- |")
    for path in args.model:
        g = np.percentile(gains(unguided_system1(path), states, args.shift, args.every), [10, 50, 90])
        print(f"| {path} | {g[0]:.2f} / {g[1]:.2f} / {g[2]:.2f} |")


if __name__ == "__main__":
    main()
