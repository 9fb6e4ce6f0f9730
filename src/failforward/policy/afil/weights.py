"""Weights file of a model directory: ``weights.pt`` = model config + state dict + norm stats."""

from __future__ import annotations

from pathlib import Path

import torch

from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.errors import ManifestError
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.normalize import NormStats

WEIGHTS_FILE = "weights.pt"


def save_weights(model: DualActionGenerator, norm: NormStats, path: Path) -> None:
    """Write ``model``'s config, parameters and ``norm`` to ``path`` (plain dict, loads with ``weights_only``)."""
    torch.save(
        {"config": model.config.model_dump(mode="json"), "state_dict": model.state_dict(), "norm": norm.to_dict()},
        path,
    )


def load_weights(path: Path, device: str = "cpu") -> tuple[DualActionGenerator, NormStats]:
    """Rebuild the model in eval mode from ``path``; a state dict that does not fit its config raises."""
    data = torch.load(path, map_location=device, weights_only=True)
    model = DualActionGenerator(AfilModelConfig.model_validate(data["config"]))
    try:
        model.load_state_dict(data["state_dict"])
    except RuntimeError as exc:
        raise ManifestError(f"{path}: parameters do not fit the stored model config: {exc}") from exc
    return model.to(device).eval(), NormStats.from_dict(data["norm"])
