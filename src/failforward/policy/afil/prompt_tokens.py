"""Prompt inputs → prefix tokens, one module per text encoder (``AfilModelConfig.text_encoder``).

Each takes the text encoder's named inputs (``text_encoder``; extra keys ignored) and returns
``(tokens [B, T, D], mask bool [B, T])``:

- :class:`HashWordTokens`: ``tokens, token_mask [B, L]`` → one learned embedding per word plus a position (T = L).
- :class:`SentenceTokens`: ``prompt_embedding float32 [B, E]`` → ``prompt_tokens`` tokens by one linear map plus
  positions (T = ``prompt_tokens``, all valid). The sentence model stays outside the graph: the runtime feeds its
  precomputed embedding.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from failforward.policy.afil.config import AfilModelConfig, TextEncoderKind
from failforward.policy.afil.text_encoder import SENTENCE_DIMS


class HashWordTokens(nn.Module):
    """``nn.Embedding(vocab_size, D)`` of hashed word ids plus a learned position per word slot ``[1, L, D]``."""

    def __init__(self, config: AfilModelConfig) -> None:
        super().__init__()
        self.words = nn.Embedding(config.vocab_size, config.width)
        self.pos = nn.Parameter(torch.randn(1, config.max_prompt_tokens, config.width) * 0.02)

    def forward(self, prompt: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.words(prompt["tokens"]) + self.pos, prompt["token_mask"]


class SentenceTokens(nn.Module):
    """``Linear(E, T·D)`` of the unit-norm sentence embedding → ``[B, T, D]``, plus positions ``[1, T, D]``."""

    def __init__(self, config: AfilModelConfig) -> None:
        super().__init__()
        self.count, self.width = config.prompt_tokens, config.width
        self.project = nn.Linear(SENTENCE_DIMS[config.text_encoder], self.count * self.width)
        self.pos = nn.Parameter(torch.randn(1, self.count, self.width) * 0.02)

    def forward(self, prompt: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = prompt["prompt_embedding"].to(self.pos.dtype)  # [B, E]
        tokens = self.project(embedding).reshape(embedding.shape[0], self.count, self.width) + self.pos
        return tokens, torch.ones_like(tokens[:, :, 0], dtype=torch.bool)


PROMPT_TOKENS: dict[TextEncoderKind, type[nn.Module]] = {
    TextEncoderKind.HASH: HashWordTokens,
    TextEncoderKind.MINILM: SentenceTokens,
}
