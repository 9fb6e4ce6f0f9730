"""System 2's models offline: does the value (and the decision prior) tell the steps that fail from those that pass?

Cross-validated by episode on the thought paths of ``bench/vine.py collect``'s recordings (``--folds`` folds: each
fold's models train on the other folds' paths and score this fold's). For every executed subgoal that is not ``done``,
the label is whether the path failed right after it (first exit) and the scores are:

- ``value``: ``1 − V(x'_k)`` of the failure-aware value (trained on every path), the search's leaf score;
- ``value_success_only``: the same for a value trained on the successful paths only (VINE-Tree's);
- ``prior``: ``1 − P̃(e_k | n_k)`` of the decision model, the probability it gave the executed edge among the possible
  ones (VINE-Chain follows the top prior); trained on the successful paths (``success``) or on every path, as VINE's
  LM objective over its whole dataset (``all``).

Each is reported as the AUROC of failure (0.5: blind; with a 95 % interval) over every step and over the *choices*: the
insertions made where two or more sockets were free, where a planner's pick matters (the rest mixes step kinds: a
scorer can rank insertions below grasps and score well without telling a risky socket from a safe one). Both for the
node features without and with the scene graph's pairwise relations (``PathFeatures.relations``). Rows go to
``--out`` (JSON) and, with ``--doc``, a markdown table.

Example:
    ./run python bench/vine_system2_offline.py --data runs/vine/data --doc docs/vine_system2_offline.md
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from failforward.learn.vine.paths import ThoughtPath
from failforward.learn.vine.train import ValueTrainConfig, train_decision, train_value
from failforward.planner.features import PathFeatures
from failforward.planner.models import MlpDecision
from failforward.planner.task_graph import InsertionGraph
from failforward.stats import auroc


def load_paths(data: Path) -> list[tuple[int, ThoughtPath]]:
    """``(seed, path)`` of every recorded episode with at least one step."""
    from failforward.kinematics.aloha_ik import AlohaIK
    from failforward.learn.vine.recorded import recorded_path
    from failforward.record.reader import read_episode
    from failforward.sim.tasks import get_task

    ik = AlohaIK(get_task("plug_strip").xml_path)
    rows = [json.loads(line) for line in (data / "episodes.jsonl").read_text().splitlines() if line.strip()]
    out = []
    for r in rows:
        if r.get("file"):
            path = recorded_path(read_episode(r["file"], load_images=False), r["split"], ik)
            if path.steps:
                out.append((int(r["seed"]), path))
    return out


def step_labels(paths: list[ThoughtPath], graph: InsertionGraph) -> list[tuple[ThoughtPath, int, bool, bool]]:
    """``(path, k, failed right after step k, a choice)`` for every executed step that is not ``done``; a choice is an
    insertion with two or more possible sockets."""
    out = []
    for path in paths:
        for k, step in enumerate(path.steps):
            if step.edge.kind != "done":
                choice = step.edge.kind == "insert" and len((path.graph or graph).edges(step.node)) >= 2
                out.append((path, k, not path.success and k == len(path.steps) - 1, choice))
    return out


Scored = tuple[float, bool, bool]
"""(failure score, failed, a choice) of one step."""


def fold_scores(
    train: list[ThoughtPath], test: list[ThoughtPath], features: PathFeatures, config: ValueTrainConfig
) -> dict[str, list[Scored]]:
    """:data:`Scored` per scorer for the test steps (see the module docstring)."""
    succeeded = [p for p in train if p.success]
    value = train_value(train, features, config)
    value_success = train_value(succeeded, features, config)
    priors = {"success": train_decision(succeeded, features, config), "all": train_decision(train, features, config)}
    scores: dict[str, list[Scored]] = {}
    for path, k, failed, choice in step_labels(test, features.graph):
        graph = path.graph or features.graph
        step, history = path.steps[k], path.steps[: k + 1]
        node = graph.successor(step.node, step.edge)
        add = scores.setdefault
        add("value", []).append((1.0 - value(node, history), failed, choice))
        add("value_success_only", []).append((1.0 - value_success(node, history), failed, choice))
        for name, decision in priors.items():
            add(f"prior_{name}", []).append((1.0 - _prior(decision, path, k, graph), failed, choice))
    return scores


def _prior(decision: MlpDecision, path: ThoughtPath, k: int, graph: InsertionGraph) -> float:
    step = path.steps[k]
    edges = graph.edges(step.node)
    return decision.propose(step.node, path.steps[:k], edges)[edges.index(step.edge)]


def evaluate(
    paths: list[tuple[int, ThoughtPath]], relations: bool, folds: int, config: ValueTrainConfig
) -> dict[str, Any]:
    from failforward.sim.plug_strip_layout import PLUGS, SOCKETS

    features = PathFeatures(InsertionGraph(PLUGS, SOCKETS), max_depth=6, relations=relations)
    fold_of = {seed: i % folds for i, seed in enumerate(sorted(seed for seed, _ in paths))}
    pooled: dict[str, list[Scored]] = {}
    for f in range(folds):
        train = [p for s, p in paths if fold_of[s] != f]
        test = [p for s, p in paths if fold_of[s] == f]
        for name, rows in fold_scores(train, test, features, config).items():
            pooled.setdefault(name, []).extend(rows)
    out: dict[str, Any] = {"relations": relations}
    for name, rows in pooled.items():
        out[name] = {"steps": _auroc(rows), "choices": _auroc([r for r in rows if r[2]])}
    return out


def _auroc(rows: list[Scored]) -> dict[str, Any]:
    failed, passed = [s for s, y, _ in rows if y], [s for s, y, _ in rows if not y]
    value, low, high = auroc(failed, passed)
    return {"auroc": value, "ci": [low, high], "failed": len(failed), "passed": len(passed)}


def render(results: list[dict[str, Any]], n_paths: int, folds: int) -> str:
    names = ("value", "value_success_only", "prior_success", "prior_all")
    first = results[0]["value"]
    lines = [
        f"{n_paths} thought paths, {folds}-fold cross-validation by episode; AUROC of failure right after a step "
        f"[95 % interval]; failed / passed: every step {first['steps']['failed']} / {first['steps']['passed']}, "
        f"choices {first['choices']['failed']} / {first['choices']['passed']}",
        "",
        "| features | steps | " + " | ".join(names) + " |",
        "| --- | --- |" + " --- |" * len(names),
    ]
    for r in results:
        for subset in ("steps", "choices"):
            cells = [_cell(r[n][subset]) for n in names]
            features = "positions + relations" if r["relations"] else "positions"
            lines.append(
                f"| {features} | {'every step' if subset == 'steps' else 'choices'} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines) + "\n"


def _cell(a: dict[str, Any]) -> str:
    return f"{a['auroc']:.2f} [{a['ci'][0]:.2f}–{a['ci'][1]:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("runs/vine/data"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3000, help="training steps per model (bench/vine.py train's)")
    parser.add_argument("--out", type=Path, default=Path("docs/vine_system2_offline.json"))
    parser.add_argument("--doc", type=Path)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    paths = load_paths(args.data)
    config = ValueTrainConfig(steps=args.steps)
    results = [evaluate(paths, relations, args.folds, config) for relations in (False, True)]
    args.out.write_text(json.dumps({"paths": len(paths), "folds": args.folds, "results": results}, indent=1) + "\n")
    text = render(results, len(paths), args.folds)
    print(text)
    if args.doc:
        args.doc.write_text("# System 2 offline (`bench/vine_system2_offline.py`)\n\n" + text)


if __name__ == "__main__":
    main()
