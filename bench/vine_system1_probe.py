"""What can a System 1 learn from the plug-strip data? Small regressors as a probe of the data (issue 16).

The learned System 1 ignores where the plug is (``bench/vine_plug_sensitivity.py``: gain 0.00–0.01). This probe asks
whether the data and the action representation allow anything else, with a model far simpler than the flow policy:
a 3-layer MLP fitted by least squares to one number per sample, the grasping arm's motion at the executed chunk's
last row (row ``--row``, 24 with ``broker.execute_steps: 25``), from the state under a ``grasp <plug>`` prompt.

Samples (grasp subgoals only; the last 20 % of episodes of each source held out):

- **recorded**: the scripted expert's episodes (``bench/vine.py collect``): ``actions[t + row]`` at every tick ``t`` of
  every successful grasp segment. The expert plans a subgoal once and follows that plan open loop.
- **DART**: the prompted expert's labels from perturbed states (``bench/vine.py dagger --beta 1 --execution-noise``):
  the label's row ``row``, planned from that very state.

Per fit (row of the table): the action space (**joint**: the 12 arm joints' offsets from the measured ones, what
System 1 predicts; **tool**: the grasping tool point's displacement [m] by forward kinematics), the inputs (the raw
state + derived features (``aloha_tool_offsets``, ``aloha_joint_offsets``: ``policy.afil.state_features``) + the
prompt's plug, or the joints + plug without the objects), and the DART share of each batch.
Per held-out set: the tool point's error at row ``row`` [mm, p50] and the **plug gain** (the plug moved 20 mm along x
and along y; the tool's motion along the shift over the shift, p50: 1 follows the plug, 0 ignores it).

Example:
    ./run python bench/vine_system1_probe.py --dart runs/vine/dart04 --out docs/vine_system1_probe.md
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from failforward.learn.vine.dagger import labelled_episodes
from failforward.learn.vine.system1 import system1_episodes
from failforward.policy.afil.state_features import ALOHA_ARM_COLUMNS, StateFeature, aloha_tool_points, model_state
from failforward.policy.expert.plug_strip import grasp_side
from failforward.sim.plug_strip_layout import OBJECTS

ARMS = list(ALOHA_ARM_COLUMNS)
SHIFT = 0.02  # [m] plug displacement of the gain
HELD_OUT = 0.2  # share of each source's episodes (the last ones) held out
Features = tuple[StateFeature, ...] | None  # derived state features of the input; None: no objects at all


@dataclass
class Samples:
    """``N`` grasp-prompt samples: joints ``[N, 14]``, objects ``[N, 21]``, the target row's joints ``[N, 14]``, the
    prompted plug's index in :data:`OBJECTS` ``[N]``, the episode ``[N]``."""

    joints: np.ndarray
    objects: np.ndarray
    target: np.ndarray
    plug: np.ndarray
    episode: np.ndarray

    def take(self, pick: np.ndarray) -> Samples:
        return Samples(*(a[pick] for a in (self.joints, self.objects, self.target, self.plug, self.episode)))

    def split(self) -> tuple[Samples, Samples]:
        cut = np.quantile(self.episode, 1.0 - HELD_OUT)
        return self.take(self.episode < cut), self.take(self.episode >= cut)

    @property
    def side(self) -> np.ndarray:
        """``[N]`` True where the left arm grasps (the nearer waist)."""
        at = 7 * self.plug
        return np.array([grasp_side(self.objects[k, at[k] : at[k] + 2]) == "left" for k in range(len(self.plug))])


def _stack(rows: list[tuple], episodes: list[int]) -> Samples:
    joints, objects, target, plug = (np.array(c) for c in zip(*rows, strict=True))
    return Samples(joints, objects, target, plug, np.array(episodes))


