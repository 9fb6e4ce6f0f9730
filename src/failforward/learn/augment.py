"""Image augmentation for training vision policies: random shift (DrQ; diffusion policy's random crop).

Each camera image of each sample moves by an integer offset ``(dx, dy) ~ U{−pad, …, pad}²`` [pixels] with
edge pixels repeated: the same as padding by ``pad`` with replicated borders and cropping back to
``H × W`` at a random corner. Training only; inference sees the unshifted frame.

Example:
    >>> import torch
    >>> images = torch.zeros(2, 3, 24, 32, 3, dtype=torch.uint8)
    >>> random_shift(images, 4, torch.Generator().manual_seed(0)).shape
    torch.Size([2, 3, 24, 32, 3])
"""

from __future__ import annotations

import torch


def random_shift(images: torch.Tensor, pad: int, generator: torch.Generator) -> torch.Tensor:
    """Shift ``images uint8 [B, C, H, W, 3]`` by a random ``(dx, dy) ∈ [−pad, pad]²`` per sample and camera.

    Output pixel ``(y, x)`` is input pixel ``(clip(y + dy), clip(x + dx))``; ``pad = 0`` returns ``images``.
    Draws ``B·C·2`` integers from ``generator`` (nothing when ``pad = 0``).
    """
    if pad == 0:
        return images
    b, c, h, w, _ = images.shape
    shift = torch.randint(-pad, pad + 1, (b, c, 2), generator=generator)
    rows = (torch.arange(h)[None, None, :] + shift[:, :, 1:2]).clamp(0, h - 1)  # [B, C, H]
    cols = (torch.arange(w)[None, None, :] + shift[:, :, 0:1]).clamp(0, w - 1)  # [B, C, W]
    bi = torch.arange(b)[:, None, None, None]
    ci = torch.arange(c)[None, :, None, None]
    return images[bi, ci, rows[:, :, :, None], cols[:, :, None, :]]
