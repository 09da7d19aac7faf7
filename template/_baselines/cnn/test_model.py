"""The CNN baseline: shapes, presets, and the design rules of the reference."""

import pytest
import torch
from torch import nn

from {{ package_name }}.model import ModelConfig, build_model

SHAPE, CLASSES = (1, 8, 8), 10
# The reference's sizes, pinned here so that tuning the defaults keeps these tests valid.
REFERENCE = {"depth": 4, "width": 64}


@pytest.mark.parametrize("preset", ["minimal", "scaled"])
def test_forward_backward(preset):
    torch.manual_seed(0)
    model = build_model(ModelConfig(preset=preset), SHAPE, CLASSES)
    x = torch.randn(5, *SHAPE)
    out = model(x)
    assert out.shape == (5, CLASSES)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_minimal_is_one_conv_and_relu():
    model = build_model(ModelConfig(preset="minimal"), SHAPE, CLASSES)
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nn.Conv2d) == 1 and kinds.count(nn.ReLU) == 1
    assert nn.BatchNorm2d not in kinds


def test_scaled_follows_the_reference():
    model = build_model(ModelConfig(**REFERENCE), SHAPE, CLASSES)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4
    assert {c.out_channels for c in convs} == {64, 128}
    assert all(c.bias is None for c in convs)  # BatchNorm follows: no bias
    assert [c.stride[0] for c in convs] == [1, 2, 1, 2]  # stride-2 instead of max-pool
    assert not any(isinstance(m, nn.MaxPool2d) for m in model.modules())
    assert isinstance(model[-3], nn.AdaptiveAvgPool2d)  # global average pooling head


def test_relu_bn_order_switch():
    def order(bn_order):
        model = build_model(ModelConfig(**REFERENCE, bn_order=bn_order), SHAPE, CLASSES)
        return [type(m) for m in model[1]]

    assert order("relu_bn") == [nn.Conv2d, nn.ReLU, nn.BatchNorm2d]
    assert order("bn_relu") == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]


def test_batchnorm_switch_restores_bias():
    model = build_model(ModelConfig(batchnorm=False), SHAPE, CLASSES)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))
