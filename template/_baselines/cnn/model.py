"""The CNN baseline: image classification.

Two presets, simple to complex:
- `minimal`: one 3x3 convolution + ReLU and a linear classifier over its feature map. Start
  here and make the whole pipeline work before scaling up.
- `scaled` (default): `depth` convolutions of `width` then 2*`width` filters (64/128),
  stride-2 convolutions instead of max-pooling, BatchNorm behind a switch (no bias in a
  convolution that BatchNorm follows), ReLU before BatchNorm unless `bn_order` says
  otherwise, and a global-average-pooling head instead of large fully connected layers.
Inputs are normalised by the first module, with statistics of the training split.

Downsampling (`downsample`): every second convolution halves the height and width. The
reference's advice, and the default, is `stride`: that convolution moves two pixels at a
time, so it computes a quarter of the outputs and learns how to downsample. `maxpool` is
the classic alternative, kept for comparison: the same convolution at stride 1, then
`nn.MaxPool2d(2)` at the end of its block, which keeps the largest of each 2x2 patch. Both
give the same output shape and the same parameters (max-pooling has none); max-pooling
costs four times the arithmetic in those convolutions (benchmarks/evidence.py measures
what it does to accuracy and speed).

Input sizes (both presets): any image of C channels (1 gray, 3 RGB, or more) and any
height and width from 1 pixel up. Images larger than 32 pixels on their larger side get a
stem first: stride-2 3x3 convolution blocks of `width` filters, as many as halve that side
to at most 32 (64 -> 32 takes one, 224 -> 112 -> 56 -> 28 three; `layers.stem_steps`). At
32 pixels and below there is no stem, so the default data's model is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from torch import nn

from .layers import Normalize, halved, stem_steps


@dataclass
class ModelConfig:
    preset: Literal["minimal", "scaled"] = "scaled"
    depth: int = 4
    width: int = 64
    batchnorm: bool = True
    bn_order: Literal["relu_bn", "bn_relu"] = "relu_bn"
    downsample: Literal["stride", "maxpool"] = "stride"

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


def conv_block(cfg: ModelConfig, c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """3x3 convolution, then ReLU and (optionally) BatchNorm in the configured order.

    With `downsample = "maxpool"` a block asked for stride 2 convolves at stride 1 and ends
    with a 2x2 max-pool instead.
    """
    pool = stride == 2 and cfg.downsample == "maxpool"
    stride = 1 if pool else stride
    conv = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=not cfg.batchnorm)
    if not cfg.batchnorm:
        layers = [conv, nn.ReLU(inplace=True)]
    else:
        relu, bn = nn.ReLU(inplace=True), nn.BatchNorm2d(c_out)
        layers = [conv, *((relu, bn) if cfg.bn_order == "relu_bn" else (bn, relu))]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


def stem(cfg: ModelConfig, channels: int, steps: int) -> list[nn.Module]:
    """`steps` stride-2 blocks of `width` filters (none for images of 32 pixels or less)."""
    strided = replace(cfg, downsample="stride")  # ceil(n / 2) per step, whatever the blocks do
    return [
        conv_block(strided, channels if i == 0 else cfg.width, cfg.width, stride=2)
        for i in range(steps)
    ]


def build_model(cfg: ModelConfig, in_shape: tuple[int, ...], num_outputs: int) -> nn.Sequential:
    """Build the network for inputs of shape (C, H, W) and `num_outputs` classes."""
    steps = stem_steps(in_shape[1:])
    layers: list[nn.Module] = [Normalize(), *stem(cfg, in_shape[0], steps)]
    channels = cfg.width if steps else in_shape[0]
    if cfg.preset == "minimal":
        features = cfg.width * halved(in_shape[1], steps) * halved(in_shape[2], steps)
        conv = nn.Conv2d(channels, cfg.width, 3, padding=1)
        head = nn.Linear(features, num_outputs)
        return nn.Sequential(*layers, conv, nn.ReLU(), nn.Flatten(), head)
    for i in range(cfg.depth):
        out = cfg.width if i < cfg.depth // 2 else 2 * cfg.width
        layers.append(conv_block(cfg, channels, out, stride=2 if i % 2 else 1))
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_outputs)]
    return nn.Sequential(*layers)
