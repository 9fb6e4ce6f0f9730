"""Reference computation of AFIL sampling, written the slow, obvious way, for the equality tests.

It reads the parameters of a :class:`DualActionGenerator` and evaluates each expert head on its own
(no expert axis, no batching of heads), recomputing everything at every Euler step: the τ embedding,
the time MLP and the cross-attention keys/values of the prefix. The optimised paths (heads batched,
keys/values and τ conditioning once per chunk, exported graphs) must equal it within 1e-5.
The backbone is reused as is: nothing about it is cached or reordered.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F  # noqa: N812 - torch convention

from failforward.policy.afil import DualActionGenerator, GuidanceConfig, GuidanceMode


def _linear(x: torch.Tensor, layer: torch.nn.Module, e: int) -> torch.Tensor:
    return x @ layer.weight[e, 0] + layer.bias[e, 0, 0]


def _norm(x: torch.Tensor, layer: torch.nn.Module, e: int) -> torch.Tensor:
    return F.layer_norm(x, (x.shape[-1],)) * layer.weight[e, 0, 0] + layer.bias[e, 0, 0]


def _mlp(x: torch.Tensor, mlp: torch.nn.Module, e: int) -> torch.Tensor:
    return _linear(F.gelu(_linear(x, mlp.up, e), approximate="tanh"), mlp.down, e)


def _attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None, heads: int
) -> torch.Tensor:
    """``q [B, T, D]``, ``k, v [B, S, D]``, ``key_mask bool [B, S]`` (True = attend) → ``[B, T, D]``."""
    b, t, d = q.shape
    dh = d // heads
    split = lambda z: z.reshape(b, z.shape[1], heads, dh).permute(0, 2, 1, 3)  # noqa: E731
    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(dh)
    if key_mask is not None:
        scores = scores.masked_fill(~key_mask[:, None, None, :], float("-inf"))
    return (scores.softmax(-1) @ split(v)).permute(0, 2, 1, 3).reshape(b, t, d)


def head_velocity(
    model: DualActionGenerator, e: int, x: torch.Tensor, tau: torch.Tensor, prefix: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Velocity of head ``e`` (0 success, 1 failure).

    ``x [B, H, A]``, ``τ [B]``, ``prefix [B, P, D]``, ``mask bool [B, P]`` → ``[B, H, A]``.
    """
    ex, cfg = model.experts, model.config
    half = cfg.width // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * (math.log(1000.0) / max(half - 1, 1)))
    angles = tau[:, None] * freqs[None, :]
    t = torch.cat([angles.sin(), angles.cos()], dim=-1)
    t = _linear(F.gelu(_linear(t, ex.time_in, e), approximate="tanh"), ex.time_out, e)
    h = _linear(x, ex.action_in, e) + ex.chunk_pos[e, 0] + t[:, None, :]
    for block in ex.blocks:
        sb = block.self_block
        q, k, v = _linear(_norm(h, sb.norm1, e), sb.qkv, e).chunk(3, dim=-1)
        h = h + _linear(_attend(q, k, v, None, cfg.attn_heads), sb.proj, e)
        h = h + _mlp(_norm(h, sb.norm2, e), sb.mlp, e)
        pk, pv = _linear(prefix, block.cross_kv, e).chunk(2, dim=-1)  # recomputed every step on purpose
        q = _linear(_norm(h, block.cross_norm, e), block.cross_q, e)
        h = h + _linear(_attend(q, pk, pv, mask, cfg.attn_heads), block.cross_proj, e)
        h = h + _mlp(_norm(h, block.norm, e), block.mlp, e)
    return _linear(_norm(h, ex.out_norm, e), ex.action_out, e)


@torch.no_grad()
def reference_sample(
    model: DualActionGenerator,
    obs: dict[str, torch.Tensor],
    noise: torch.Tensor,
    num_steps: int,
    guidance: GuidanceConfig,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Euler sampling ``τ_k = k/N``, ``x ← x + v/N``; returns ``(x_1 [B, H, A], λ trace [B, N])``."""
    prefix = model.encode(obs["state"], obs, obs.get("images"))
    static, gamma, clamp = guidance.coefficients()
    x, lambdas = noise.float(), []
    for k in range(num_steps):
        tau = torch.full((x.shape[0],), k / num_steps, dtype=torch.float32)
        v_s = head_velocity(model, 0, x, tau, prefix.tokens, prefix.mask)
        lam = torch.zeros(x.shape[0])
        if guidance.mode is not GuidanceMode.NONE:
            v_f = head_velocity(model, 1, x, tau, prefix.tokens, prefix.mask)
            cos = F.cosine_similarity(v_s.flatten(1), v_f.flatten(1), dim=1, eps=1e-8)
            lam = (static + gamma * (1.0 - cos) / 2).clamp(0.0, clamp)
            v_s = v_s + lam[:, None, None] * (v_s - v_f)
        x = x + v_s / num_steps
        lambdas.append(lam)
    return x, torch.stack(lambdas, dim=1)
