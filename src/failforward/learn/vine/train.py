"""Train the decision and value models of System 2 with torch; save them for the numpy run time
(:mod:`failforward.planner.models`).

Value (VINE eq. 4): ``y_k = 1`` when the path succeeds and ``e_k = done``, ``0`` when it fails at ``k + 1``, else
``γ · V_θ'(x'_{k+1})`` with a target network ``θ'`` that follows ``θ`` by EMA; loss ``(V_θ(x'_k) − y_k)²``, ``V`` a
sigmoid. Decision: cross-entropy over the task's subgoals, masked to the edges possible at each node.

Example:
    >>> value = train_value(paths, features, ValueTrainConfig(), out="models/vine/value.npz")
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from pydantic import Field
from torch import nn

from failforward.config import FrozenModel
from failforward.learn.vine.paths import ThoughtPath, decision_examples, value_examples
from failforward.planner.features import PathFeatures
from failforward.planner.models import Mlp, MlpDecision, MlpValue, save_model


class ValueTrainConfig(FrozenModel):
    """Attributes: hidden width/layers of the MLP; steps, batch, lr (Adam); gamma γ; ema τ of the target network
    (``θ' ← (1 − τ) θ' + τ θ`` every step); seed."""

    hidden: int = Field(64, ge=1)
    layers: int = Field(2, ge=1)
    steps: int = Field(2000, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(1e-3, gt=0)
    gamma: float = Field(0.9, gt=0, le=1)
    ema: float = Field(0.01, gt=0, le=1)
    seed: int = 0


def _mlp(inputs: int, outputs: int, config: ValueTrainConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = inputs
    for _ in range(config.layers):
        layers += [nn.Linear(width, config.hidden), nn.ReLU()]
        width = config.hidden
    return nn.Sequential(*layers, nn.Linear(width, outputs))


def _standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=0), np.maximum(x.std(axis=0), 1e-3)


def _export(net: nn.Sequential, mean: np.ndarray, std: np.ndarray) -> Mlp:
    linears = [m for m in net if isinstance(m, nn.Linear)]
    weights = tuple((m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linears)
    return Mlp(weights, mean.astype(np.float32), std.astype(np.float32))


def train_value(
    paths: list[ThoughtPath], features: PathFeatures, config: ValueTrainConfig, out: Path | None = None
) -> MlpValue:
    """Fit ``V`` on ``paths`` (success and failure; pass successes only for a success-only value)."""
    torch.manual_seed(config.seed)
    data = value_examples(paths, features)
    mean, std = _standardize(data.x)
    x = torch.from_numpy((data.x - mean) / std)
    exit_target = torch.from_numpy(data.exit_target)
    next_index = torch.from_numpy(data.next_index)
    net = _mlp(x.shape[1], 1, config)
    target = copy.deepcopy(net).requires_grad_(False)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.steps):
        batch = torch.randint(len(x), (config.batch_size,), generator=generator)
        with torch.no_grad():
            bootstrap = config.gamma * torch.sigmoid(target(x[next_index[batch].clamp(min=0)]).squeeze(-1))
            y = torch.where(torch.isnan(exit_target[batch]), bootstrap, exit_target[batch])
        loss = ((torch.sigmoid(net(x[batch]).squeeze(-1)) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for p_target, p in zip(target.parameters(), net.parameters(), strict=True):
                p_target.lerp_(p, config.ema)
    model = MlpValue(features, _export(net, mean, std))
    if out is not None:
        save_model(out, "value", features, model.mlp, {"paths": len(paths), **config.model_dump()})
    return model


def train_decision(
    paths: list[ThoughtPath], features: PathFeatures, config: ValueTrainConfig, out: Path | None = None
) -> MlpDecision:
    """Fit the decision model's priors on ``paths`` (the imitation prior: pass the successful ones)."""
    torch.manual_seed(config.seed)
    xs, ys, masks = decision_examples(paths, features)
    mean, std = _standardize(xs)
    x, y, mask = torch.from_numpy((xs - mean) / std), torch.from_numpy(ys), torch.from_numpy(masks)
    net = _mlp(x.shape[1], masks.shape[1], config)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    for _ in range(config.steps):
        batch = torch.randint(len(x), (config.batch_size,), generator=generator)
        logits = net(x[batch]).masked_fill(~mask[batch], -1e9)
        loss = nn.functional.cross_entropy(logits, y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model = MlpDecision(features, _export(net, mean, std))
    if out is not None:
        save_model(out, "decision", features, model.mlp, {"paths": len(paths), **config.model_dump()})
    return model
