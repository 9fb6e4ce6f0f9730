"""Two flow-matching action experts of one architecture, weights stacked on an expert axis.

Expert 0 is the success head, expert 1 the failure head. Each predicts the velocity ``v(x_τ, τ)``
of a whole chunk ``[H, A]`` while cross-attending to the backbone's prefix. Evaluating both costs one
batched call (``experts=2``); the unguided sampler asks for ``experts=1`` (success head only).
A failure head of another shape than the success head (``AfilModelConfig.failure_*``) cannot share the
stacked weights: :class:`SeparateFlowExperts` (``separate_experts``) then runs two one-head stacks.

Flow time is per chunk row: ``τ [B]`` (one time for every row) or ``τ [B, H]`` (training-time real-time
chunking, arXiv 2512.05964: the rows of a clean action prefix carry τ = 1). The time features are added to
each row's token, so both cases use the same weights; ``[B]`` is the ``[B, H]`` case with equal rows.
"""

from __future__ import annotations

from typing import NamedTuple, cast

import torch
from torch import nn

from failforward.policy.afil.backbone import Prefix
from failforward.policy.afil.config import AfilModelConfig, ExpertShape
from failforward.policy.afil.layers import (
    SelfAttentionBlock,
    StackedLayerNorm,
    StackedLinear,
    StackedMLP,
    attention,
    gelu_tanh,
    key_bias,
    norm_linear,
    sinusoidal_embedding,
)

SUCCESS, FAILURE = 0, 1
NUM_EXPERTS = 2


class PrefixCache(NamedTuple):
    """Per-chunk cross-attention inputs: keys and values ``[L, E, B, P, D]`` and key bias ``[B, P]``.

    A separate (light) failure head adds its own ``failure_keys, failure_values [L_f, 1, B, P, D_f]``; then
    ``keys, values`` are the success head's alone (``E = 1``). ``None`` for stacked heads or success only.
    ``rows [E, B, 1, D]`` (``failure_rows [1, B, 1, D_f]`` for a separate failure head): the projected state added to
    every chunk row (``AfilModelConfig.state_in_rows``); ``None`` without it.
    """

    keys: torch.Tensor
    values: torch.Tensor
    bias: torch.Tensor
    failure_keys: torch.Tensor | None = None
    failure_values: torch.Tensor | None = None
    rows: torch.Tensor | None = None
    failure_rows: torch.Tensor | None = None