def recorded_samples(data: Path, row: int) -> Samples:
    """Every tick of every successful grasp segment of the recordings indexed in ``data``/episodes.jsonl."""
    index = [json.loads(line) for line in (data / "episodes.jsonl").read_text().splitlines() if line.strip()]
    rows, episodes = [], []
    for number, entry in enumerate(r for r in index if r.get("file")):
        for segment in system1_episodes([entry["file"]], task_episodes=False):
            if not segment.success or segment.prompt.split(" ")[0] != "grasp":
                continue
            plug = OBJECTS.index(segment.prompt.split(" ")[1])
            for t in range(segment.length - row):
                rows.append((segment.joint_positions[t], segment.object_state[t], segment.actions[t + row], plug))
                episodes.append(number)
    return _stack(rows, episodes)


def dart_samples(dirs: list[Path], row: int) -> Samples:
    """The labelled grasp-prompt states of ``bench/vine.py dagger`` directories (their label's row ``row``)."""
    files = [
        Path(r["file"])
        for d in dirs
        for r in (json.loads(line) for line in (d / "episodes.jsonl").read_text().splitlines() if line.strip())
        if r.get("file")
    ]
    rows, episodes = [], []
    for number, file in enumerate(files):
        for stream in labelled_episodes([file]):
            if stream.prompt.split(" ")[0] != "grasp" or stream.chunk_actions is None:
                continue
            plug = OBJECTS.index(stream.prompt.split(" ")[1])
            for t in range(stream.length):
                rows.append((stream.joint_positions[t], stream.object_state[t], stream.chunk_actions[t, row], plug))
                episodes.append(number)
    return _stack(rows, episodes)


def inputs(s: Samples, features: Features, shift: tuple[int, float] | None = None) -> np.ndarray:
    """``[N, F]``: raw state + derived ``features`` + the plug's one-hot (``features=None``: joints + one-hot, no
    objects); ``shift=(axis, metres)`` moves the prompted plug first."""
    moved = s.objects.copy()
    if shift is not None:
        moved[np.arange(len(s.plug)), 7 * s.plug + shift[0]] += shift[1]
    state = s.joints if features is None else model_state(np.concatenate([s.joints, moved], axis=1), features)
    return np.concatenate([state, np.eye(len(OBJECTS))[s.plug]], axis=1)


def grasp_tool(joints: np.ndarray, left: np.ndarray) -> np.ndarray:
    """``[N, 3]`` the grasping side's tool point [m] for ``[N, 14]`` joints."""
    tools = aloha_tool_points(joints[:, ARMS])
    return np.where(left[:, None], tools[:, :3], tools[:, 3:])


def targets(s: Samples, space: str) -> np.ndarray:
    """The regressand: the arm joints' offsets ``[N, 12]`` (joint) or the tool's displacement ``[N, 3]`` (tool)."""
    if space == "joint":
        return s.target[:, ARMS] - s.joints[:, ARMS]
    left = s.side
    return grasp_tool(s.target, left) - grasp_tool(s.joints, left)


