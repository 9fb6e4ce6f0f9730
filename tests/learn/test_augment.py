"""Random-shift augmentation: each image moves by its own offset within ±pad, borders repeat, seeded."""

from __future__ import annotations

import torch

from failforward.learn.augment import random_shift


def _ramp(b: int = 3, c: int = 2, h: int = 10, w: int = 12) -> torch.Tensor:
    """Images whose red channel is the column and green channel the row (so a shift can be read back)."""
    cols = torch.arange(w).expand(h, w)
    rows = torch.arange(h)[:, None].expand(h, w)
    img = torch.stack([cols, rows, torch.zeros_like(cols)], dim=-1).to(torch.uint8)
    return img.expand(b, c, h, w, 3).clone()


def test_each_image_is_a_clipped_shift_within_pad():
    images = _ramp()
    out = random_shift(images, 3, torch.Generator().manual_seed(0))
    shifts = set()
    for b in range(3):
        for c in range(2):
            dx = int(out[b, c, 5, 6, 0]) - 6  # interior pixel: no clipping for |shift| <= 3
            dy = int(out[b, c, 5, 6, 1]) - 5
            assert abs(dx) <= 3 and abs(dy) <= 3
            want_x = (torch.arange(12) + dx).clamp(0, 11)
            want_y = (torch.arange(10) + dy).clamp(0, 9)
            assert torch.equal(out[b, c, 0, :, 0], want_x.to(torch.uint8))
            assert torch.equal(out[b, c, :, 0, 1], want_y.to(torch.uint8))
            shifts.add((dx, dy))
    assert len(shifts) > 1  # samples and cameras get their own offsets


def test_same_generator_state_same_shift_and_zero_pad_is_identity():
    images = _ramp()
    a = random_shift(images, 4, torch.Generator().manual_seed(7))
    b = random_shift(images, 4, torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and a.dtype == torch.uint8 and a.shape == images.shape
    assert random_shift(images, 0, torch.Generator()) is images
