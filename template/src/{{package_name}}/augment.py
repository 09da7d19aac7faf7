"""Data augmentation: random, label-safe changes to each training batch, on its device.

`augment` takes the whole batch at once (no per-sample Python loop), so it costs little
beside the forward pass. What applies follows the task and the data's shape:
- images (N, C, H, W), classification: shift each by up to `shift` pixels (zero fill),
  cut out a random `cutout` square, add `noise`. No flips or turns: a mirrored 2 is not
  a 2, and a 6 turned around is a 9;
- sequences (N, C, L), classification: shift in time by up to `shift` steps, add `noise`;
- reconstruction (y is the clean image): the same random flip and 90-degree turn of x and
  y together (`flip`), so input and target stay aligned; the noise is the data's own.
Only training batches change; evaluation sees the data as it is. The capacity check
(`overfit`) turns it off, as it does all regularisation. Training on pre-computed
activations of frozen layers needs `augment.enabled=false`: they were computed once, from
the inputs as they are.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from . import task
from .config import AugmentConfig
from .lifecycle import NoAugment


def augment(
    x: torch.Tensor, y: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A randomly changed copy of the batch (x, y); `gen` lives on the batch's device."""
    if not task.LABELLED:  # x and y are images: move them together
        both = torch.cat([x, y], dim=1)
        if cfg.flip:
            both = _flip_and_turn(both, gen)
        return both[:, : x.shape[1]], both[:, x.shape[1] :]
    for dim in range(2, x.ndim):  # time, or height and width
        x = _shift(x, dim, cfg.shift, gen)
    if cfg.cutout and x.ndim == 4:
        x = _cutout(x, cfg.cutout, gen)
    if cfg.noise:
        x = x + cfg.noise * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    return x, y


class Augmenter(NoAugment):
    """The loop's augmentation step: `x, y = augment(x, y)` with its own random generator
    on the training device, seeded from train.seed and saved in checkpoints (exact resume)."""

    def __init__(self, cfg: AugmentConfig, seed: int, device: torch.device) -> None:
        self.cfg = cfg
        self.gen = torch.Generator(device).manual_seed(seed)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return augment(x, y, self.cfg, self.gen)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.gen.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "rng" in state:  # absent when the run trained without augmentation until now
            self.gen.set_state(state["rng"].cpu())


def _draw(n: int, high: int, gen: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    """n random integers in [0, high) on x's device."""
    return torch.randint(high, (n,), generator=gen, device=x.device)


def _shift(x: torch.Tensor, dim: int, most: int, gen: torch.Generator) -> torch.Tensor:
    """Move each sample along `dim` by its own offset in [-most, most], filling with zeros."""
    if most == 0:
        return x
    padded = F.pad(x, [0, 0] * (x.ndim - 1 - dim) + [most, most])
    offsets = _draw(len(x), 2 * most + 1, gen, x).view(-1, *[1] * (x.ndim - 1))
    steps = torch.arange(x.shape[dim], device=x.device).view(
        *[x.shape[dim] if d == dim else 1 for d in range(x.ndim)]
    )
    return padded.gather(dim, (steps + offsets).expand(x.shape))


def _cutout(x: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """Zero a size x size square (clipped at the border) around a random pixel of each image."""
    n, _, h, w = x.shape
    rows = torch.arange(h, device=x.device) - _draw(n, h, gen, x)[:, None] + size // 2
    cols = torch.arange(w, device=x.device) - _draw(n, w, gen, x)[:, None] + size // 2
    inside = ((rows >= 0) & (rows < size))[:, :, None] & ((cols >= 0) & (cols < size))[:, None]
    return x * ~inside[:, None]


def _flip_and_turn(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror half the images; turn square ones by 0, 90, 180 or 270 degrees at random."""
    pick = _draw(len(x), 8, gen, x).view(-1, 1, 1, 1)
    x = torch.where(pick % 2 == 1, x.flip(-1), x)
    if x.shape[-1] == x.shape[-2]:
        x = torch.where(pick // 2 % 2 == 1, x.rot90(1, (-2, -1)), x)
        x = torch.where(pick // 4 == 1, x.rot90(2, (-2, -1)), x)
    return x
