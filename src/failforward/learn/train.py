"""Train an AFIL Dual Action Generator on recorded episodes and export it for the runtime.

Example:
    python -m failforward.learn.train --episodes runs/demo --preset aloha_state \\
        --out runs/afil_train --steps 2000 --export models/afil_aloha_state

Success episodes train the backbone and the success head, failure episodes the failure head
(``--failure-grad-to-backbone`` lets them shape the backbone too). Re-running with the same
``--out`` resumes from ``last.pt`` unless ``--no-resume`` is given.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from failforward.learn.config import TrainConfig
from failforward.learn.episodes import load_recorded
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil.config import MODEL_PRESETS, SamplerConfig, get_model_preset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", nargs="+", required=True, help="MCAP files or directories of them")
    p.add_argument("--preset", default="aloha_state", help=f"model preset: {', '.join(MODEL_PRESETS)}")
    p.add_argument("--out", type=Path, default=Path("runs/afil_train"), help="checkpoint directory")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--failure-fraction", type=float, default=0.5)
    p.add_argument("--failure-grad-to-backbone", action="store_true")
    p.add_argument("--action-source", choices=("sent", "policy"), default="sent")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument(
        "--rtc-max-delay", type=int, default=20, help="training-time RTC: prefixes of up to D rows (0 = off)"
    )
    p.add_argument("--no-resume", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--export", type=Path, help="also export the final checkpoint to this model directory")
    p.add_argument("--num-steps", type=int, default=10, help="Euler steps baked into the exported fused graphs")
    p.add_argument("--fp16", action="store_true", help="also export float16 graphs (TensorRT/CUDA fp16)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    model = get_model_preset(args.preset)
    config = TrainConfig(
        model=model,
        out_dir=args.out,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        failure_fraction=args.failure_fraction,
        failure_grad_to_backbone=args.failure_grad_to_backbone,
        action_source=args.action_source,
        checkpoint_every=args.checkpoint_every,
        resume=not args.no_resume,
        seed=args.seed,
        threads=args.threads,
        rtc_max_delay=args.rtc_max_delay,
    )
    episodes = load_recorded(args.episodes, action_source=config.action_source, load_images=bool(model.cameras))
    result = train(config, episodes)
    logging.getLogger(__name__).info("checkpoint %s at step %d", result.checkpoint, result.step)
    if args.export:
        precisions = ("fp32", "fp16") if args.fp16 else ("fp32",)
        export_checkpoint(
            result.checkpoint, args.export, sampler=SamplerConfig(num_steps=args.num_steps), precisions=precisions
        )
        logging.getLogger(__name__).info("exported %s", args.export)


if __name__ == "__main__":
    main()
