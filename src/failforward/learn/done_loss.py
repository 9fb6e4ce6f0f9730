"""The done head's objective (VINE §4.3): a binary focal loss on the end-of-edge label, success data only.

``L = −α y (1 − p)^γ log p − (1 − α)(1 − y) p^γ log(1 − p)``, averaged over the samples whose label is known
(ticks of successful subgoal segments, ``learn.vine.system1``); failed segments train no done label, as VINE trains
System 1 on success data. Focal weighting matters here: a subgoal's end is a few ticks among hundreds.

Example:
    >>> import torch
    >>> loss = focal_loss(torch.zeros(4), torch.tensor([1.0, 0, 0, 0]), torch.ones(4, dtype=torch.bool))
    >>> round(float(loss), 4)
    0.1083
"""

from __future__ import annotations

import torch
from torch.nn import functional

ALPHA = 0.25  # weight of the positive (end-of-edge) class, RetinaNet's default
GAMMA = 2.0  # focusing exponent γ_d


def focal_loss(
    logits: torch.Tensor, labels: torch.Tensor, known: torch.Tensor, alpha: float = ALPHA, gamma: float = GAMMA
) -> torch.Tensor:
    """Mean focal loss over ``known`` samples (``logits, labels [B]`` with labels in {0, 1}, ``known bool [B]``);
    0 when no label is known."""
    p = torch.sigmoid(logits)
    ce = functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    p_true = labels * p + (1 - labels) * (1 - p)
    weight = labels * alpha + (1 - labels) * (1 - alpha)
    per_sample = weight * (1 - p_true) ** gamma * ce * known.to(logits.dtype)
    return per_sample.sum() / known.sum().clamp_min(1).to(logits.dtype)
