"""How strongly do System 1's training labels, and a model trained on them, follow the prompted plug? (issue 16)

Reads a stream file (``bench/vine.py train-system1 --save-streams``) and, per model (``weights.pt`` of a
``train-system1`` export, or a training checkpoint), its flow estimate of the clean chunk,
``x̂_1 = x_τ + (1 − τ) v(x_τ, τ)`` with ``x_τ`` made from the label and fixed noise (a mean-head model: ``μ`` plus
that estimate of the residual, ``x_τ`` made from the label minus ``μ``), at the grasping arm's tool point in the
chunk's last row. No simulator, no sampling:
what the network fits, on the states it was trained on.

- **Across layouts at the home pose**: the first labelled tick of every DAgger grasp stream that starts at the
  arms' home joints (the same joints in every layout, so only the scene differs). Least-squares slope of the tool's
  x (y) on the prompted plug's x (y), per arm, of the labels and of each model's ``x̂_1`` at τ = 0.
- **Gain**: the prompted plug's observed position (and its offsets from the tools, ``aloha_tool_offsets``) moved
  by ``--shift`` [m] along x and y; the estimate's tool motion along the shift over the shift (p10 / p50 / p90), at
  the home pose and on ``--samples`` random labelled grasp ticks, at τ = 0 (the network's estimate of E[chunk | state])
  and τ = 0.5 (at τ → 1 the estimate is the label itself, which does not move with the plug).

- **Probe** (``--probe-steps N``): a 3 × 256 MLP fitted by plain squared error from the normalized state and the
  prompted plug to the chunk, on the file's DAgger grasp labels (and those of ``--dagger`` directories, e.g. with
  moved-object labels), scored on the same ticks: what a regressor without the flow loss's noise learns from the data.

A label slope well above a model's slope and gain says the model did not fit the plug dependence that is in its
data (``README``, VINE, eighth round).

Example:
    ./run python bench/vine_plug_slope.py .gpu/system1_streams.h5 runs/vine/models_gpu/system1/weights.pt
    ./run python bench/vine_plug_slope.py .gpu/system1_streams.h5 --probe-steps 2000 --dagger runs/vine/dart04_moved
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from failforward.learn.dataset import ChunkDataset
from failforward.learn.stream_file import load_streams
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.normalize import NormStats, action_reference
from failforward.policy.afil.weights import load_weights
from failforward.policy.expert.plug_strip import grasp_side
from failforward.sim.plug_strip_layout import OBJECTS

JOINTS, POSE = 14, 7  # raw state: 14 joints, then 7 numbers per object (OBJECTS order)
TOOL_COLUMNS = {"left": [0, 1, 2], "right": [10, 11, 12]}  # tool positions in an aloha_tool action row


class Ticks:
    """Labelled grasp ticks ``picks [N, 2]`` (stream, tick) of a dataset: model states, prompted plug, arm."""

    def __init__(self, data: ChunkDataset, picks: np.ndarray) -> None:
        self.data, self.picks = data, picks
        self.states = np.stack([data.states[i][t] for i, t in picks])
        self.plug = np.array([OBJECTS.index(data.episodes[i].prompt.split(" ")[1]) for i, _ in picks])
        at = JOINTS + POSE * self.plug
        self.plug_xy = self.states[np.arange(len(picks))[:, None], at[:, None] + np.arange(2)]
        self.side = [grasp_side(xy) for xy in self.plug_xy]
        self.columns = np.array([TOOL_COLUMNS[s] for s in self.side])

    def moved(self, axis: int, shift: float) -> np.ndarray:
        """Model states with the prompted plug moved by ``shift`` [m] along ``axis``: its position and its offsets
        from both tools (``aloha_tool_offsets`` after the raw state: 6 tool numbers, then 6 per object)."""
        out, raw = self.states.copy(), JOINTS + POSE * len(OBJECTS)
        rows = np.arange(len(out))
        for column in (JOINTS + POSE * self.plug, raw + 6 + 6 * self.plug, raw + 9 + 6 * self.plug):
            out[rows, column + axis] += shift
        return out

    def end_tool(self, actions: np.ndarray) -> np.ndarray:
        """Normalized chunks ``[N, H, A]`` → the grasping arm's tool point [m] in the last row ``[N, 3]`` (a relative
        model's displacement added to the measured tool: moving the plug leaves the reference as it is)."""
        c = self.data.config
        reference = action_reference(self.states, c.relative_actions, c.action_dim, c.action_space)
        last = self.data.norm.unnormalize_actions(actions[:, -1]) + reference
        return last[np.arange(len(last))[:, None], self.columns]