class ExpertBlock(nn.Module):
    """Self-attention over the chunk (unless ``shape.self_attention`` is off), cross-attention to the prefix,
    MLP (all pre-norm, stacked)."""

    def __init__(self, shape: ExpertShape, experts: int = NUM_EXPERTS) -> None:
        super().__init__()
        e, d = experts, shape.width
        self.heads = shape.attn_heads
        self.self_block = SelfAttentionBlock(e, d, shape.attn_heads, shape.mlp_ratio) if shape.self_attention else None
        self.cross_norm = StackedLayerNorm(e, d)
        self.cross_q = StackedLinear(e, d, d)
        self.cross_kv = StackedLinear(e, d, 2 * d)
        self.cross_proj = StackedLinear(e, d, d)
        self.norm = StackedLayerNorm(e, d)
        self.mlp = StackedMLP(e, d, shape.mlp_ratio)

    def prefix_kv(self, prefix: torch.Tensor, experts: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``prefix: [E|1, B, P, D]`` → keys, values ``[E, B, P, D]``."""
        k, v = self.cross_kv(prefix, experts).chunk(2, dim=-1)
        return k, v

    def forward(
        self, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor, experts: int
    ) -> torch.Tensor:
        """``x: [E, B, H, D]`` → ``[E, B, H, D]``."""
        if self.self_block is not None:
            x = self.self_block(x, None, experts)
        q = norm_linear(x, self.cross_norm, self.cross_q, experts)
        x = x + self.cross_proj(attention(q, k, v, bias, self.heads), experts)
        return x + self.mlp(x, experts, norm=self.norm)


class DualFlowExperts(nn.Module):
    """Success and failure velocity heads ``v_e(x_τ, τ | prefix)``, e ∈ {success, failure}, stacked weights.

    Args:
        config: model shape (action size, horizon, backbone width).
        experts: heads stacked on the weights' expert axis (2: success + failure; 1: one head alone).
        shape: the heads' shape; default the success expert's. A width other than the backbone's adds
            ``prefix_in``, a linear projection of the prefix tokens ``D → D_e`` before the cross-attention.
    """

    def __init__(self, config: AfilModelConfig, experts: int = NUM_EXPERTS, shape: ExpertShape | None = None) -> None:
        super().__init__()
        shape = shape or config.success_expert
        e, d = experts, shape.width
        self.width = d
        self.prefix_in = StackedLinear(e, config.width, d) if d != config.width else None
        self.action_in = StackedLinear(e, config.action_dim, d)
        self.state_in = StackedLinear(e, config.input_state_dim, d) if config.state_in_rows else None
        self.chunk_pos = nn.Parameter(torch.randn(e, 1, config.horizon, d) * 0.02)
        self.time_in = StackedLinear(e, d, d)
        self.time_out = StackedLinear(e, d, d)
        self.blocks = nn.ModuleList(ExpertBlock(shape, e) for _ in range(shape.layers))
        self.out_norm = StackedLayerNorm(e, d)
        self.action_out = StackedLinear(e, d, config.action_dim)

    def cache(self, prefix: Prefix, experts: int = NUM_EXPERTS) -> PrefixCache:
        """Cross-attention keys/values of the prefix (and the state's row term), computed once per chunk."""
        tokens = prefix.tokens[None] if self.prefix_in is None else self.prefix_in(prefix.tokens[None], experts)
        kv = [cast(ExpertBlock, block).prefix_kv(tokens, experts) for block in self.blocks]
        keys = torch.stack([k for k, _ in kv])
        values = torch.stack([v for _, v in kv])
        bias = key_bias(prefix.mask, prefix.tokens.dtype)
        return PrefixCache(keys, values, bias, rows=self.state_rows(prefix, experts))

    def state_rows(self, prefix: Prefix, experts: int) -> torch.Tensor | None:
        """The state's term of every chunk row ``[E, B, 1, D]`` (``None`` for experts built without ``state_in_rows``).

        Raises:
            ValueError: the experts read the state but ``prefix.state`` is ``None`` (encode with the model).
        """
        if self.state_in is None:
            return None
        if prefix.state is None:
            raise ValueError("these experts read the state directly (state_in_rows); encode with the model's encode()")
        return self.state_in(prefix.state.to(self.chunk_pos.dtype)[None, :, None, :], experts)

    def time_features(self, tau: torch.Tensor, experts: int) -> torch.Tensor:
        """Flow-time conditioning ``τ [K]`` → ``[E, K, 1, D]`` (E = ``experts``).

        It depends on τ only, so a sampler computes it for all N Euler times in one call per chunk
        (``K = N``) and feeds row ``k`` to :meth:`velocity` at step ``k``.
        """
        dtype = self.chunk_pos.dtype  # float16 graphs: τ features are computed in float32, then cast
        t = sinusoidal_embedding(tau.float(), self.width).to(dtype)[None, :, None, :]
        return self.time_out(gelu_tanh(self.time_in(t, experts)), experts)

    def row_time_features(self, tau: torch.Tensor, experts: int) -> torch.Tensor:
        """Per-row flow-time conditioning ``τ [B, H]`` → ``[E, B, H, D]`` (same weights as :meth:`time_features`)."""
        b, h = tau.shape
        return self.time_features(tau.reshape(-1), experts).reshape(experts, b, h, self.width)

    def velocity(self, x: torch.Tensor, time: torch.Tensor, cache: PrefixCache, experts: int) -> torch.Tensor:
        """Velocities of the first ``experts`` heads from precomputed time features.

        Args:
            x: noisy chunk ``x_τ [B, H, A]`` (normalized action space).
            time: ``[E, B|1, 1|H, D]`` time features for this step: rows of :meth:`time_features` (one τ per
                sample) or :meth:`row_time_features` / :func:`prefix_time` (one τ per chunk row).
            cache: from :meth:`cache` with at least ``experts`` heads.
            experts: 2 for (success, failure), 1 for success only.

        Returns:
            ``[E, B, H, A]`` float32 velocities, E = ``experts``.
        """
        h = self.action_in(x.to(self.chunk_pos.dtype)[None], experts) + self.chunk_pos[:experts] + time
        if cache.rows is not None:
            h = h + cache.rows[:experts]
        for i, block in enumerate(self.blocks):
            h = block(h, cache.keys[i, :experts], cache.values[i, :experts], cache.bias, experts)
        return norm_linear(h, self.out_norm, self.action_out, experts).float()

    def forward(self, x: torch.Tensor, tau: torch.Tensor, cache: PrefixCache, experts: int) -> torch.Tensor:
        """Velocities of the first ``experts`` heads: ``x_τ [B, H, A]``, ``τ [B]`` or ``[B, H]`` → ``[E, B, H, A]``.

        ``cache`` comes from :meth:`cache` with at least ``experts`` heads; ``experts`` is 2 for
        (success, failure), 1 for success only. Same as :meth:`velocity` with the time features of ``τ``.
        """
        time = self.row_time_features(tau, experts) if tau.dim() == 2 else self.time_features(tau, experts)
        return self.velocity(x, time, cache, experts)


def prefix_time(step: torch.Tensor, clean: torch.Tensor, frozen: torch.Tensor) -> torch.Tensor:
    """Time features per chunk row: ``clean`` (τ = 1) on frozen prefix rows, ``step`` (this step's τ) elsewhere.

    Args:
        step: ``[E, B|1, 1, D]`` features of the Euler step's τ.
        clean: ``[E, 1, 1, D]`` features of τ = 1.
        frozen: ``bool [B, H]``, True on the rows of the clean action prefix.

    Returns:
        ``[E, B, H, D]``.
    """
    return torch.where(frozen[None, :, :, None], clean, step)
