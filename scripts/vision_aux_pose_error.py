"""How well an image policy's encoder localizes the task objects: the object-position auxiliary head's error.

    ./run python scripts/vision_aux_pose_error.py \\
        --checkpoints runs/learn/tc_vision_aux/round_0/train/checkpoint_*.pt \\
        --episodes runs/learn/tc_vision_aux_heldout/demos

For every checkpoint trained with ``object_aux_weight > 0`` (``learn.object_aux``), the head's position error on
every tick of the given episodes (expert demos that recorded object poses; held out: seeds the run never trained
on), unshifted frames: mean, median and 90th percentile [cm] per object, next to the error of always answering the
training mean position (what a head that learned nothing would score).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from failforward.learn.episodes import load_recorded
from failforward.learn.object_aux import object_errors
from failforward.learn.object_targets import PositionStats, object_positions


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoints", type=Path, nargs="+", required=True)
    p.add_argument("--episodes", nargs="+", required=True, help="MCAP files or directories with object poses")
    args = p.parse_args()
    torch.set_num_threads(1)
    episodes = [e.objects_as_targets() for e in load_recorded(args.episodes, load_images=True)]
    truth = np.concatenate([object_positions(e.object_targets) for e in episodes])
    print(f"{len(episodes)} episodes, {len(truth)} ticks; error [cm] per object: mean / median / p90")
    for path in sorted(args.checkpoints):
        stats = PositionStats.from_dict(torch.load(path, map_location="cpu", weights_only=True)["object_stats"])
        err = 100 * object_errors(path, episodes)
        base = 100 * np.linalg.norm((truth - stats.mean).reshape(len(truth), -1, 3), axis=2)
        cells = [f"{e.mean():.1f} / {np.median(e):.1f} / {np.percentile(e, 90):.1f}" for e in err.T]
        bases = [f"{b.mean():.1f}" for b in base.T]
        print(f"{path.name}: head {', '.join(cells)}  (training-mean guess: {', '.join(bases)})")


if __name__ == "__main__":
    main()