def load_model(path: Path) -> tuple[DualActionGenerator, NormStats]:
    """A model from an export's ``weights.pt`` or a training checkpoint (its averaged weights, as exports take)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" in state:
        return load_weights(path)
    model = DualActionGenerator(AfilModelConfig.model_validate(state["config"]["model"]))
    model.load_state_dict(state["ema"] if "ema" in state else state["model"])
    return model.eval(), NormStats.from_dict(state["norm"])


def estimate(model, ticks: Ticks, states: np.ndarray, tau: float, seed: int = 0) -> np.ndarray:
    """``x̂_1 [N, H, A]`` (normalized) of ``model`` from ``states`` (model space, unnormalized) at flow time ``tau``."""
    batch = ticks.data.collate(ticks.picks)
    x1 = torch.tensor(batch.actions)
    x0 = torch.randn(x1.shape, generator=torch.Generator().manual_seed(seed))
    prompt = {k: torch.tensor(v) for k, v in batch.prompt.items()}
    state = torch.tensor(ticks.data.norm.normalize_state(states), dtype=torch.float32)
    with torch.no_grad():
        prefix = model.encode(state, prompt)
        mean = model.chunk_mean(prefix)  # a mean-head model's experts estimate the residual around it
        target = x1 if mean is None else x1 - mean
        x_tau = (1 - tau) * x0 + tau * target
        v = model.experts(x_tau, torch.full((len(state),), tau), model.experts.cache(prefix, 1), 1)[0]
        residual = x_tau + (1 - tau) * v
    return (residual if mean is None else residual + mean).numpy()


def slopes(ticks: Ticks, tools: np.ndarray) -> str:
    """Per arm and axis, the least-squares slope of ``tools [N, 3]`` on the prompted plug's position."""
    out = []
    for side in ("left", "right"):
        mask = np.array([s == side for s in ticks.side])
        design = np.c_[ticks.plug_xy[mask], np.ones(mask.sum())]
        fit = np.linalg.lstsq(design, tools[mask, :2], rcond=None)[0]
        out.append(f"{side} (n={mask.sum()}) x {fit[0, 0]:.2f} y {fit[1, 1]:.2f}")
    return "; ".join(out)


def gain(predict: Callable[[np.ndarray], np.ndarray], ticks: Ticks, shift: float) -> str:
    """p10 / p50 / p90 over ``ticks`` of the end tool's motion along a plug shift over the shift; ``predict``: model
    states ``[N, S]`` → normalized chunks ``[N, H, A]``."""
    base = ticks.end_tool(predict(ticks.states))
    parts = []
    for axis in (0, 1):
        moved = ticks.end_tool(predict(ticks.moved(axis, shift)))
        p10, p50, p90 = np.percentile((moved - base)[:, axis] / shift, [10, 50, 90])
        parts.append(f"{'xy'[axis]} {p50:.2f} ({p10:.2f}–{p90:.2f})")
    return ", ".join(parts)


