"""Does an image policy's encoder know where the task objects are? Two read-outs on held-out expert demos.

    # the object-position auxiliary head (learn.object_aux) of every checkpoint
    ./run python scripts/vision_localization.py head \\
        --checkpoints runs/learn/tc_vision_aux/round_0/train/checkpoint_*.pt \\
        --test runs/learn/tc_vision_aux_heldout/demos
    # a ridge probe on the frozen camera tokens of any camera model (with or without the auxiliary loss)
    ./run python scripts/vision_localization.py probe --checkpoints runs/learn/tc_vision/round_0/train/last.pt \\
        --train runs/learn/tc_vision_aux/demos --test runs/learn/tc_vision_aux_heldout/demos

``--test`` (and ``--train``) are expert demos that recorded the objects' poses (``failforward learn collect
--object-aux-weight 1``). Every tick's unshifted frames go through the checkpoint's image encoder; the error [cm]
of the predicted positions is printed per object as mean / median / p90, over all ticks and over the *resting*
ticks (the object still lies where it started, before the grasp: what the policy must find from the images alone),
next to the error of always answering the training mean position (what a read-out that learned nothing scores).
The probe is the same linear read-out for every model, so encoders trained differently compare on what their
tokens hold.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from failforward.learn.dataset import ChunkDataset
from failforward.learn.episodes import EpisodeArrays, load_recorded
from failforward.learn.object_aux import object_errors
from failforward.learn.object_targets import PositionStats, object_positions
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.normalize import NormStats

RESTING_M = 0.01  # [m] an object rests while its height is within this of its first tick's
RIDGE = 1e-2  # ridge penalty per sample, on standardized tokens


def load(paths: list[str]) -> list[EpisodeArrays]:
    """Recorded demos with their object poses as targets."""
    return [e.objects_as_targets() for e in load_recorded(paths, load_images=True)]


def positions(episodes: list[EpisodeArrays]) -> np.ndarray:
    """Object positions ``[N, 3 · O]`` [m] of every tick, in episode order."""
    return np.concatenate([object_positions(e.object_targets) for e in episodes])


def resting(episodes: list[EpisodeArrays]) -> np.ndarray:
    """``bool [N, O]``: the object's height is within ``RESTING_M`` of its first tick's (not lifted yet)."""
    rows = []
    for e in episodes:
        z = object_positions(e.object_targets).reshape(e.length, -1, 3)[:, :, 2]
        rows.append(np.abs(z - z[:1]) < RESTING_M)
    return np.concatenate(rows)


def distances(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Position errors ``[N, O]`` [cm] of ``[N, 3 · O]`` predictions."""
    return 100 * np.linalg.norm((predicted - truth).reshape(len(truth), -1, 3), axis=2)


def summary(err: np.ndarray, still: np.ndarray) -> str:
    """``mean / median / p90`` of ``err [N, O]`` per object, over all ticks, then over the resting ones."""
    cells = []
    for e, s in zip(err.T, still.T, strict=True):
        cells += [f"{part.mean():.1f} / {np.median(part):.1f} / {np.percentile(part, 90):.1f}" for part in (e, e[s])]
    return " | ".join(cells)


def head(checkpoints: list[Path], test: list[EpisodeArrays]) -> None:
    truth, still = positions(test), resting(test)
    for path in sorted(checkpoints):
        stats = PositionStats.from_dict(torch.load(path, map_location="cpu", weights_only=True)["object_stats"])
        guess = distances(np.broadcast_to(stats.mean, truth.shape), truth)
        print(f"{path}: aux head {summary(100 * object_errors(path, test), still)}; mean guess {summary(guess, still)}")


def tokens(path: Path, episodes: list[EpisodeArrays]) -> np.ndarray:
    """Camera tokens ``[N, C · D]`` of every tick's unshifted frames (the checkpoint's image encoder)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = DualActionGenerator(AfilModelConfig.model_validate(state["config"]["model"]))
    model.load_state_dict(state["model"])
    data = ChunkDataset(episodes, model.config, NormStats.from_dict(state["norm"]))
    picks, out = np.concatenate([data.success_index, data.failure_index]), []
    with torch.no_grad():
        for start in range(0, len(picks), 64):
            images = data.collate(picks[start : start + 64]).images
            assert images is not None, "a camera model"
            out.append(model.eval().backbone.images(torch.from_numpy(images)).flatten(1).numpy())
    return np.concatenate(out)


def probe(checkpoints: list[Path], train: list[EpisodeArrays], test: list[EpisodeArrays]) -> None:
    y_train, y_test, still = positions(train), positions(test), resting(test)
    for path in checkpoints:
        x_train, x_test = tokens(path, train), tokens(path, test)
        mean, std = x_train.mean(0), x_train.std(0) + 1e-6
        a = np.c_[(x_train - mean) / std, np.ones(len(x_train))]
        w = np.linalg.solve(a.T @ a + RIDGE * len(a) * np.eye(a.shape[1]), a.T @ y_train)
        predicted = np.c_[(x_test - mean) / std, np.ones(len(x_test))] @ w
        guess = distances(np.broadcast_to(y_train.mean(0), y_test.shape), y_test)
        print(f"{path}: ridge probe {summary(distances(predicted, y_test), still)}; mean guess {summary(guess, still)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("readout", choices=("head", "probe"))
    p.add_argument("--checkpoints", type=Path, nargs="+", required=True)
    p.add_argument("--test", nargs="+", required=True, help="held-out demos with object poses (files or dirs)")
    p.add_argument("--train", nargs="+", help="probe: demos the probe is fitted on")
    args = p.parse_args()
    torch.set_num_threads(1)
    test = load(args.test)
    print(f"{len(test)} test episodes; error [cm] mean / median / p90, all ticks | resting ticks")
    if args.readout == "head":
        head(args.checkpoints, test)
    elif not args.train:
        p.error("probe needs --train (the demos the probe is fitted on)")
    else:
        probe(args.checkpoints, load(args.train), test)


if __name__ == "__main__":
    main()
