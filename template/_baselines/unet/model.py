"""The U-Net baseline: image reconstruction (denoising), without BatchNorm.

Two presets, simple to complex:
- `minimal`: one 3x3 convolution + ReLU, then a 3x3 output convolution. Start here and make
  the whole pipeline work before scaling up.
- `scaled` (default): a U-Net with `depth` down/up levels. Each level has two 3x3
  convolutions + ReLU; the encoder goes down with stride-2 convolutions (no max-pool), the
  decoder comes up with 2x2 transposed convolutions and concatenates the encoder's
  features of the same size (the skip connections). Filters: `width` at the first level,
  doubling per level up to `max_width` (64/128 by default, the reference's advice).
No BatchNorm anywhere: in reconstruction it changes the signal the output must reproduce
(the reference's advice), so every convolution keeps its bias.

`residual` (default on): the network predicts a correction that is added to the noisy
input, so an untrained model starts near the identity (the noisy PSNR) instead of at
noise. Measured on the default photos (`train --final`, 30 epochs): train PSNR 6 dB over
the noisy input after 5 epochs instead of 13, and test PSNR 28.2 dB instead of 27.4. The
input is normalised by the first module (statistics of the training split); the output is
in the target's units (pixel values), not normalised ones.

Input sizes (both presets): any image of C channels (1 gray, 3 RGB, or more) and any
height and width from 1 pixel up; the output has the input's size. The U-Net has no
downsampling stem, unlike the classifiers: a denoiser answers per pixel, and detail a stem
threw away the decoder could not restore, so a 224x224 image costs 49 times a 32x32 one
(cut large images into patches, `data.patch_size`). Sizes not divisible by 2**depth need
no padding: each stride-2 convolution rounds up (n -> ceil(n / 2)) and the decoder crops
its doubled maps back to the size of the skip connection they join.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from .layers import Normalize


@dataclass
class ModelConfig:
    preset: Literal["minimal", "scaled"] = "scaled"
    depth: int = 2
    width: int = 64
    max_width: int = 128
    residual: bool = True

    def problems(self) -> list[str]:
        """What is wrong with these values (empty when they are fine)."""
        return [
            message
            for ok, message in [
                (self.depth >= 1, "model.depth must be at least 1."),
                (self.width >= 1, "model.width must be at least 1."),
                (self.max_width >= self.width, "model.max_width must be at least model.width."),
            ]
            if not ok
        ]


def conv_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """Two 3x3 convolutions with bias, each followed by ReLU; the first may have stride 2."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """Encoder (stride-2 convolutions), decoder (transposed convolutions), skip connections."""

    def __init__(self, cfg: ModelConfig, channels: int, num_outputs: int) -> None:
        super().__init__()
        widths = [min(cfg.width * 2**level, cfg.max_width) for level in range(cfg.depth + 1)]
        self.normalize = Normalize()
        self.stem = conv_relu(channels, widths[0])
        self.down = nn.ModuleList(
            conv_relu(widths[i], widths[i + 1], stride=2) for i in range(cfg.depth)
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(cfg.depth)
        )
        self.merge = nn.ModuleList(conv_relu(2 * widths[i], widths[i]) for i in range(cfg.depth))
        self.head = nn.Conv2d(widths[0], num_outputs, 1)
        self.residual = cfg.residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(self.normalize(x))
        skips = []
        for down in self.down:
            skips.append(h)
            h = down(h)
        for level in reversed(range(len(self.up))):
            skip = skips[level]
            # crop: a stride-2 convolution rounds odd sizes up, the transposed one doubles
            h = self.up[level](h)[..., : skip.shape[-2], : skip.shape[-1]]
            h = self.merge[level](torch.cat([h, skip], dim=1))
        out = self.head(h)
        return x + out if self.residual else out


class Minimal(nn.Module):
    """One 3x3 convolution + ReLU, and a 3x3 convolution back to the image's channels."""

    def __init__(self, cfg: ModelConfig, channels: int, num_outputs: int) -> None:
        super().__init__()
        self.normalize = Normalize()
        self.conv = nn.Conv2d(channels, cfg.width, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.head = nn.Conv2d(cfg.width, num_outputs, 3, padding=1)
        self.residual = cfg.residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.relu(self.conv(self.normalize(x))))
        return x + out if self.residual else out


def build_model(cfg: ModelConfig, in_shape: tuple[int, ...], num_outputs: int) -> nn.Module:
    """Build the network for images of shape (C, H, W) and `num_outputs` output channels."""
    if cfg.residual and num_outputs != in_shape[0]:
        raise ValueError("model.residual needs as many output channels as input channels.")
    kind = Minimal if cfg.preset == "minimal" else UNet
    return kind(cfg, in_shape[0], num_outputs)
