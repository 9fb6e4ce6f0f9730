"""Train an AFIL model on recorded episodes, read from their MCAP files (``failforward learn recorded``).

The recordings' outcomes are resolved by ``learn.outcomes`` (operator label, else simulator, else supervisor);
failures train the failure head, successes and corrections the success head. Fine-tuning (``init_model``) keeps the
initial model's shape, norm stats and training-time RTC; from scratch, the shape is a ``LEARN_MODELS`` name (or a
model config) with the recordings' state width. Training resumes from ``<out>/train/last.pt``; the model is exported
to ``<out>/model``.

Example:
    >>> train_on_recordings([Path("runs/20261202-030750-sim_transfer_cube_afil")], Path("runs/learn/rec"),
    ...                     init_model=Path("models/afil_aloha_transfer_cube"), steps=500)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from failforward.errors import ConfigError
from failforward.learn.config import TrainConfig
from failforward.learn.recorded import Selection, load_selection, select_recorded
from failforward.policy.afil.config import AfilModelConfig


def train_on_recordings(
    sources: list[Path],
    out: Path,
    *,
    init_model: Path | None,
    model: str | AfilModelConfig = "aloha_state_cpu",
    steps: int = 1000,
    batch_size: int = 64,
    lr: float = 3e-4,
    seed: int = 0,
    failure_head: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Select, load, train (or resume), export; returns what ``<out>/recorded.json`` stores.

    ``failure_head`` ``(width, layers)``: train only a new light failure head of that shape on the recorded failures,
    on ``init_model``'s frozen backbone and success head (``TrainConfig.failure_head_from``); successes are not used.
    """
    from failforward.learn.trainer import export_checkpoint, train

    selection = select_recorded(sources)
    if not selection.chosen:
        raise ConfigError(f"No episode under {', '.join(map(str, sources))} has an outcome: {_skipped(selection)}")
    config = _train_config(selection, out, init_model, model, steps, batch_size, lr, seed)
    if failure_head is not None:
        config = _failure_head_only(config, init_model, failure_head)
    episodes = load_selection(selection, load_images=bool(config.model.cameras))
    if failure_head is not None:
        episodes = [e for e in episodes if not e.success]
        if not episodes:
            raise ConfigError(
                f"--failure-head-only trains on failures, and none of the {selection.counts()['successes']} episodes "
                "with an outcome failed; add recordings with failures or label them (`failforward label set`)."
            )
    result = train(config, episodes)
    export_checkpoint(result.checkpoint, out / "model", name=out.name)
    info = {
        "sources": [str(s) for s in sources],
        "data": selection.counts(),
        "episodes": [c.row() for c in selection.chosen],
        "skipped": [[str(p), r] for p, r in selection.skipped],
        "steps": result.step,
        "model": str(out / "model"),
    }
    (out / "recorded.json").write_text(json.dumps(info, indent=1))
    return info


def _train_config(
    selection: Selection,
    out: Path,
    init_model: Path | None,
    model: str | AfilModelConfig,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> TrainConfig:
    """Fine-tuning from ``init_model`` (its shape and RTC), or from scratch with ``model``'s shape."""
    common: dict[str, Any] = {"out_dir": out / "train", "steps": steps, "batch_size": batch_size, "lr": lr}
    if init_model is not None:
        from failforward.policy.afil.manifest import load_manifest
        from failforward.policy.afil.weights import load_weights

        manifest = load_manifest(init_model)
        weights = init_model / manifest.weights
        prefix = manifest.prefix_training.max_delay if manifest.prefix_training is not None else 0
        shape = load_weights(weights)[0].config
        return TrainConfig(model=shape, init_weights=weights, rtc_max_delay=prefix, seed=seed, **common)
    from failforward.learn.models import get_learn_model
    from failforward.record.reader import read_episode

    first = read_episode(selection.chosen[0].path, load_images=False)
    state_dim = first.joint_positions.shape[1] + first.object_state.shape[1]
    shape = get_learn_model(model) if isinstance(model, str) else model
    return TrainConfig(model=shape.model_copy(update={"state_dim": state_dim}), seed=seed, **common)


def _failure_head_only(config: TrainConfig, init_model: Path | None, shape: tuple[int, int]) -> TrainConfig:
    """``config`` (fine-tuning ``init_model``) turned into training a new light failure head on its frozen model."""
    from failforward.policy.afil.failure_head import light_head_config

    if init_model is None or config.init_weights is None:
        raise ConfigError(
            "--failure-head-only keeps a trained model's backbone and success head; pass --init-model <model dir>."
        )
    update = {
        "model": light_head_config(config.model, *shape),
        "failure_head_from": config.init_weights,
        "init_weights": None,
        "failure_fraction": 1.0,
    }
    return TrainConfig.model_validate({**config.model_dump(), **update})


def _skipped(selection: Selection) -> str:
    head = "; ".join(f"{p.name}: {r}" for p, r in selection.skipped[:5])
    return f"{len(selection.skipped)} skipped ({head}). Label them with `failforward label set <file> success|failure`."
