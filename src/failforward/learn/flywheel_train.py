"""One flywheel round's training: model ``k`` from the recordings of rounds ``< k``, exported.

Two ways (``FlywheelConfig.failure_head_only``):

- fine-tune (default): model ``k - 1`` is fine-tuned, its failure head on the failures and its success head on the
  successes and corrections (the backbone learns from successes only, ``TrainConfig.failure_grad_to_backbone =
  False``, AFIL's disjoint supervision);
- failure head only: a new light failure head is trained from scratch on every failure so far, on the base model's
  frozen backbone and success head (``TrainConfig.failure_head_from``). The success head is the base's bit for bit.

The model's norm stats and training-time RTC setting come from the model it starts from (its ``weights.pt`` and
manifest), so model ``k`` runs wherever the base ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from failforward.learn.config import TrainConfig
from failforward.learn.episodes import EpisodeArrays
from failforward.policy.afil.failure_head import light_head_config
from failforward.policy.afil.manifest import Manifest, load_manifest

if TYPE_CHECKING:
    from failforward.learn.flywheel import Flywheel


def train_round(wheel: Flywheel, k: int, episodes: list[EpisodeArrays]) -> dict[str, Any]:
    """Train model ``k`` (resuming ``round_<k>/train/last.pt`` if a stopped run left one) and export it."""
    from failforward.learn.trainer import export_checkpoint, train

    start = wheel.model_dir(0 if wheel.cfg.failure_head_only else k - 1)
    manifest = load_manifest(start)
    if wheel.cfg.failure_head_only:
        episodes = [e for e in episodes if not e.success]
        if not episodes:  # nothing to learn from yet: model k is model k - 1 (unguided while its head is untrained)
            shutil.copytree(wheel.model_dir(k - 1), wheel.layout.model(k), dirs_exist_ok=True)
            return {
                "steps": 0,
                "init": str(wheel.model_dir(k - 1)),
                "success_ticks": 0,
                "failure_ticks": 0,
                "final_loss": None,
                "model": wheel.layout.rel(wheel.layout.model(k)),
                "copied": True,
            }
        config = _failure_head_config(wheel, k, start / manifest.weights, manifest)
    else:
        config = _finetune_config(wheel, k, start / manifest.weights, manifest)
    result = train(config, episodes)
    export_checkpoint(result.checkpoint, wheel.layout.model(k), sampler=manifest.sampler, name=f"flywheel_round{k}")
    return {
        "steps": result.step,
        "init": str(start),
        "success_ticks": int(sum(e.length for e in episodes if e.success)),
        "failure_ticks": int(sum(e.length for e in episodes if not e.success)),
        "final_loss": float(np.mean(result.losses[-50:])) if result.losses else None,
        "model": wheel.layout.rel(wheel.layout.model(k)),
    }


def _finetune_config(wheel: Flywheel, k: int, weights: Path, manifest: Manifest) -> TrainConfig:
    """Every head from model ``k - 1``'s weights, on successes and failures (``failure_fraction`` of each batch)."""
    cfg = wheel.cfg
    return TrainConfig(
        model=manifest.model,
        out_dir=wheel.layout.train(k),
        steps=cfg.finetune_steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        failure_fraction=cfg.failure_fraction,
        seed=cfg.seed + k,
        checkpoint_every=100,
        rtc_max_delay=_prefix(manifest),
        init_weights=weights,
    )


def _failure_head_config(wheel: Flywheel, k: int, base_weights: Path, manifest: Manifest) -> TrainConfig:
    """A new ``failure_width`` × ``failure_layers`` failure head on the base's frozen backbone and success head."""
    cfg = wheel.cfg
    return TrainConfig(
        model=light_head_config(manifest.model, cfg.failure_width, cfg.failure_layers),
        out_dir=wheel.layout.train(k),
        steps=cfg.finetune_steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        failure_fraction=1.0,
        seed=cfg.seed + k,
        checkpoint_every=100,
        rtc_max_delay=_prefix(manifest),
        failure_head_from=base_weights,
    )


def _prefix(manifest: Manifest) -> int:
    """The training-time RTC delay the model was trained with (0: none)."""
    return manifest.prefix_training.max_delay if manifest.prefix_training is not None else 0
