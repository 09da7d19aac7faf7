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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import nn

from .layers import Normalize


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


def build_model(cfg: ModelConfig, in_shape: tuple[int, ...], num_outputs: int) -> nn.Sequential:
    """Build the network for inputs of shape (C, H, W) and `num_outputs` classes."""
    layers: list[nn.Module] = [Normalize()]
    channels = in_shape[0]
    if cfg.preset == "minimal":
        features = cfg.width * in_shape[1] * in_shape[2]
        conv = nn.Conv2d(channels, cfg.width, 3, padding=1)
        head = nn.Linear(features, num_outputs)
        return nn.Sequential(*layers, conv, nn.ReLU(), nn.Flatten(), head)
    for i in range(cfg.depth):
        out = cfg.width if i < cfg.depth // 2 else 2 * cfg.width
        layers.append(conv_block(cfg, channels, out, stride=2 if i % 2 else 1))
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_outputs)]
    return nn.Sequential(*layers)
