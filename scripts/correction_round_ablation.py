"""Is it the corrections that break AFIL's correction round? (issue 17, item 2)

Fine-tunes a `failforward learn` run's round-0 model ``--steps`` steps on round ``--round``'s success data (the expert
demos plus the corrections from their takeover ticks, exactly as the pipeline slices them) and no failure data, then
exports it to ``<out>/model``. Evaluate it like the demos-only control (README, "AFIL from limited-demo bases"):
``failforward demo --preset sim_transfer_cube_afil --episodes 50 --seed 100000 --output <out>/eval
--set policy.model_dir='"<out>/model"' ...``.

``--max-z Z`` cuts each correction at its first tick whose state lies more than Z standard deviations (the base's
norm stats) from the demos' mean: does the collapse come from the states outside the normalization?

Example:
    OMP_NUM_THREADS=1 ./run python scripts/correction_round_ablation.py --run runs/learn/tc_limited3 \
        --out runs/learn/tc_limited3_demos_corrections
"""

from __future__ import annotations

import argparse
from pathlib import Path

from failforward.learn.config import TrainConfig
from failforward.learn.run_state import RunState
from failforward.learn.sources import load_slices
from failforward.learn.stages import Pipeline
from failforward.learn.trainer import export_checkpoint, train
from failforward.policy.afil.manifest import load_manifest
from failforward.policy.afil.weights import load_weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--round", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-z", type=float, help="cut corrections at their first state this far out [σ]")
    args = parser.parse_args()
    pipe = Pipeline(RunState.open(args.run))
    success, _ = pipe.training_slices(args.round)
    base = pipe.layout.model(0)
    manifest = load_manifest(base)
    config = TrainConfig(
        model=manifest.model,
        out_dir=args.out / "train",
        steps=args.steps,
        batch_size=args.batch_size,
        lr=pipe.cfg.lr,
        failure_fraction=0.0,
        seed=args.seed,
        checkpoint_every=250,
        rtc_max_delay=manifest.prefix_training.max_delay if manifest.prefix_training else 0,
        init_weights=base / manifest.weights,
    )
    episodes = load_slices(success)
    if args.max_z is not None:
        demos = len(pipe.state.info("collect")["files"])
        _, norm = load_weights(base / manifest.weights)
        near = [e.before_far_state(norm.state_mean, norm.state_std, args.max_z) for e in episodes[demos:]]
        episodes = episodes[:demos] + near
    result = train(config, episodes)
    export_checkpoint(result.checkpoint, args.out / "model")
    print(f"{len(success)} success episodes, {result.step} steps: {args.out / 'model'}")


if __name__ == "__main__":
    main()
