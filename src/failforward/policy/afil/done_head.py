"""The done expert of VINE's System 1: does the prompted subgoal end here (end of edge, ``<eoe>``)?

VINE §4.3: "Both the action and done experts read from the shared backbone, but no cross-attention or feature
exchange between the two experts." So the done head reads only the backbone's prefix (state, prompt, cameras),
never the flow experts: the valid prefix tokens are mean-pooled, then a LayerNorm and a two-layer MLP give one logit
per sample. It is trained with a focal loss on success data (``learn.done_loss``) beside the flow loss, and exported
as its own ``done`` graph (observation → probability), run once per chunk.

Example:
    >>> import torch
    >>> from failforward.policy.afil.backbone import Prefix
    >>> head = DoneHead(width=32)
    >>> prefix = Prefix(torch.zeros(2, 5, 32), torch.ones(2, 5, dtype=torch.bool))
    >>> head(prefix).shape
    torch.Size([2])
"""

from __future__ import annotations

import torch
from torch import nn

from failforward.policy.afil.backbone import Prefix


class DoneHead(nn.Module):
    """Prefix ``[B, P, D]`` (mask ``bool [B, P]``) → end-of-edge logit ``[B]`` (masked mean, LayerNorm, MLP)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.GELU(approximate="tanh"), nn.Linear(width, 1))

    def forward(self, prefix: Prefix) -> torch.Tensor:
        valid = prefix.mask.to(prefix.tokens.dtype)[:, :, None]  # [B, P, 1]
        pooled = (prefix.tokens * valid).sum(dim=1) / valid.sum(dim=1).clamp_min(1.0)
        return self.mlp(self.norm(pooled))[:, 0]
