"""A regression head for the chunk's mean; the flow experts then model the chunk around it (a *residual* flow).

A flow-matching loss sees each chunk through fresh noise ``x_0`` and time ``τ``: how the chunk depends on a few state
numbers (where the prompted plug lies) is a small part of a loss dominated by the noise, and the plug-strip System 1
did not learn it in 5.4 M samples (``README``, VINE). A squared error on the chunk itself has no such noise (measured
there: it helps once the labels hold the dependence, with moved-object DAgger labels; on the rollouts' labels alone it
did not). With ``AfilModelConfig.mean_head`` the model predicts ``μ(observation) [H, A]`` by regression (success
chunks), and both flow experts learn the residual ``x_1 − μ`` (``μ`` held fixed for them): a sample is ``μ + x̂``,
where ``x̂`` is the Euler integral of the (guided) residual field. Everything in normalized action space.

The head reads the model's normalized state (attached to the prefix by ``DualActionGenerator.encode``) and the
backbone's prefix tokens mean-pooled (the prompt's words and cameras mixed in): LayerNorm of the pooled tokens,
concatenated with the state, a two-hidden-layer MLP, ``H · A`` outputs.

Example:
    >>> import torch
    >>> from failforward.policy.afil.backbone import Prefix
    >>> from failforward.policy.afil.config import get_model_preset
    >>> config = get_model_preset("tiny_state").model_copy(update={"mean_head": True})
    >>> prefix = Prefix(torch.zeros(2, 5, config.width), torch.ones(2, 5, dtype=torch.bool), torch.zeros(2, 4))
    >>> MeanHead(config)(prefix).shape
    torch.Size([2, 8, 4])
"""

from __future__ import annotations

import torch
from torch import nn

from failforward.policy.afil.backbone import Prefix
from failforward.policy.afil.config import AfilModelConfig

HIDDEN_RATIO = 4  # hidden width as a multiple of the backbone's width


class MeanHead(nn.Module):
    """Prefix (tokens ``[B, P, D]``, mask ``[B, P]``, state ``[B, S]``) → the chunk's mean ``[B, H, A]`` float32."""

    def __init__(self, config: AfilModelConfig) -> None:
        super().__init__()
        d, hidden = config.width, HIDDEN_RATIO * config.width
        self.horizon, self.action_dim = config.horizon, config.action_dim
        self.norm = nn.LayerNorm(d)
        self.mlp = nn.Sequential(
            nn.Linear(d + config.input_state_dim, hidden),
            nn.GELU(approximate="tanh"),
            nn.Linear(hidden, hidden),
            nn.GELU(approximate="tanh"),
            nn.Linear(hidden, config.horizon * config.action_dim),
        )

    def forward(self, prefix: Prefix) -> torch.Tensor:
        if prefix.state is None:
            raise ValueError("the mean head reads the state: encode with DualActionGenerator.encode (mean_head)")
        valid = prefix.mask.to(prefix.tokens.dtype)[:, :, None]  # [B, P, 1]
        pooled = (prefix.tokens * valid).sum(dim=1) / valid.sum(dim=1).clamp_min(1.0)
        features = torch.cat([self.norm(pooled), prefix.state.to(pooled.dtype)], dim=1)
        return self.mlp(features).reshape(-1, self.horizon, self.action_dim).float()
