"""System 2's models offline: does the value (and the decision prior) tell the steps that fail from those that pass?

Cross-validated by episode on the thought paths of ``bench/vine.py collect``'s recordings (``--folds`` folds: each
fold's models train on the other folds' paths and score this fold's). For every executed subgoal that is not ``done``,
the label is whether the path failed right after it (first exit) and the scores, computed on the step as the episode's
first plan sees it (the start's positions, relations predicted by the task graph: what the search evaluates), are:

- ``value``: ``1 − V(x'_k)`` of the failure-aware value (trained on every path), the search's leaf score;
- ``value_success_only``: the same for a value trained on the successful paths only (VINE-Tree's);
- ``prior``: ``1 − P̃(e_k | n_k)`` of the decision model, the probability it gave the executed edge among the possible
  ones (VINE-Chain follows the top prior); trained on the successful paths (``success``) or on every path, as VINE's
  LM objective over its whole dataset (``all``).

Each is reported as the AUROC of failure (0.5: blind; with a 95 % interval) over every step and over the *choices*: the
insertions made where two or more sockets were free, where a planner's pick matters (the rest mixes step kinds: a
scorer can rank insertions below grasps and score well without telling a risky socket from a safe one), and over the
choices in the layouts where the order decides (a safe and a far order both possible). Both for the
node features without and with the scene graph's pairwise relations (``PathFeatures.relations``). Rows go to
``--out`` (JSON) and, with ``--doc``, a markdown table.

Example:
    ./run python bench/vine_system2_offline.py --data runs/vine/data --doc docs/vine_system2_offline.md
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling benches (vine, plug_strip_expert)

from failforward.learn.vine.paths import ThoughtPath, predicted_nodes
from failforward.learn.vine.train import ValueTrainConfig, train_decision, train_value
from failforward.planner.features import PathFeatures
from failforward.planner.graph import SceneNode
from failforward.planner.models import MlpDecision
from failforward.planner.task_graph import InsertionGraph
from failforward.stats import auroc
from vine import decisive, recorded_paths


def load_paths(data: Path) -> list[tuple[int, bool, ThoughtPath]]:
    """``(seed, decisive layout, path)`` of every recorded episode with at least one step."""
    return [(int(r["seed"]), decisive(int(r["seed"]), r["split"]), path) for r, path in recorded_paths(data)]


def step_labels(
    paths: list[tuple[bool, ThoughtPath]], graph: InsertionGraph
) -> list[tuple[ThoughtPath, int, bool, bool, bool]]:
    """``(path, k, failed right after step k, a choice, a choice in a decisive layout)`` for every executed step that
    is not ``done``, from ``(decisive layout, path)`` pairs; a choice is an insertion with two or more possible
    sockets."""
    out = []
    for decisive_layout, path in paths:
        for k, step in enumerate(path.steps):
            if step.edge.kind != "done":
                choice = step.edge.kind == "insert" and len((path.graph or graph).edges(step.node)) >= 2
                failed = not path.success and k == len(path.steps) - 1
                out.append((path, k, failed, choice, choice and decisive_layout))
    return out


Scored = tuple[float, bool, bool, bool]
"""(failure score, failed, a choice, a choice in a decisive layout) of one step."""


def fold_scores(
    train: list[ThoughtPath], test: list[tuple[bool, ThoughtPath]], features: PathFeatures, config: ValueTrainConfig
) -> dict[str, list[Scored]]:
    """:data:`Scored` per scorer for the test steps (see the module docstring)."""
    succeeded = [p for p in train if p.success]
    value = train_value(train, features, config)
    value_success = train_value(succeeded, features, config)
    priors = {"success": train_decision(succeeded, features, config), "all": train_decision(train, features, config)}
    scores: dict[str, list[Scored]] = {}
    for path, k, failed, *where in step_labels(test, features.graph):
        graph = path.graph or features.graph
        predicted = predicted_nodes(path, graph, 0)  # as the episode's first plan sees the step
        if k >= len(predicted):
            continue
        step, history = path.steps[k], path.steps[: k + 1]
        node = graph.successor(predicted[k], step.edge)
        add = scores.setdefault
        add("value", []).append((1.0 - value(node, history), failed, *where))
        add("value_success_only", []).append((1.0 - value_success(node, history), failed, *where))
        for name, decision in priors.items():
            add(f"prior_{name}", []).append((1.0 - _prior(decision, path, k, predicted[k], graph), failed, *where))
    return scores


def _prior(decision: MlpDecision, path: ThoughtPath, k: int, node: SceneNode, graph: InsertionGraph) -> float:
    edges = graph.edges(node)
    return decision.propose(node, path.steps[:k], edges)[edges.index(path.steps[k].edge)]


def evaluate(
    paths: list[tuple[int, bool, ThoughtPath]], relations: bool, folds: int, config: ValueTrainConfig
) -> dict[str, Any]:
    from failforward.sim.plug_strip_layout import PLUGS, SOCKETS

    features = PathFeatures(InsertionGraph(PLUGS, SOCKETS), max_depth=6, relations=relations)
    fold_of = {seed: i % folds for i, seed in enumerate(sorted(seed for seed, _, _ in paths))}
    pooled: dict[str, list[Scored]] = {}
    for f in range(folds):
        train = [p for s, _, p in paths if fold_of[s] != f]
        test = [(d, p) for s, d, p in paths if fold_of[s] == f]
        for name, rows in fold_scores(train, test, features, config).items():
            pooled.setdefault(name, []).extend(rows)
    out: dict[str, Any] = {"relations": relations}
    for name, rows in pooled.items():
        out[name] = {
            "steps": _auroc(rows),
            "choices": _auroc([r for r in rows if r[2]]),
            "decisive": _auroc([r for r in rows if r[3]]),
        }
    return out


def _auroc(rows: list[Scored]) -> dict[str, Any]:
    failed, passed = [r[0] for r in rows if r[1]], [r[0] for r in rows if not r[1]]
    value, low, high = auroc(failed, passed)
    return {"auroc": value, "ci": [low, high], "failed": len(failed), "passed": len(passed)}


def render(results: list[dict[str, Any]], n_paths: int, folds: int) -> str:
    names = ("value", "value_success_only", "prior_success", "prior_all")
    first = results[0]["value"]
    lines = [
        f"{n_paths} thought paths, {folds}-fold cross-validation by episode; AUROC of failure right after a step "
        f"[95 % interval]; failed / passed: every step {first['steps']['failed']} / {first['steps']['passed']}, "
        f"choices {first['choices']['failed']} / {first['choices']['passed']}, choices in decisive layouts (a safe and "
        f"a far order both possible, `bench/vine.py decisive`) {first['decisive']['failed']} / "
        f"{first['decisive']['passed']}",
        "",
        "| features | steps | " + " | ".join(names) + " |",
        "| --- | --- |" + " --- |" * len(names),
    ]
    for r in results:
        for subset in ("steps", "choices", "decisive"):
            cells = [_cell(r[n][subset]) for n in names]
            features = "positions + relations" if r["relations"] else "positions"
            lines.append(f"| {features} | {SUBSETS[subset]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


SUBSETS = {"steps": "every step", "choices": "choices", "decisive": "choices, decisive layouts"}


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
