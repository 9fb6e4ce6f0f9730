"""Train from a stream file (``learn.stream_file``) on any machine with torch: the GPU half of a prepared run.

The file holds the streams and the :class:`TrainConfig` they were prepared for; this trains that config with a few
fields overridden (where the checkpoints go, the device, steps, batch size, learning rate, threads). It needs numpy,
torch, pydantic, tqdm, opencv and h5py, not the simulator or the recordings. Checkpoints resume as usual, on either
device: copy ``out_dir``'s last checkpoint (as ``last.pt``) to continue elsewhere. Export it where the model directory
is needed (``trainer.export_checkpoint``, or the command that prepared the file, resumed at its last step).

Example:
    python -m failforward.learn.train_streams runs/vine/system1_streams.h5 --out-dir runs/vine/system1_gpu \\
        --device cuda --steps 20000 --batch-size 512
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from failforward.learn.stream_file import load_streams
from failforward.learn.trainer import train


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("streams", type=Path, help="a file written by learn.stream_file.save_streams")
    parser.add_argument("--out-dir", type=Path, required=True, help="checkpoints (resumed when it holds last.pt)")
    parser.add_argument("--device", default=None, help="cpu, cuda or cuda:<index> [the file's config]")
    parser.add_argument("--steps", type=int, default=None, help="total optimizer steps [the file's config]")
    parser.add_argument("--batch-size", type=int, default=None, help="chunks per step [the file's config]")
    parser.add_argument("--lr", type=float, default=None, help="AdamW learning rate [the file's config]")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads [the file's config]")
    parser.add_argument("--checkpoint-every", type=int, default=None, help="steps between checkpoints")
    args = parser.parse_args(argv)
    config, episodes, states = load_streams(args.streams)
    overrides = {
        "out_dir": args.out_dir,
        "device": args.device,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "threads": args.threads,
        "checkpoint_every": args.checkpoint_every,
    }
    config = config.model_validate({**config.model_dump(), **{k: v for k, v in overrides.items() if v is not None}})
    ticks = sum(e.length for e in episodes)
    print(f"{len(episodes)} streams ({ticks} ticks) from {args.streams}; training on {config.device}, batch "
          f"{config.batch_size}, to step {config.steps} -> {config.out_dir}", flush=True)  # fmt: skip
    start = time.perf_counter()
    result = train(config, episodes, states=states)
    print(f"step {result.step} in {time.perf_counter() - start:.0f} s; last loss "
          f"{result.losses[-1] if result.losses else float('nan'):.4f} -> {result.checkpoint}")  # fmt: skip


if __name__ == "__main__":
    main()
