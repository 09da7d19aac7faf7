"""The depthwise-separable ResNet baseline: image classification.

The reference's advice: "make ResNets a go-to model and replace all the convolutions with
depth-separable convolutions". Every convolution after the stem is depthwise-separable: a
3x3 depthwise convolution (`groups` = channels, one filter per channel) then a 1x1
pointwise convolution that mixes the channels, with no activation between the two.

Two presets, simple to complex:
- `minimal`: one depthwise-separable convolution + ReLU and a linear classifier over its
  feature map. Start here and make the whole pipeline work before scaling up.
- `scaled` (default): a full 3x3 stem convolution of `width` filters, then `depth` residual
  blocks of two separable convolutions each: the first half at `width` (64) channels, the
  second half at 2*`width` (128), entered by a stride-2 block (no max-pooling) whose
  shortcut is a strided 1x1 projection; every other shortcut is the identity. BatchNorm is
  behind a switch (no bias in a convolution that BatchNorm follows), ReLU comes before
  BatchNorm unless `bn_order` says otherwise, and a global-average-pooling head replaces
  large fully connected layers.
The stem is the one full convolution: on 1-3 input channels a depthwise convolution would
learn only 1-3 filters, while the full one costs just 9 * channels * width weights.
Inputs are normalised by the first module, with statistics of the training split.

Input sizes (both presets): any image of C channels (1 gray, 3 RGB, or more) and any
height and width from 1 pixel up. Images larger than 32 pixels on their larger side get a
downsampling stem first: full 3x3 convolutions of `width` filters at stride 2 (each with
its ReLU/BatchNorm), as many as halve that side to at most 32 (64 -> 32 takes one,
224 -> 112 -> 56 -> 28 three; `layers.stem_steps`). At 32 pixels and below there is no
such stem, so the default data's model is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from .layers import Normalize, halved, stem_steps


@dataclass
class ModelConfig:
    preset: Literal["minimal", "scaled"] = "scaled"
    depth: int = 4
    width: int = 64
    batchnorm: bool = True
    bn_order: Literal["relu_bn", "bn_relu"] = "relu_bn"

    def problems(self) -> list[str]:
        """What is wrong with these values (empty when they are fine)."""
        return [
            message
            for ok, message in [
                (self.depth >= 1, "model.depth must be at least 1."),
                (self.width >= 1, "model.width must be at least 1."),
            ]
            if not ok
        ]


def separable(c_in: int, c_out: int, stride: int, bias: bool) -> nn.Sequential:
    """3x3 depthwise convolution (one filter per channel), then a 1x1 pointwise one.

    Both are linear, so a bias is only useful where no BatchNorm follows the pair.
    """
    depthwise = nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=bias)
    return nn.Sequential(depthwise, nn.Conv2d(c_in, c_out, 1, bias=bias))


def activate(cfg: ModelConfig, channels: int) -> list[nn.Module]:
    """ReLU and (optionally) BatchNorm, in the configured order."""
    if not cfg.batchnorm:
        return [nn.ReLU(inplace=True)]
    relu, bn = nn.ReLU(inplace=True), nn.BatchNorm2d(channels)
    return [relu, bn] if cfg.bn_order == "relu_bn" else [bn, relu]


class Block(nn.Module):
    """Residual block: x + two separable convolutions of x (a projection when shapes change)."""

    def __init__(self, cfg: ModelConfig, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        bias = not cfg.batchnorm
        self.body = nn.Sequential(
            separable(c_in, c_out, stride, bias),
            *activate(cfg, c_out),
            separable(c_out, c_out, 1, bias),
            *activate(cfg, c_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:  # a strided 1x1 convolution matches the new shape
            project = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=bias)
            norm = [nn.BatchNorm2d(c_out)] if cfg.batchnorm else []
            self.shortcut = nn.Sequential(project, *norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.body(x)


def downsampling_stem(cfg: ModelConfig, channels: int, steps: int) -> list[nn.Module]:
    """`steps` stride-2 full convolutions of `width` filters (none for images <= 32 pixels)."""
    layers: list[nn.Module] = []
    for i in range(steps):
        c_in = channels if i == 0 else cfg.width
        conv = nn.Conv2d(c_in, cfg.width, 3, stride=2, padding=1, bias=not cfg.batchnorm)
        layers += [conv, *activate(cfg, cfg.width)]
    return layers


def build_model(cfg: ModelConfig, in_shape: tuple[int, ...], num_outputs: int) -> nn.Sequential:
    """Build the network for inputs of shape (C, H, W) and `num_outputs` classes."""
    steps = stem_steps(in_shape[1:])
    down = downsampling_stem(cfg, in_shape[0], steps)
    channels = cfg.width if steps else in_shape[0]
    if cfg.preset == "minimal":
        features = cfg.width * halved(in_shape[1], steps) * halved(in_shape[2], steps)
        conv = separable(channels, cfg.width, 1, bias=True)
        head = nn.Linear(features, num_outputs)
        return nn.Sequential(Normalize(), *down, conv, nn.ReLU(), nn.Flatten(), head)
    stem = nn.Conv2d(channels, cfg.width, 3, padding=1, bias=not cfg.batchnorm)
    layers: list[nn.Module] = [Normalize(), *down, stem, *activate(cfg, cfg.width)]
    channels = cfg.width
    for i in range(cfg.depth):
        second_stage = i >= cfg.depth // 2
        out = 2 * cfg.width if second_stage else cfg.width
        stride = 2 if i == cfg.depth // 2 else 1  # downsample once, entering the second stage
        layers.append(Block(cfg, channels, out, stride))
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_outputs)]
    return nn.Sequential(*layers)
