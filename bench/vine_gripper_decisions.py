"""The learned System 1's gripper decisions against the expert's, on labelled states (issue 16).

At every chunk boundary ``bench/vine.py dagger`` keeps the learner's chunk and the prompted expert's label from the
same state. A gripper *decides closed* when its target at the last executed row (``--every``) is below 0.5
(normalized: 0 closed, 1 open). Per subgoal kind this prints how often the learner's one draw agrees with the
expert's decision, split by what the expert decided; with ``--model`` and ``--draws K``, the model is asked again
``K`` times per state (flow noise seeds 0…K−1) and the table adds the share of draws that decide closed where the
expert closes and where it opens, and how often the majority of the draws agrees. A learner whose draws split
near 50/50 where the expert is sure decides by its noise (a vote would help); one whose majority is wrong is biased
(the state does not tell it, or it learned the wrong thing).

Example:
    ./run python bench/vine.py dagger --beta 1 --expert-columns grippers --planner none --first-seed 100000 \\
        --episodes 15 --system1-model runs/vine/models_h25/system1 --dagger-dir runs/vine/ablate_expert_grippers_alone
    ./run python bench/vine_gripper_decisions.py runs/vine/ablate_expert_grippers_alone \\
        --model runs/vine/models_h25/system1 --draws 8
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.policy.base import PolicyBackend
from failforward.sim.aloha_scene import GRIPPER_INDICES
from failforward.stats import rate_text
from failforward.types import Observation

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bench vine_dagger_error
from vine_dagger_error import kind_of, unguided_system1

CLOSED = 0.5  # a gripper target below this (normalized) decides closed


def closed_at(chunks: np.ndarray, every: int) -> np.ndarray:
    """``[..., 2]`` booleans: each gripper's target at row ``every − 1`` of chunks ``[..., H, 14]`` decides closed."""
    return chunks[..., every - 1, list(GRIPPER_INDICES)] < CLOSED


def redraw(model: PolicyBackend, data: np.lib.npyio.NpzFile, k: int, draws: int, every: int) -> np.ndarray:
    """``[draws, 2]``: the model's closed decisions at labelled state ``k``, one per flow-noise seed."""
    joints = data["joints"][k]
    obs = Observation(float(data["time"][k]), joints, np.zeros_like(joints), object_state=data["objects"][k])
    prompt = str(data["prompt"][k])
    out = []
    for seed in range(draws):
        model.reset()
        model.seed_episode(seed)
        out.append(closed_at(np.asarray(model.infer(obs, prompt=prompt).actions), every))
    return np.array(out)


def decisions(files: list[Path], every: int, model: PolicyBackend | None, draws: int, per_file: int) -> dict:
    """Per subgoal kind: lists of (expert closed, learner closed, share of redrawn draws closed or NaN) per gripper."""
    out: dict[str, list[tuple[bool, bool, float]]] = {}
    rng = np.random.default_rng(0)
    for file in files:
        with np.load(file) as data:
            expert, learner = closed_at(data["label"], every), closed_at(data["learner"], every)
            picks = range(len(expert))
            if model is not None:
                picks = sorted(rng.choice(len(expert), size=min(per_file, len(expert)), replace=False))
            for k in picks:
                shares = redraw(model, data, k, draws, every).mean(axis=0) if model is not None else [np.nan] * 2
                rows = out.setdefault(kind_of(str(data["prompt"][k])), [])
                pairs = zip(expert[k], learner[k], shares, strict=True)
                rows.extend((bool(e), bool(le), float(s)) for e, le, s in pairs)
    return out


def table(dirs: list[Path], every: int, model: PolicyBackend | None, draws: int, per_file: int) -> str:
    lines = [
        "| labels | subgoal | expert decides | gripper-chunks | learner's draw agrees | draws deciding closed, mean "
        "| majority of draws agrees |",
        "| --- " * 7 + "|",
    ]
    for d in dirs:
        rows = [json.loads(line) for line in (d / "episodes.jsonl").read_text().splitlines() if line.strip()]
        files = [Path(r["file"]) for r in rows if r.get("file")]
        for kind, found in decisions(files, every, model, draws, per_file).items():
            for state in (True, False):
                sel = [(le, s) for e, le, s in found if e == state]
                if not sel:
                    continue
                agree = sum(le == state for le, _ in sel)
                shares = np.array([s for _, s in sel])
                mean = "–" if np.isnan(shares).all() else f"{shares.mean():.2f}"
                majority = "–" if np.isnan(shares).all() else rate_text(int(((shares > 0.5) == state).sum()), len(sel))
                lines.append(
                    f"| {d} | {kind} | {'closed' if state else 'open'} | {len(sel)} | {rate_text(agree, len(sel))} "
                    f"| {mean} | {majority} |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", type=Path, nargs="+", help="label directories of bench/vine.py dagger")
    parser.add_argument("--every", type=int, default=25, help="chunk rows the loop executes (broker.execute_steps)")
    parser.add_argument("--model", type=Path, default=None, help="ask this System 1 model again at labelled states")
    parser.add_argument("--draws", type=int, default=8, help="with --model: flow-noise draws per state")
    parser.add_argument("--per-file", type=int, default=12, help="with --model: labelled states per episode")
    args = parser.parse_args()
    model = None
    if args.model is not None:
        model = unguided_system1(args.model)
        print(f"decisions redrawn {args.draws}x by {args.model} on {args.per_file} states per episode")
    print(table(args.dirs, args.every, model, args.draws, args.per_file))


if __name__ == "__main__":
    main()
