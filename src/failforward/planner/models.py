"""The learned parts of System 2, run with numpy (no torch on the robot): a decision model giving priors over the
task's subgoals, and a value model ``V(n_k, z_{0:k-1}) ∈ [0, 1]`` (VINE §4.2). Trained by
:mod:`failforward.learn.vine`; saved as one ``.npz`` each (weights + feature normalization + the task schema).

Both are small MLPs on :class:`~failforward.planner.features.PathFeatures` vectors: ReLU hidden layers, then
logits ``[|V|]`` (decision; masked to the node's possible edges, softmax) or one logit (value; sigmoid).

Example:
    >>> value = MlpValue.load("models/vine_plug_strip/value.npz")
    >>> value(node, history)        # probability that the path from here succeeds
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from failforward.planner.errors import PlannerError
from failforward.planner.features import PathFeatures
from failforward.planner.graph import SceneNode, Step, Subgoal
from failforward.planner.task_graph import InsertionGraph


class DecisionModel(Protocol):
    """Scores the edges possible from a node: ``[(edge, prior)]``, priors ≥ 0, any scale."""

    def propose(self, node: SceneNode, history: Sequence[Step], edges: Sequence[Subgoal]) -> list[float]: ...


class ValueModel(Protocol):
    """``V(n_k, z_{0:k-1})``: the probability that the path through ``node`` ends in success, in [0, 1]."""

    def __call__(self, node: SceneNode, history: Sequence[Step]) -> float: ...


@dataclass(frozen=True)
class Mlp:
    """``x [D] → y [O]``: standardize, then ReLU layers; weights ``[(W [in, out], b [out])]``."""

    weights: tuple[tuple[np.ndarray, np.ndarray], ...]
    mean: np.ndarray
    std: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = (x - self.mean) / self.std
        for i, (w, b) in enumerate(self.weights):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        return h

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"mean": self.mean, "std": self.std}
        for i, (w, b) in enumerate(self.weights):
            out[f"w{i}"], out[f"b{i}"] = w, b
        return out

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> Mlp:
        n = sum(1 for k in data if k.startswith("w"))
        layers = tuple((np.asarray(data[f"w{i}"]), np.asarray(data[f"b{i}"])) for i in range(n))
        return cls(layers, np.asarray(data["mean"]), np.asarray(data["std"]))


def save_model(path: Path, kind: str, features: PathFeatures, mlp: Mlp, info: dict | None = None) -> None:
    """Write ``mlp`` with the schema it reads (``kind``: ``decision`` | ``value``) to ``path`` (``.npz``)."""
    schema = {
        "kind": kind,
        "plugs": list(features.graph.plugs),
        "sockets": list(features.graph.sockets),
        "arms": list(features.arms),
        "max_depth": features.max_depth,
        "relations": features.relations,
        "info": info or {},
    }
    arrays: dict[str, Any] = {"schema": np.array(json.dumps(schema)), **mlp.arrays()}
    np.savez(path, **arrays)


def load_model(path: Path, kind: str) -> tuple[PathFeatures, Mlp, dict]:
    """The features, MLP and ``info`` saved at ``path``; a file of another kind raises :class:`PlannerError`."""
    with np.load(path) as data:
        schema = json.loads(str(data["schema"]))
        arrays = {k: data[k] for k in data.files if k != "schema"}
    if schema["kind"] != kind:
        raise PlannerError(f"{path} holds a {schema['kind']} model, not a {kind} model: pass the {kind} file.")
    graph = InsertionGraph(tuple(schema["plugs"]), tuple(schema["sockets"]))
    features = PathFeatures(graph, tuple(schema["arms"]), int(schema["max_depth"]), bool(schema.get("relations")))
    return features, Mlp.from_arrays(arrays), schema["info"]


@dataclass(frozen=True)
class MlpDecision:
    """A :class:`DecisionModel`: softmax of the MLP's logits over the possible edges."""

    features: PathFeatures
    mlp: Mlp

    @classmethod
    def load(cls, path: str | Path) -> MlpDecision:
        features, mlp, _ = load_model(Path(path), "decision")
        return cls(features, mlp)

    def propose(self, node: SceneNode, history: Sequence[Step], edges: Sequence[Subgoal]) -> list[float]:
        logits = self.mlp(self.features.encode(node, history))
        index = {e: i for i, e in enumerate(self.features.graph.vocabulary())}
        chosen = np.array([logits[index[self.features.graph.check(e)]] for e in edges], dtype=np.float64)
        if chosen.size == 0:
            return []
        p = np.exp(chosen - chosen.max())
        return list(p / p.sum())


@dataclass(frozen=True)
class MlpValue:
    """A :class:`ValueModel`: sigmoid of the MLP's one output."""

    features: PathFeatures
    mlp: Mlp

    @classmethod
    def load(cls, path: str | Path) -> MlpValue:
        features, mlp, _ = load_model(Path(path), "value")
        return cls(features, mlp)

    def __call__(self, node: SceneNode, history: Sequence[Step]) -> float:
        logit = float(self.mlp(self.features.encode(node, history))[0])
        return float(1.0 / (1.0 + np.exp(-np.clip(logit, -60.0, 60.0))))


class UniformDecision:
    """Every possible edge equally likely (the random-order baseline's proposer)."""

    def propose(self, node: SceneNode, history: Sequence[Step], edges: Sequence[Subgoal]) -> list[float]:
        return [1.0] * len(edges)