class Probe:
    """A 3 × 256 GELU MLP fitted by plain squared error (Adam, lr 1e-3, batches of 512) from the normalized model
    state and the prompted plug (one-hot) to the normalized chunk: the regression the flow policy should be able to do,
    without the flow loss's noise."""

    def __init__(self, data: ChunkDataset, steps: int, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.data, width = data, 256
        layers: list[torch.nn.Module] = []
        for size in (data.config.input_state_dim + len(OBJECTS), width, width):
            layers += [torch.nn.Linear(size, width), torch.nn.GELU()]
        self.net = torch.nn.Sequential(*layers, torch.nn.Linear(width, data.config.horizon * data.config.action_dim))
        index, rng = np.concatenate([data.success_index, data.failure_index]), np.random.default_rng(seed)
        optimizer = torch.optim.Adam(self.net.parameters(), 1e-3)
        for _ in range(steps):
            picks = index[rng.integers(0, len(index), 512)]
            batch = data.collate(picks)
            error = self._forward(batch.state, picks) - torch.tensor(batch.actions).reshape(len(picks), -1)
            optimizer.zero_grad()
            (error**2).mean().backward()
            optimizer.step()

    def _forward(self, normalized: np.ndarray, picks: np.ndarray) -> torch.Tensor:
        plug = [OBJECTS.index(self.data.episodes[i].prompt.split(" ")[1]) for i, _ in picks]
        return self.net(torch.tensor(np.c_[normalized, np.eye(len(OBJECTS))[plug]], dtype=torch.float32))

    def predictor(self, ticks: Ticks) -> Callable[[np.ndarray], np.ndarray]:
        """Model states of ``ticks`` (moved or not) → normalized chunks ``[N, H, A]``."""
        c = self.data.config

        def predict(states: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                out = self._forward(self.data.norm.normalize_state(states), ticks.picks).numpy()
            return out.reshape(len(states), c.horizon, c.action_dim)

        return predict


def grasp_ticks(data: ChunkDataset, samples: int, streams: int | None = None) -> tuple[Ticks, Ticks]:
    """``(home, anywhere)`` among the first ``streams`` streams (all: ``None``): the first tick of every stream that
    starts at the home joints, and ``samples`` random labelled ticks."""
    count = len(data.episodes) if streams is None else streams
    starts = np.stack([s[0, :JOINTS] for s in data.states[:count]])
    home = np.abs(starts - np.median(starts, axis=0)).max(axis=1) < 0.02
    rng = np.random.default_rng(0)
    anywhere = np.array([(i, rng.integers(0, data.episodes[i].length)) for i in rng.integers(0, count, samples)])
    return Ticks(data, np.array([(i, 0) for i in np.flatnonzero(home)])), Ticks(data, anywhere)


def report(name: str, at_home: Ticks, anywhere: Ticks, predictors: dict, shift: float) -> None:
    """Print the home slope and the gains of ``predictors``: label → ``Ticks`` → state-to-chunk function."""
    print(name)
    labels = at_home.end_tool(at_home.data.collate(at_home.picks).actions)
    print(f"  home pose, slope on the plug across layouts: labels {slopes(at_home, labels)}")
    for label, make in predictors.items():
        fitted = at_home.end_tool(make(at_home)(at_home.states))
        print(f"  home pose, slope on the plug across layouts: {label} {slopes(at_home, fitted)}")
        home, anywhere_gain = gain(make(at_home), at_home, shift), gain(make(anywhere), anywhere, shift)
        print(f"  gain {label}: home {home}; random grasp ticks {anywhere_gain}")


def flow_predictor(model: DualActionGenerator, tau: float) -> Callable[[Ticks], Callable[[np.ndarray], np.ndarray]]:
    """``Ticks`` → (model states → the flow model's clean-chunk estimate at flow time ``tau``)."""
    return lambda ticks: lambda states: estimate(model, ticks, states, tau)


def extra_streams(dirs: list[Path], config: AfilModelConfig) -> tuple[list, list]:
    """Grasp-prompt streams of ``bench/vine.py dagger`` directories in ``config``'s spaces, with their model states."""
    from failforward.learn.dataset import model_action_episodes, model_states
    from failforward.learn.vine.dagger import labelled_episodes

    rows = [json.loads(line) for d in dirs for line in (d / "episodes.jsonl").read_text().splitlines() if line.strip()]
    files = [Path(r["file"]) for r in rows if r.get("file")]  # as bench/vine.py dagger_streams reads its index
    episodes = model_action_episodes([e for e in labelled_episodes(files) if e.prompt.startswith("grasp ")], config)
    return episodes, model_states(episodes, config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("streams", type=Path, help="stream file the models were trained from")
    parser.add_argument("models", type=Path, nargs="*", help="weights.pt of exported models, or training checkpoints")
    parser.add_argument("--shift", type=float, default=0.02, help="plug shift [m]")
    parser.add_argument("--samples", type=int, default=400, help="random labelled grasp ticks")
    parser.add_argument("--probe-steps", type=int, default=0, help="also fit the regression probe this many steps")
    dagger_help = "the probe also fits the grasp labels of these bench/vine.py dagger directories"
    parser.add_argument("--dagger", type=Path, nargs="*", default=[], help=dagger_help)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config, episodes, states = load_streams(args.streams)
    grasps = {id(e): (e, s) for e, s in zip(episodes, states, strict=True)
              if e.chunk_actions is not None and e.prompt.split(" ")[0] == "grasp"}  # fmt: skip
    file_episodes, file_states = [e for e, _ in grasps.values()], [s for _, s in grasps.values()]
    for path in args.models:
        model, norm = load_model(path)
        data = ChunkDataset(file_episodes, model.config, norm, file_states)
        at_home, anywhere = grasp_ticks(data, args.samples)
        c = model.config
        shape = f"{c.state_norm} norm, state_in_rows {c.state_in_rows}, mean_head {c.mean_head}"
        predictors = {f"model τ={tau}": flow_predictor(model, tau) for tau in (0.0, 0.5)}
        report(f"{path} ({shape}, relative tool {bool(c.relative_actions)})", at_home, anywhere, predictors, args.shift)
    if args.probe_steps:
        extra, extra_states = extra_streams(args.dagger, config.model)
        norm = ChunkDataset.fit_norm(file_episodes + extra, config.model, file_states + extra_states)
        data = ChunkDataset(file_episodes + extra, config.model, norm, file_states + extra_states)
        probe = Probe(data, args.probe_steps)
        at_home, anywhere = grasp_ticks(data, args.samples, streams=len(file_episodes))  # the file's streams first
        ticks = len(data.success_index) + len(data.failure_index)
        name = f"probe ({args.probe_steps} steps, {len(file_episodes)} + {len(extra)} grasp streams, {ticks} ticks)"
        report(name, at_home, anywhere, {"probe": probe.predictor}, args.shift)


if __name__ == "__main__":
    main()
