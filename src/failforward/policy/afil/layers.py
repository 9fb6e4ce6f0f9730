"""Transformer layers whose weights carry a leading *expert* axis ``E``.

Stacking the success and failure experts' weights on ``E`` lets one batched matmul evaluate both
heads per flow step (``E = 2``), or the success head alone (``E = 1``, weights ``[:1]``). The backbone
uses the same layers with ``E = 1``. Activations are ``[E, B, T, D]``; an input with ``E = 1`` is
broadcast against stacked weights. Written with plain matmul/softmax so they export to ONNX opset 17.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - torch convention

NEG_INF = -1e4  # additive bias of masked keys: exp(-1e4) is 0, and the value is finite in float16 too


def key_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive attention bias ``[B, S]`` from a key mask ``bool [B, S]`` (True = attend): 0 or ``NEG_INF``."""
    return (~mask).to(dtype) * NEG_INF


class StackedLinear(nn.Module):
    """``E`` independent linear maps: ``y[e] = x[e] @ W[e] + b[e]``; ``x: [E|1, B, T, D_in]``."""

    def __init__(self, experts: int, d_in: int, d_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(experts, 1, d_in, d_out))
        self.bias = nn.Parameter(torch.zeros(experts, 1, 1, d_out))
        bound = 1.0 / math.sqrt(d_in)
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, x: torch.Tensor, experts: int) -> torch.Tensor:
        """``x: [E|1, B, T, D_in] -> [E, B, T, D_out]`` using the first ``experts`` weight sets."""
        return torch.matmul(x, self.weight[:experts]) + self.bias[:experts]


class StackedLayerNorm(nn.Module):
    """Layer norm with per-expert affine parameters ``[E, 1, 1, D]``."""

    def __init__(self, experts: int, width: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(experts, 1, 1, width))
        self.bias = nn.Parameter(torch.zeros(experts, 1, 1, width))
        self.width = width

    def forward(self, x: torch.Tensor, experts: int) -> torch.Tensor:
        return F.layer_norm(x, (self.width,)) * self.weight[:experts] + self.bias[:experts]


def norm_linear(x: torch.Tensor, norm: StackedLayerNorm, linear: StackedLinear, experts: int) -> torch.Tensor:
    """``linear(norm(x))``, ``x: [E|1, B, T, D_in] -> [E, B, T, D_out]``.

    An ONNX export folds the norm's affine into the linear map, ``(n·g + β) W + b = n (g ⊙ W) + (β W + b)``
    with ``n`` the plain layer norm: the exporter computes the folded weights once (constant folding),
    and every Euler step saves an elementwise Mul and Add. The same function, to float32 rounding.
    """
    if not torch.onnx.is_in_onnx_export():
        return linear(norm(x, experts), experts)
    weight = linear.weight[:experts]  # [E, 1, D_in, D_out]
    folded = norm.weight[:experts].transpose(-1, -2) * weight
    bias = torch.matmul(norm.bias[:experts], weight) + linear.bias[:experts]
    return torch.matmul(F.layer_norm(x, (norm.width,)), folded) + bias


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None, heads: int) -> torch.Tensor:
    """Multi-head attention. ``q: [E, B, T, D]``, ``k, v: [E|1, B, S, D]``, ``bias: [B, S]`` additive."""
    e, b, t, d = q.shape
    dh = d // heads
    qh = q.reshape(e, b, t, heads, dh).transpose(2, 3)
    kh = k.reshape(k.shape[0], b, -1, heads, dh).transpose(2, 3)
    vh = v.reshape(v.shape[0], b, -1, heads, dh).transpose(2, 3)
    scores = torch.matmul(qh, kh.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
    if bias is not None:
        scores = scores + bias[None, :, None, None, :]
    out = torch.matmul(torch.softmax(scores, dim=-1), vh)
    return out.transpose(2, 3).reshape(e, b, t, d)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GELU, tanh approximation: ``x · ½ · (1 + tanh(√(2/π) · x · (1 + 0.044715 x²)))``.

    Eager runs ``F.gelu(approximate="tanh")``; an ONNX export writes the formula in the form that
    onnxruntime's FastGeluFusion recognises (one fused kernel instead of eight elementwise nodes). The
    same function either way, to float32 rounding.
    """
    if not torch.onnx.is_in_onnx_export():
        return F.gelu(x, approximate="tanh")
    return x * 0.5 * (1.0 + torch.tanh(_SQRT_2_OVER_PI * x * (1.0 + 0.044715 * x * x)))


class StackedMLP(nn.Module):
    """``Linear → GELU(tanh) → Linear`` per expert."""

    def __init__(self, experts: int, width: int, ratio: int) -> None:
        super().__init__()
        self.up = StackedLinear(experts, width, width * ratio)
        self.down = StackedLinear(experts, width * ratio, width)

    def forward(self, x: torch.Tensor, experts: int, norm: StackedLayerNorm | None = None) -> torch.Tensor:
        """``x: [E|1, B, T, D] -> [E, B, T, D]``; with ``norm``, ``mlp(norm(x))`` (see :func:`norm_linear`)."""
        h = self.up(x, experts) if norm is None else norm_linear(x, norm, self.up, experts)
        return self.down(gelu_tanh(h), experts)


class SelfAttentionBlock(nn.Module):
    """Pre-norm transformer block (self-attention + MLP) with stacked weights."""

    def __init__(self, experts: int, width: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = StackedLayerNorm(experts, width)
        self.qkv = StackedLinear(experts, width, 3 * width)
        self.proj = StackedLinear(experts, width, width)
        self.norm2 = StackedLayerNorm(experts, width)
        self.mlp = StackedMLP(experts, width, mlp_ratio)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None, experts: int) -> torch.Tensor:
        """``x: [E, B, T, D]``, ``bias: [B, T]`` additive key mask."""
        q, k, v = norm_linear(x, self.norm1, self.qkv, experts).chunk(3, dim=-1)
        x = x + self.proj(attention(q, k, v, bias, self.heads), experts)
        return x + self.mlp(x, experts, norm=self.norm2)


def sinusoidal_embedding(tau: torch.Tensor, width: int) -> torch.Tensor:
    """Flow time ``τ [B]`` in [0, 1] → ``[B, width]`` sin/cos features, frequencies 1 … 1000 rad per unit τ."""
    half = width // 2
    freqs = torch.exp(torch.arange(half, dtype=tau.dtype, device=tau.device) * (math.log(1000.0) / max(half - 1, 1)))
    angles = tau[:, None] * freqs[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
