"""Training-only auxiliary loss: regress the task objects' positions from the image encoder's camera tokens.

A vision policy that must find a 3×3-pixel cube gets a direct signal to localize it: a small MLP head reads the
image encoder's output (``[B, C, D]``, one token per camera, what the backbone attends to) and predicts the
objects' positions ``[B, 3 · O]`` (world frame, normalized with ``learn.object_targets.PositionStats``). The
targets are the simulator's ground truth recorded in the expert demos: privileged supervision at training time
only. The head lives outside the :class:`~failforward.policy.afil.model.DualActionGenerator` (a forward hook on
its image encoder captures the tokens), so the model's weights, ONNX graphs and inputs are unchanged: the
deployed policy needs no object state.

Loss: ``weight · mean over samples with targets of the mean squared error over coordinates``.

Example:
    >>> aux = ObjectAux(model, outputs=3)          # hooks model.backbone.images
    >>> prefix = model.encode(state, tokens, mask, images)
    >>> loss = aux.loss(objects, objects_known)    # the tokens of that encode call
    >>> aux.close()
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from failforward.errors import ConfigError
from failforward.learn.dataset import ChunkDataset
from failforward.learn.episodes import EpisodeArrays
from failforward.learn.object_targets import PositionStats, object_positions
from failforward.policy.afil.config import AfilModelConfig
from failforward.policy.afil.model import DualActionGenerator
from failforward.policy.afil.normalize import NormStats

HIDDEN = 64  # width of the head's hidden layer


class ObjectPoseHead(nn.Module):
    """Camera tokens ``[B, C, D]`` → normalized object positions ``[B, P]`` (flatten, Linear, GELU, Linear)."""

    def __init__(self, cameras: int, width: int, outputs: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(cameras * width, HIDDEN), nn.GELU(approximate="tanh"), nn.Linear(HIDDEN, outputs)
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.mlp(tokens.flatten(1))


def _image_encoder(model: DualActionGenerator) -> nn.Module:
    encoder = getattr(model.backbone, "images", None)
    if not model.config.cameras or not isinstance(encoder, nn.Module):
        raise ConfigError(
            "the object-pose auxiliary loss reads the image encoder; this model has no cameras. Set "
            "object_aux_weight = 0, or train a model with cameras (e.g. --model aloha_vision_cpu)."
        )
    return encoder


class ObjectAux(nn.Module):
    """The auxiliary head plus a hook that keeps the camera tokens of ``model``'s last ``encode`` call.

    Its ``state_dict`` holds the head only (the model is not a submodule); call :meth:`close` to remove the hook.
    """

    def __init__(self, model: DualActionGenerator, outputs: int) -> None:
        super().__init__()
        encoder = _image_encoder(model)
        self.head = ObjectPoseHead(len(model.config.cameras), model.config.width, outputs)
        self._tokens: torch.Tensor | None = None
        self._hook = encoder.register_forward_hook(self._keep)

    def _keep(self, _module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        self._tokens = output

    def predict(self) -> torch.Tensor:
        """Normalized positions ``[B, P]`` from the tokens of the last ``encode`` (raises if there was none)."""
        if self._tokens is None:
            raise RuntimeError("ObjectAux.predict needs the model's encode() to run first (with images).")
        tokens, self._tokens = self._tokens, None
        return self.head(tokens)

    def loss(self, objects: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """Mean squared error ``[]`` of :meth:`predict` vs ``objects [B, P]`` over the samples with ``known [B]``
        (0 when none is known)."""
        err = ((self.predict() - objects) ** 2).mean(dim=1)  # [B]
        weight = known.to(err.dtype)
        return (err * weight).sum() / weight.sum().clamp_min(1.0)

    def close(self) -> None:
        """Remove the hook from the model's image encoder."""
        self._hook.remove()


def object_errors(checkpoint: Path, episodes: list[EpisodeArrays], batch_size: int = 64) -> np.ndarray:
    """Position error [m] ``[N, O]`` of a checkpoint's auxiliary head on every tick of ``episodes`` (e.g. held-out
    demos with ``object_targets``), unshifted images, ``N`` = their ticks: how well the image encoder localizes.

    Raises:
        ConfigError: the checkpoint was trained without the auxiliary loss, or an episode has no targets.
    """
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if "object_aux" not in state:
        raise ConfigError(f"{checkpoint} was trained without the object-pose auxiliary loss (object_aux_weight = 0).")
    if any(not e.object_targets.shape[1] for e in episodes):
        raise ConfigError("object_errors needs episodes with object_targets (recorded object poses).")
    model = DualActionGenerator(AfilModelConfig.model_validate(state["config"]["model"]))
    model.load_state_dict(state["model"])
    stats = PositionStats.from_dict(state["object_stats"])
    aux = ObjectAux(model.eval(), stats.size)
    aux.load_state_dict(state["object_aux"])
    aux.close()  # the image encoder runs alone here
    encoder = _image_encoder(model)
    data = ChunkDataset(episodes, model.config, NormStats.from_dict(state["norm"]))
    picks = np.concatenate([data.success_index, data.failure_index])
    predicted = []
    with torch.no_grad():
        for start in range(0, len(picks), batch_size):
            images = data.collate(picks[start : start + batch_size]).images
            assert images is not None  # _image_encoder: the model has cameras
            predicted.append(stats.unnormalize(aux.head(encoder(torch.from_numpy(images))).numpy()))
    truth = np.stack([object_positions(data.episodes[i].object_targets)[t] for i, t in picks])
    err = np.concatenate(predicted) - truth  # [N, 3 · O]
    return np.linalg.norm(err.reshape(len(err), -1, 3), axis=2)
