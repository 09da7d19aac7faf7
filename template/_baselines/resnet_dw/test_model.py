"""The depthwise-separable ResNet baseline: shapes, presets, the rules of the reference."""

import pytest
import torch
from torch import nn

from {{ package_name }}.model import Block, ModelConfig, build_model

SHAPE, CLASSES = (1, 8, 8), 10
# The reference's sizes, pinned here so that tuning the defaults keeps these tests valid.
REFERENCE = {"depth": 4, "width": 64}


def convs(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def blocks(model):
    return [m for m in model.modules() if isinstance(m, Block)]


@pytest.mark.parametrize("preset", ["minimal", "scaled"])
def test_forward_backward(preset):
    torch.manual_seed(0)
    model = build_model(ModelConfig(preset=preset), SHAPE, CLASSES)
    x = torch.randn(5, *SHAPE)
    out = model(x)
    assert out.shape == (5, CLASSES)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_minimal_is_one_separable_conv_and_relu():
    model = build_model(ModelConfig(**REFERENCE, preset="minimal"), SHAPE, CLASSES)
    depthwise, pointwise = convs(model)
    assert depthwise.kernel_size == (3, 3) and depthwise.groups == depthwise.in_channels
    assert pointwise.kernel_size == (1, 1) and pointwise.out_channels == 64
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nn.ReLU) == 1 and nn.BatchNorm2d not in kinds
    assert isinstance(model[-1], nn.Linear)  # over the flattened map: pooling one layer fails


@pytest.mark.parametrize("batchnorm", [True, False])
def test_every_conv_but_the_stem_is_depthwise_or_pointwise(batchnorm):
    model = build_model(ModelConfig(**REFERENCE, batchnorm=batchnorm), SHAPE, CLASSES)
    stem, *rest = convs(model)
    assert stem is model[1] and stem.kernel_size == (3, 3)  # the one full convolution
    for conv in rest:
        depthwise = conv.kernel_size == (3, 3) and conv.groups == conv.in_channels
        pointwise = conv.kernel_size == (1, 1) and conv.groups == 1
        assert depthwise or pointwise, conv
    separable = sum(c.groups > 1 for c in rest)
    assert separable == 2 * 4  # two separable convolutions per residual block


def test_scaled_follows_the_reference():
    model = build_model(ModelConfig(**REFERENCE), SHAPE, CLASSES)
    assert len(blocks(model)) == 4
    assert {c.out_channels for c in convs(model)} == {64, 128}
    assert all(c.bias is None for c in convs(model))  # BatchNorm follows: no bias
    assert not any(isinstance(m, nn.MaxPool2d | nn.AvgPool2d) for m in model.modules())
    strided = [c for c in convs(model) if c.stride == (2, 2)]
    assert len(strided) == 2  # the depthwise conv and the projection entering stage two
    assert isinstance(model[-3], nn.AdaptiveAvgPool2d)  # global average pooling head
    assert model[-1].in_features == 128
    features = model[:-3](torch.randn(2, *SHAPE))
    assert features.shape == (2, 128, 4, 4)  # stride 2 halved the 8x8 map


def test_relu_bn_order_switch():
    def order(bn_order):
        model = build_model(ModelConfig(**REFERENCE, bn_order=bn_order), SHAPE, CLASSES)
        return [type(m) for m in blocks(model)[0].body]

    sep = nn.Sequential
    assert order("relu_bn") == [sep, nn.ReLU, nn.BatchNorm2d, sep, nn.ReLU, nn.BatchNorm2d]
    assert order("bn_relu") == [sep, nn.BatchNorm2d, nn.ReLU, sep, nn.BatchNorm2d, nn.ReLU]


def test_batchnorm_switch_restores_bias():
    model = build_model(ModelConfig(batchnorm=False), SHAPE, CLASSES)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert all(c.bias is not None for c in convs(model))


def test_blocks_are_residual():
    torch.manual_seed(0)
    model = build_model(ModelConfig(**REFERENCE), SHAPE, CLASSES).eval()
    first, _, entering, _ = blocks(model)
    assert isinstance(first.shortcut, nn.Identity)
    assert isinstance(entering.shortcut[0], nn.Conv2d) and entering.shortcut[0].stride == (2, 2)
    x = torch.randn(3, 64, 8, 8)
    with torch.no_grad():
        assert torch.allclose(first(x), x + first.body(x))  # the input is added back
        assert entering(x).shape == entering.body(x).shape == (3, 128, 4, 4)


def test_bad_sizes_are_named():
    assert ModelConfig(depth=0).problems() == ["model.depth must be at least 1."]
    assert ModelConfig(width=0).problems() == ["model.width must be at least 1."]


@pytest.mark.parametrize("preset", ["minimal", "scaled"])
@pytest.mark.parametrize("channels", [1, 3])  # gray and RGB
@pytest.mark.parametrize(("side", "steps"), [(8, 0), (32, 0), (64, 1), (224, 3), (33, 1)])
def test_any_image_size_with_a_stem_for_large_ones(preset, channels, side, steps):
    shape = (channels, side, side)
    model = build_model(ModelConfig(preset=preset, width=8), shape, CLASSES)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups == 1]
    assert [c.stride for c in convs[:steps]] == [(2, 2)] * steps  # full strided convolutions
    assert model(torch.randn(2, *shape)).shape == (2, CLASSES)


def test_the_stem_leaves_small_inputs_alone():
    small = build_model(ModelConfig(**REFERENCE), SHAPE, CLASSES)
    also = build_model(ModelConfig(**REFERENCE), (1, 32, 32), CLASSES)
    assert len(small) == len(also)
    assert sum(p.numel() for p in small.parameters()) == sum(p.numel() for p in also.parameters())
