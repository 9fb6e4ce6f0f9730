"""What in AFIL's correction round breaks the success head (issue 17, item 2), on any `failforward learn` run.

The pipeline's round 1 fine-tunes the success head on the expert demos plus the corrections of the base's failed
rollouts (each from its takeover tick). On transfer cube and on PullCube-v1 that round falls far below the base
unguided. Each variant here fine-tunes the run's round-0 model ``--steps`` steps (fresh optimizer, the base's norm
stats, no failure data, so the failure head and guidance stay out) on one success set:

- ``demos``: the expert demos alone (the control: more training on the same data);
- ``demos+corrections``: and every successful round-0 correction from its takeover tick (what the pipeline trains on);
- ``demos+corrections_moving``: each correction from its first tick at which a task object has moved more than
  ``--moved-m`` since the takeover: the expert's re-approach (replanning from wherever the failed rollout left the
  arm) cut, its work on the object kept;
- ``demos+corrections_near``: each correction up to its first tick whose state lies more than ``--max-z`` standard
  deviations (the base's norm stats, fitted to the demos) from the demos' mean: the states outside the normalization
  cut;
- ``demos_x{k}+corrections`` (``--variants demos_capped+corrections``): the demos repeated ``k`` times, so the
  corrections are at most 40 % of the success episodes, as in the paper's data (1500 successes, 1000 corrected).

Each is evaluated unguided on the run's held-out protocol (``eval_configs`` from ``eval_seed`` × ``--runs`` flow-noise
seeds 10000 + m, synchronous inference), with ``bench/failure_data.py``'s evaluation. Resumable: trained models and
evaluated (variant, run) pairs are kept under ``--out``.

Run (in `.venv-maniskill` for a ManiSkill run):
    OMP_NUM_THREADS=1 .venv-maniskill/bin/python bench/correction_round.py --run runs/learn/ms_pull_paper \
        --out runs/learn/ms_pull_paper/correction_round --json docs/afil_correction_round_pull.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from failforward.config.policy import GuidanceConfig
from failforward.learn.config import TrainConfig
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.run_state import RunState
from failforward.learn.sources import EpisodeSlice, demo_repeats, load_slices
from failforward.learn.stages import Pipeline
from failforward.policy.afil import load_manifest
from failforward.stats import rate_summary

ROOT = Path(__file__).resolve().parents[1]
MAX_CORRECTION_SHARE = 0.4  # the paper's 1000 corrected of 2500 success-head trajectories


def _failure_data() -> Any:
    """``bench/failure_data.py`` as a module (its held-out evaluation)."""
    spec = importlib.util.spec_from_file_location("failure_data", ROOT / "bench" / "failure_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["failure_data"] = module
    spec.loader.exec_module(module)
    return module


def from_object_motion(episode: EpisodeArrays, moved_m: float) -> EpisodeArrays:
    """``episode`` from its first tick at which an object's position moved more than ``moved_m`` [m] since its first
    tick (``object_state [T, 7 · n]``: per object xyz then a quaternion); the whole episode if none moved."""
    positions = episode.object_state.reshape(episode.length, -1, 7)[:, :, :3]
    moved = np.linalg.norm(positions - positions[:1], axis=2).max(axis=1) > moved_m
    return episode.window(int(np.argmax(moved)) if moved.any() else 0, episode.length)


VARIANTS = (
    "demos",
    "demos+corrections",
    "demos+corrections_moving",
    "demos+corrections_near",
    "demos_capped+corrections",
)


def success_sets(pipe: Pipeline, variants: list[str], moved_m: float, max_z: float) -> dict[str, list[EpisodeArrays]]:
    """Variant name → its success episodes (module docstring), for the ``variants`` asked for; the capped one is
    named by its repeat count (``demos_x{k}+corrections``). ``moved_m`` [m], ``max_z`` [σ of the base's norm]."""
    root = pipe.layout.root
    demos = load_slices([EpisodeSlice(root / f) for f in pipe.state.info("collect")["files"]])
    fixed = [c for c in pipe.state.info("correct_0")["corrections"] if c["success"]]
    corrections = load_slices([EpisodeSlice(root / c["file"], c["takeover"]) for c in fixed])
    repeat = demo_repeats(len(demos), len(corrections), MAX_CORRECTION_SHARE)
    sets: dict[str, list[EpisodeArrays]] = {}
    if "demos" in variants:
        sets["demos"] = demos
    if "demos+corrections" in variants:
        sets["demos+corrections"] = demos + corrections
    if "demos+corrections_moving" in variants:
        sets["demos+corrections_moving"] = demos + [from_object_motion(e, moved_m) for e in corrections]
    if "demos+corrections_near" in variants:
        norm = load_manifest(pipe.layout.model(0)).norm_stats
        near = [e.before_far_state(norm.state_mean, norm.state_std, max_z) for e in corrections]
        sets["demos+corrections_near"] = demos + near
    if "demos_capped+corrections" in variants:
        sets[f"demos_x{repeat}+corrections"] = demos * repeat + corrections
    return sets


def train_variant(pipe: Pipeline, name: str, episodes: list[EpisodeArrays], args: argparse.Namespace) -> Path:
    """Fine-tune (or resume) the round-0 model on ``episodes`` (success only) and export it; returns its dir."""
    from failforward.learn.trainer import export_checkpoint, train

    model_dir = args.out / name / "model"
    if (model_dir / "manifest.json").is_file():
        return model_dir
    base = pipe.layout.model(0)
    manifest = load_manifest(base)
    config = TrainConfig(
        model=manifest.model,
        out_dir=args.out / name / "train",
        steps=args.steps,
        batch_size=pipe.cfg.batch_size,
        lr=pipe.cfg.lr,
        failure_fraction=0.0,
        seed=args.seed,
        checkpoint_every=250,
        rtc_max_delay=manifest.prefix_training.max_delay if manifest.prefix_training else 0,
        init_weights=base / manifest.weights,
        ema_decay=args.ema_decay,
    )
    result = train(config, episodes, progress=False)
    export_checkpoint(result.checkpoint, model_dir, sampler=manifest.sampler, name=f"correction_round_{name}")
    ticks = sum(e.length for e in episodes)
    (args.out / name / "data.json").write_text(json.dumps({"episodes": len(episodes), "ticks": ticks}))
    return model_dir


def render(data: dict[str, Any]) -> list[str]:
    """Markdown rows: variant, success data, held-out success unguided."""
    lines = [
        "| success data of the fine-tune | episodes, ticks | held-out success % [95 % Wilson] |",
        "| --- | --- | --- |",
    ]
    for name, s in data["success"].items():
        d = data["data"].get(name)
        used = f"{d['episodes']}, {d['ticks']}" if d else "– (the base)"
        cell = f"{100 * s['rate']:.0f} [{100 * s['wilson95'][0]:.0f}–{100 * s['wilson95'][1]:.0f}]"
        lines.append(f"| {name} | {used} | {cell} ({s['successes']}/{s['trials']}) |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a `failforward learn` run with correct_0")
    parser.add_argument("--out", type=Path, required=True, help="models, evaluation episodes, episodes.jsonl")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--steps", type=int, default=400, help="fine-tuning steps per variant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--moved-m", type=float, default=0.005, help="object motion that starts a correction [m]")
    parser.add_argument("--max-z", type=float, default=5.0, help="demos+corrections_near: the cut [σ]")
    parser.add_argument("--ema-decay", type=float, default=0.0, help="EMA of the weights (learn.ema); 0 = off")
    parser.add_argument("--runs", type=int, default=3, help="flow-noise seeds per configuration")
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--doc", type=Path, help="also write the table here (markdown)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pipe = Pipeline(RunState.open(args.run))
    unguided = GuidanceConfig(mode="none")
    models = {"base (round 0)": (pipe.layout.model(0), unguided)}
    for name, episodes in success_sets(pipe, args.variants, args.moved_m, args.max_z).items():
        models[name] = (train_variant(pipe, name, episodes, args), unguided)
    rows = _failure_data().all_rows(pipe, models, args)
    data = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "protocol": f"{pipe.cfg.eval_configs} held-out configurations (seeds {pipe.cfg.eval_seed}…) × {args.runs} "
        f"flow-noise seeds (10000 + m), at most {pipe.cfg.max_steps} ticks, synchronous inference, unguided",
        "data": {n: json.loads((args.out / n / "data.json").read_text()) for n in models if n != "base (round 0)"},
        "success": {n: rate_summary([r["success"] for r in rows if r["variant"] == n]) for n in models},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1))
    text = "\n".join(render(data))
    print(text)
    if args.doc:
        ema = f", EMA of the weights (decay {args.ema_decay:g})" if args.ema_decay else ", the last iterate exported"
        head = (
            f"# Which part of the correction round breaks the success head: `{args.run}`\n\nGenerated by "
            f"`bench/correction_round.py --run {args.run}`; no number is typed by hand. Each row fine-tunes the run's "
            f"round-0 model {args.steps} steps (fresh optimizer, no failure data{ema}) on its success data, evaluated "
            f"on {data['protocol']}.\n\n"
        )
        args.doc.write_text(head + text + "\n")


if __name__ == "__main__":
    main()
