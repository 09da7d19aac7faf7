"""Layers that every baseline shares."""

from __future__ import annotations

import torch
from torch import nn


class Normalize(nn.Module):
    """Standardise inputs with fixed statistics of the training split (saved with the weights).

    The reference's advice: normalise the input data (or use BatchNorm as the first layer).
    Keeping the statistics in the model makes every checkpoint self-contained.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(0.0))
        self.register_buffer("std", torch.tensor(1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def set_input_stats(model: nn.Module, x: torch.Tensor) -> None:
    """Set every Normalize layer of `model` to the mean and std of `x`."""
    set_normalize(model, x.float().mean().item(), x.float().std().item())


def set_normalize(model: nn.Module, mean: float, std: float) -> None:
    """Set every Normalize layer of `model` to subtract `mean` and divide by `std` (1 when
    it is 0: constant inputs)."""
    for layer in model.modules():
        if isinstance(layer, Normalize):
            layer.mean.fill_(mean)
            layer.std.fill_(std or 1.0)


STEM_LIMIT = 32  # the stem halves an image until its larger side is at most this


def stem_steps(size: tuple[int, ...], limit: int = STEM_LIMIT) -> int:
    """Stride-2 steps that bring the larger side of an (H, W) image to at most `limit`.

    Each step maps a side of n pixels to ceil(n / 2) (3x3, stride 2, padding 1), so any
    size works, odd ones included: 8 and 32 take none (the stem is then absent), 64 one,
    224 three (112, 56, 28).
    """
    side, steps = max(size, default=1), 0
    while side > limit:
        side, steps = (side + 1) // 2, steps + 1
    return steps


def halved(size: int, steps: int) -> int:
    """A side of `size` pixels after `steps` stride-2 steps."""
    for _ in range(steps):
        size = (size + 1) // 2
    return size
