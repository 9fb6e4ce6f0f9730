"""One flywheel round's training: fine-tune model ``k - 1`` on recorded episodes and export model ``k``.

The model shape, its norm stats and its training-time RTC setting come from the previous model (its ``weights.pt``
and manifest), so model ``k`` runs wherever model ``k - 1`` ran. Failure episodes train the failure head only (the
backbone learns from successes, ``TrainConfig.failure_grad_to_backbone = False``, AFIL's disjoint supervision).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from failforward.learn.config import TrainConfig
from failforward.learn.episodes import EpisodeArrays
from failforward.policy.afil.manifest import load_manifest

if TYPE_CHECKING:
    from failforward.learn.flywheel import Flywheel


def train_round(wheel: Flywheel, k: int, episodes: list[EpisodeArrays]) -> dict[str, Any]:
    """Train model ``k`` (resuming ``round_<k>/train/last.pt`` if a stopped run left one) and export it."""
    from failforward.learn.trainer import export_checkpoint, train
    from failforward.policy.afil.weights import load_weights

    cfg, previous = wheel.cfg, wheel.model_dir(k - 1)
    manifest = load_manifest(previous)
    weights = previous / manifest.weights
    model, _ = load_weights(weights)
    prefix = manifest.prefix_training.max_delay if manifest.prefix_training is not None else 0
    config = TrainConfig(
        model=model.config,
        out_dir=wheel.layout.train(k),
        steps=cfg.finetune_steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        failure_fraction=cfg.failure_fraction,
        seed=cfg.seed + k,
        checkpoint_every=100,
        rtc_max_delay=prefix,
        init_weights=weights,
    )
    result = train(config, episodes)
    export_checkpoint(result.checkpoint, wheel.layout.model(k), name=f"flywheel_round{k}")
    return {
        "steps": result.step,
        "init": str(previous),
        "success_ticks": int(sum(e.length for e in episodes if e.success)),
        "failure_ticks": int(sum(e.length for e in episodes if not e.success)),
        "final_loss": float(np.mean(result.losses[-50:])) if result.losses else None,
        "model": wheel.layout.rel(wheel.layout.model(k)),
    }