class Regressor:
    """Standardized inputs → 3 × 256 GELU MLP → standardized targets, fitted by Adam on mixed batches."""

    def __init__(self, x: np.ndarray, y: np.ndarray, seed: int) -> None:
        torch.manual_seed(seed)
        self.mx, self.sx = x.mean(0), x.std(0) + 1e-6
        self.my, self.sy = y.mean(0), y.std(0) + 1e-6
        layers: list[torch.nn.Module] = []
        for n_in in (x.shape[1], 256, 256):
            layers += [torch.nn.Linear(n_in, 256), torch.nn.GELU()]
        self.net = torch.nn.Sequential(*layers, torch.nn.Linear(256, y.shape[1]))

    def fit(self, pools: list[tuple[np.ndarray, np.ndarray, float]], steps: int, batch: int = 512) -> None:
        """``pools``: ``(x, y, share of each batch)``."""
        tensors = [(self._x(x), torch.tensor((y - self.my) / self.sy, dtype=torch.float32), sh) for x, y, sh in pools]
        opt = torch.optim.Adam(self.net.parameters(), 1e-3)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        for _ in range(steps):
            picks = [(x, y, torch.randint(0, len(x), (round(batch * sh),))) for x, y, sh in tensors if sh > 0]
            loss = sum(((self.net(x[i]) - y[i]) ** 2).sum() for x, y, i in picks) / batch
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()

    def predict(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.net(self._x(x)).numpy() * self.sy + self.my

    def _x(self, x: np.ndarray) -> torch.Tensor:
        return torch.tensor((x - self.mx) / self.sx, dtype=torch.float32)


def tool_at_row(s: Samples, space: str, predicted: np.ndarray) -> np.ndarray:
    """The grasping tool point [m] at the target row implied by ``predicted`` targets."""
    left = s.side
    if space == "tool":
        return grasp_tool(s.joints, left) + predicted
    moved = s.joints.copy()
    moved[:, ARMS] += predicted
    return grasp_tool(moved, left)


def scores(model: Regressor, s: Samples, space: str, features: Features) -> tuple[float, float]:
    """``(tool error p50 [mm], plug gain p50)`` on ``s``."""
    base = tool_at_row(s, space, model.predict(inputs(s, features)))
    error = np.linalg.norm(base - grasp_tool(s.target, s.side), axis=1) * 1000.0
    gains = [
        (tool_at_row(s, space, model.predict(inputs(s, features, (axis, SHIFT)))) - base)[:, axis] / SHIFT
        for axis in (0, 1)
    ]
    return float(np.median(error)), float(np.median(np.concatenate(gains)))


TOOLS: Features = ("aloha_tool_offsets",)
JOINTS: Features = ("aloha_tool_offsets", "aloha_joint_offsets")
FITS: tuple[tuple[str, Features, float], ...] = (  # (action space, derived features or no objects, DART share)
    ("joint", None, 0.0),
    ("joint", TOOLS, 0.0),
    ("joint", TOOLS, 0.5),
    ("joint", JOINTS, 0.0),
    ("joint", JOINTS, 0.5),
    ("tool", TOOLS, 0.0),
    ("tool", TOOLS, 0.5),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("runs/vine/data"), help="the expert's recorded episodes")
    parser.add_argument("--dart", type=Path, nargs="+", required=True, help="bench/vine.py dagger label dirs")
    parser.add_argument("--row", type=int, default=24, help="chunk row (broker.execute_steps − 1)")
    parser.add_argument("--steps", type=int, default=4000, help="Adam steps per fit")
    parser.add_argument("--test-samples", type=int, default=3000, help="held-out samples scored per source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    recorded, dart = recorded_samples(args.data, args.row), dart_samples(args.dart, args.row)
    (rec_train, rec_test), (dart_train, dart_test) = recorded.split(), dart.split()
    tests = [t.take(rng.permutation(len(t.plug))[: args.test_samples]) for t in (rec_test, dart_test)]
    lines = [
        f"Samples: recorded {len(rec_train.plug)} train / {len(rec_test.plug)} held out ({args.data}); DART "
        f"{len(dart_train.plug)} / {len(dart_test.plug)} ({', '.join(map(str, args.dart))}); row {args.row}, "
        f"{args.steps} steps, seed {args.seed}, {len(tests[0].plug)} + {len(tests[1].plug)} scored.",
        "",
        "| action space | inputs | DART share | recorded: tool error p50 [mm] | recorded: plug gain p50 "
        "| DART states: tool error p50 [mm] | DART states: plug gain p50 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    print("\n".join(lines), flush=True)
    for space, features, share in FITS:
        pools = [(inputs(rec_train, features), targets(rec_train, space), 1.0 - share)]
        pools.append((inputs(dart_train, features), targets(dart_train, space), share))
        model = Regressor(pools[0][0], pools[0][1], args.seed)
        model.fit(pools, args.steps)
        cells = [f"{e:.1f} | {g:.2f}" for e, g in (scores(model, t, space, features) for t in tests)]
        name = "joints + plug (no objects)" if features is None else f"state + {' + '.join(features)} + plug"
        lines.append(f"| {space} | {name} | {share:.1f} | {' | '.join(cells)} |")
        print(lines[-1], flush=True)
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
