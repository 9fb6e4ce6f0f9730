"""Small convolutional image encoder: a ResNet trunk with GroupNorm and a spatial softmax, one token per camera.

The small-data visual imitation recipe: diffusion policy's ResNet with GroupNorm instead of BatchNorm (batch
statistics break with EMA/small batches and at inference), robomimic's spatial softmax (each of ``K``
feature maps becomes the expected image position of its activation, a keypoint). Sized for CPU training:
two stride-2 convolutions then two residual blocks at 1/4 resolution, ``conv_channels`` wide.

Images ``uint8 [B, C, H, W, 3]`` (RGB, ``C`` cameras in ``AfilModelConfig.cameras`` order) →
tokens ``[B, C, D]``: the ``K`` keypoints ``(x, y) ∈ [-1, 1]²`` of each camera (x right, y down, in the
image frame), flattened to ``2K`` numbers, through a two-layer MLP, plus a learned per-camera embedding.
Every camera shares the trunk. Plain torch ops that export to ONNX opset 17.

Example:
    >>> import torch
    >>> from failforward.policy.afil.config import get_model_preset
    >>> enc = ConvImageEncoder(get_model_preset("tiny_vision_conv"))
    >>> enc(torch.zeros(2, 3, 24, 32, 3, dtype=torch.uint8)).shape
    torch.Size([2, 3, 32])
"""

from __future__ import annotations

import torch
from torch import nn

from failforward.policy.afil.config import AfilModelConfig


def _norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with groups of 8 channels (at least one group)."""
    return nn.GroupNorm(max(1, channels // 8), channels)


class ResidualBlock(nn.Module):
    """Two 3×3 convolutions with GroupNorm and an identity skip: ``[N, c, h, w] → [N, c, h, w]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            _norm(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            _norm(channels),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class SpatialSoftmax(nn.Module):
    """Feature maps ``[N, K, h, w]`` → keypoints ``[N, K, 2]``: the softmax-weighted mean pixel position
    ``(x, y)`` of each map, in normalized image coordinates ``[-1, 1]`` (pixel centres, x right, y down)."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        self.register_buffer("grid", torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        n, k = features.shape[:2]
        attention = torch.softmax(features.reshape(n, k, -1), dim=-1)  # [N, K, h·w]
        return torch.matmul(attention, self.grid)  # [N, K, 2]


def _trunk_size(size: int) -> int:
    """Side after two 3×3 stride-2 convolutions with padding 1 [pixels]."""
    for _ in range(2):
        size = (size + 1) // 2
    return size


class ConvImageEncoder(nn.Module):
    """Images ``uint8 [B, C, H, W, 3]`` → one token per camera ``[B, C, D]`` (see the module docstring)."""

    def __init__(self, config: AfilModelConfig) -> None:
        super().__init__()
        c, k, d = config.conv_channels, config.keypoints, config.width
        self.trunk = nn.Sequential(
            nn.Conv2d(3, c, 3, stride=2, padding=1, bias=False),
            _norm(c),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False),
            _norm(c),
            nn.ReLU(),
            ResidualBlock(c),
            ResidualBlock(c),
            nn.Conv2d(c, k, 1),
        )
        self.keypoints = SpatialSoftmax(_trunk_size(config.image_height), _trunk_size(config.image_width))
        self.project = nn.Sequential(nn.Linear(2 * k, d), nn.GELU(approximate="tanh"), nn.Linear(d, d))
        self.camera = nn.Parameter(torch.randn(1, len(config.cameras), d) * 0.02)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        b, c, h, w, _ = images.shape
        x = images.reshape(b * c, h, w, 3).permute(0, 3, 1, 2).to(self.camera.dtype) * (2.0 / 255.0) - 1.0
        points = self.keypoints(self.trunk(x))  # [B·C, K, 2]
        tokens = self.project(points.reshape(b, c, -1))  # [B, C, D]
        return tokens + self.camera
