"""The learned System 1 on its own states (issue 16): how far its chunks are from the expert's labels there.

``bench/vine.py dagger`` saves, at every chunk boundary of a rollout, the learner's chunk and the prompted expert's
chunk planned from the same state (``learn.vine.dagger``). This prints, per label directory and subgoal kind, the
median over chunks of the mean absolute difference [rad] between the first ``--every`` rows of the two (what the loop
executes), beside the error of holding the measured joints for those rows (the scale of the motion asked for) and the
first row's error; and how often a gripper's target flips (open to closed or back) from one chunk to the next of the
same subgoal, the learner's against the expert's labels. With ``--beta 0`` the rollouts are the learner's alone: the
on-policy error that offline numbers on the expert's recordings (``bench/vine_system1_offline.py``) do not see. With
``--model`` the chunks are inferred again by that model on the labelled states (``--per-file`` of them per episode,
drawn with seed 0; flow noise seed 0): on labels it was trained on, how well it fits them.

Example:
    ./run python bench/vine.py dagger --beta 0 --episodes 10 --first-seed 100000 --dagger-dir runs/vine/onpolicy
    ./run python bench/vine_dagger_error.py runs/vine/onpolicy
    ./run python bench/vine_dagger_error.py runs/vine/dagger1 --model runs/vine/models_dagger/system1
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.policy.base import PolicyBackend
from failforward.sim.aloha_scene import GRIPPER_INDICES
from failforward.stats import rate_text
from failforward.types import Observation

KINDS = ("grasp", "insert", "done", "task")
MEASURES = ("learner", "hold", "first", "learner_flips", "label_flips")
GRIPPERS = list(GRIPPER_INDICES)  # the two grippers' columns of an ALOHA action row
FLIP = 0.5  # a change of a gripper target between consecutive chunks that counts as opening or closing


def kind_of(prompt: str) -> str:
    """The subgoal kind of a prompt (``task``: the task's own prompt, System 1 alone)."""
    word = prompt.split(" ", 1)[0]
    return word if word in KINDS[:3] else "task"


def errors(
    files: list[Path], every: int, model: PolicyBackend | None = None, per_file: int = 8
) -> dict[str, dict[str, list[float]]]:
    """Per subgoal kind: the learner's, holding's and first-row errors of every labelled chunk [rad] (``model``: of
    ``per_file`` states per file, with that model's chunks)."""
    out: dict[str, dict[str, list[float]]] = {k: {name: [] for name in MEASURES} for k in KINDS}
    rng = np.random.default_rng(0)
    for file in files:
        with np.load(file) as data:
            if model is None and "learner" not in data:
                continue
            label, joints, prompts = data["label"][:, :every], data["joints"][:, None], data["prompt"].tolist()
            picks = range(len(prompts))
            if model is None:
                learner = data["learner"][:, :every]
            else:
                picks = sorted(rng.choice(len(prompts), size=min(per_file, len(prompts)), replace=False))
                learner = np.zeros_like(label)
                for k in picks:
                    obs = Observation(float(data["time"][k]), data["joints"][k], np.zeros_like(data["joints"][k]),
                                      object_state=data["objects"][k])  # fmt: skip
                    learner[k] = model.infer(obs, prompt=prompts[k]).actions[:every]
            for k in picks:
                prompt = prompts[k]
                row = out[kind_of(prompt)]
                row["learner"].append(float(np.abs(label[k] - learner[k]).mean()))
                row["hold"].append(float(np.abs(label[k] - joints[k]).mean()))
                row["first"].append(float(np.abs(label[k, 0] - learner[k, 0]).mean()))
                if model is None and k > 0 and prompts[k - 1] == prompt:  # consecutive chunks of one subgoal
                    row["learner_flips"].append(gripper_flip(learner[k - 1], learner[k]))
                    row["label_flips"].append(gripper_flip(label[k - 1], label[k]))
    return out


def unguided_system1(model_dir: Path) -> PolicyBackend:
    """The System 1 model at ``model_dir`` as VINE runs it: onnxruntime, one thread, unguided, flow-noise seed 0."""
    from failforward.policy.afil.backends.registry import make_backend
    from failforward.policy.afil.config import BackendConfig, GuidanceConfig, GuidanceMode, SamplerConfig

    sampler = SamplerConfig(guidance=GuidanceConfig(mode=GuidanceMode.NONE))
    return make_backend(BackendConfig(model_dir=model_dir, threads=1, sampler=sampler, seed=0))


def gripper_flip(before: np.ndarray, after: np.ndarray) -> float:
    """1.0 when a gripper's target at the last executed row moved by more than ``FLIP`` between two consecutive
    chunks ``[rows, 14]`` (it went from open to closed or back), else 0.0."""
    return float(np.any(np.abs(after[-1, GRIPPERS] - before[-1, GRIPPERS]) > FLIP))


def table(dirs: list[Path], every: int, model: PolicyBackend | None = None, per_file: int = 8) -> str:
    lines = [
        "| labels | rollouts (success) | subgoal | chunks | learner error p50 [rad] (holding) | first row p50 [rad] "
        "| gripper flips per chunk: learner (expert) |",
        "| --- " * 7 + "|",
    ]
    for d in dirs:
        rows = [json.loads(line) for line in (d / "episodes.jsonl").read_text().splitlines() if line.strip()]
        files = [Path(r["file"]) for r in rows if r.get("file")]
        name = f"{d} (beta {rows[0]['beta'] if rows else '?'})"
        outcome = f"{len(rows)} ({sum(r['success'] for r in rows)})"
        for kind, e in errors(files, every, model, per_file).items():
            if e["learner"]:
                flips = "–" if not e["learner_flips"] else f"{rate(e['learner_flips'])} ({rate(e['label_flips'])})"
                lines.append(
                    f"| {name} | {outcome} | {kind} | {len(e['learner'])} | {np.median(e['learner']):.3f} "
                    f"({np.median(e['hold']):.3f}) | {np.median(e['first']):.3f} | {flips} |"
                )
    return "\n".join(lines)


def rate(flags: list[float]) -> str:
    """``k/n = p% [Wilson 95 %]`` of 0/1 ``flags``."""
    return rate_text(int(sum(flags)), len(flags))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", type=Path, nargs="+", help="label directories of bench/vine.py dagger")
    parser.add_argument("--every", type=int, default=25, help="chunk rows the loop executes (broker.execute_steps)")
    parser.add_argument("--model", type=Path, default=None, help="infer the chunks again with this System 1 model")
    parser.add_argument("--per-file", type=int, default=8, help="with --model: labelled states per episode")
    args = parser.parse_args()
    model = None
    if args.model is not None:
        model = unguided_system1(args.model)
        print(f"chunks inferred by {args.model}")
    print(table(args.dirs, args.every, model, args.per_file))


if __name__ == "__main__":
    main()
