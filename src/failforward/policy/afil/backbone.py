"""The shared backbone: observation → prefix tokens that both action experts attend to.

Backbone contract (what a π0/SmolVLA-class VLM must offer to replace :class:`SmallPrefixEncoder`):

- ``width``: int, D, the token width the experts were built with (or add a projection to it).
- ``forward(state, prompt, images) -> Prefix`` with
  ``state: float32 [B, S]`` normalized proprioception,
  ``prompt: Mapping[str, Tensor]`` the prompt inputs of the text encoder that travels with the backbone
  (``text_encoder``; extra keys ignored): ``tokens int64 [B, L]`` + ``token_mask bool [B, L]`` (True = real
  token) for ``hash``, ``prompt_embedding float32 [B, E]`` for ``minilm``,
  ``images: uint8 [B, C, H, W, 3]`` RGB in the order of ``AfilModelConfig.cameras`` (``None`` when
  the model has no cameras), returning ``Prefix(tokens [B, P, D], mask [B, P])``.
- It runs once per chunk; the experts cache their cross-attention keys/values of the prefix, so the
  prefix never re-enters the N flow steps. It must be traceable by ``torch.onnx.export`` for the
  onnxruntime/TensorRT backends (the torch backend needs nothing more than ``forward``).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

from failforward.policy.afil.config import AfilModelConfig, ImageEncoderKind
from failforward.policy.afil.conv_encoder import ConvImageEncoder
from failforward.policy.afil.layers import SelfAttentionBlock, key_bias
from failforward.policy.afil.prompt_tokens import PROMPT_TOKENS


class Prefix(NamedTuple):
    """Prefix tokens ``[B, P, D]`` and their validity mask ``bool [B, P]``; ``state [B, S]``: the normalized state the
    experts or the mean head read directly (``state_in_rows``, ``mean_head``), attached by the model, never by a
    backbone."""

    tokens: torch.Tensor
    mask: torch.Tensor
    state: torch.Tensor | None = None


class PrefixEncoder(nn.Module, abc.ABC):
    """Interface of every backbone (see the module docstring for the contract)."""

    width: int

    @abc.abstractmethod
    def forward(
        self,
        state: torch.Tensor,
        prompt: Mapping[str, torch.Tensor],
        images: torch.Tensor | None = None,
    ) -> Prefix:
        """Encode one observation batch into prefix tokens."""


class PatchEncoder(nn.Module):
    """Images ``uint8 [B, C, H, W, 3]`` → tokens ``[B, C·h·w, D]`` (shared conv patchifier + camera/pos embeddings)."""

    def __init__(self, config: AfilModelConfig) -> None:
        super().__init__()
        p, d = config.patch_size, config.width
        self.stem = nn.Sequential(
            nn.Conv2d(3, d // 2, kernel_size=p // 2, stride=p // 2),
            nn.GELU(approximate="tanh"),
            nn.Conv2d(d // 2, d, kernel_size=2, stride=2),
        )
        patches = (config.image_height // p) * (config.image_width // p)
        self.pos = nn.Parameter(torch.randn(1, 1, patches, d) * 0.02)
        self.camera = nn.Parameter(torch.randn(1, len(config.cameras), 1, d) * 0.02)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        b, c, h, w, _ = images.shape
        x = images.reshape(b * c, h, w, 3).permute(0, 3, 1, 2).to(self.pos.dtype) * (2.0 / 255.0) - 1.0
        x = self.stem(x).flatten(2).transpose(1, 2)  # [B·C, h·w, D]
        x = x.reshape(b, c, -1, x.shape[-1]) + self.pos + self.camera
        return x.reshape(b, -1, x.shape[-1])


IMAGE_ENCODERS: dict[ImageEncoderKind, type[nn.Module]] = {
    ImageEncoderKind.PATCH: PatchEncoder,
    ImageEncoderKind.CONV: ConvImageEncoder,
}


class SmallPrefixEncoder(PrefixEncoder):
    """Bundled CPU-trainable backbone: image tokens (``config.image_encoder``: patches or one spatial-softmax
    token per camera), one state token, prompt tokens (``config.text_encoder``: hashed words or a few tokens
    projected from a sentence embedding), then ``backbone_layers`` self-attention blocks over all of them."""

    def __init__(self, config: AfilModelConfig) -> None:
        super().__init__()
        d = self.width = config.width
        self.images = IMAGE_ENCODERS[config.image_encoder](config) if config.cameras else None
        self.state = nn.Sequential(nn.Linear(config.input_state_dim, d), nn.GELU(approximate="tanh"), nn.Linear(d, d))
        self.prompt = PROMPT_TOKENS[config.text_encoder](config)
        self.blocks = nn.ModuleList(
            SelfAttentionBlock(1, d, config.attn_heads, config.mlp_ratio) for _ in range(config.backbone_layers)
        )
        self.heads = config.attn_heads
        self.register_load_state_dict_pre_hook(_rename_legacy_keys)

    def forward(
        self,
        state: torch.Tensor,
        prompt: Mapping[str, torch.Tensor],
        images: torch.Tensor | None = None,
    ) -> Prefix:
        words, word_mask = self.prompt(prompt)
        parts = [self.state(state.to(words.dtype))[:, None, :], words]
        masks = [torch.ones_like(word_mask[:, :1]), word_mask]
        if self.images is not None:
            if images is None:
                raise ValueError("this backbone was built with cameras; pass images [B, C, H, W, 3]")
            img = self.images(images)
            parts.insert(0, img)
            masks.insert(0, torch.ones_like(word_mask[:, :1]).expand(-1, img.shape[1]))
        x, mask = torch.cat(parts, dim=1)[None], torch.cat(masks, dim=1)
        bias = key_bias(mask, x.dtype)
        for block in self.blocks:
            x = block(x, bias, 1)
        return Prefix(x[0], mask)


# Parameter names of the hash word embeddings before text encoders were a role (weights.pt and checkpoints
# written then, e.g. models/afil_aloha_transfer_cube) → their names now.
_LEGACY_KEYS = {"words.weight": "prompt.words.weight", "word_pos": "prompt.pos"}


def _rename_legacy_keys(module: nn.Module, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """``load_state_dict`` pre-hook: rename :data:`_LEGACY_KEYS` under ``prefix`` in place."""
    for old, new in _LEGACY_KEYS.items():
        if prefix + old in state_dict:
            state_dict[prefix + new] = state_dict.pop(prefix + old)
