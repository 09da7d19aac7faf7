"""The CNN baseline: shapes, presets, and the design rules of the reference."""

import pytest
import torch
from torch import nn

from {{ package_name }}.model import ModelConfig, build_model

SHAPE, CLASSES = (1, 8, 8), 10
# The reference's sizes, pinned here so that tuning the defaults keeps these tests valid.
REFERENCE = {"depth": 4, "width": 64}
# Its parameters: convolutions 576 + 36,864 + 73,728 + 147,456 (no bias: BatchNorm follows),
# BatchNorm 2 * (64 + 64 + 128 + 128), linear head 128 * 10 + 10.
REFERENCE_PARAMETERS = 260_682


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


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


def test_maxpool_downsampling_matches_stride_in_shape_and_parameters():
    torch.manual_seed(0)
    strided = build_model(ModelConfig(**REFERENCE), SHAPE, CLASSES)
    pooled = build_model(ModelConfig(**REFERENCE, downsample="maxpool"), SHAPE, CLASSES)
    assert ModelConfig().downsample == "stride"
    assert parameters(strided) == parameters(pooled) == REFERENCE_PARAMETERS
    assert strided.state_dict().keys() == pooled.state_dict().keys()  # same checkpoint layout
    # every block leaves the same feature-map shape: the pool halves where the stride did
    a = b = torch.randn(3, *SHAPE)
    for block_a, block_b in zip(strided, pooled, strict=True):
        a, b = block_a(a), block_b(b)
        assert a.shape == b.shape
    assert a.shape == (3, CLASSES)
    pooling = [any(isinstance(m, nn.MaxPool2d) for m in block.modules()) for block in pooled]
    assert [i for i, pools in enumerate(pooling) if pools] == [2, 4]  # 0 is Normalize
    assert all(m.stride == (1, 1) for m in pooled.modules() if isinstance(m, nn.Conv2d))
    assert isinstance(pooled[2][-1], nn.MaxPool2d)  # at the end of its block


@pytest.mark.parametrize("preset", ["minimal", "scaled"])
@pytest.mark.parametrize("channels", [1, 3])  # gray and RGB
@pytest.mark.parametrize(("side", "steps"), [(8, 0), (32, 0), (64, 1), (224, 3), (33, 1)])
def test_any_image_size_with_a_stem_for_large_ones(preset, channels, side, steps):
    shape = (channels, side, side)
    model = build_model(ModelConfig(preset=preset, width=8), shape, CLASSES)
    strided = [m for m in model[1 : 1 + steps] for m in m.modules() if isinstance(m, nn.Conv2d)]
    assert [c.stride for c in strided] == [(2, 2)] * steps  # the stem, right after Normalize
    assert model(torch.randn(2, *shape)).shape == (2, CLASSES)


def test_the_stem_leaves_small_inputs_alone():
    torch.manual_seed(0)
    small = build_model(ModelConfig(**REFERENCE), SHAPE, CLASSES)
    torch.manual_seed(0)
    also = build_model(ModelConfig(**REFERENCE), (1, 32, 32), CLASSES)
    assert parameters(small) == parameters(also) == REFERENCE_PARAMETERS
    assert len(small) == len(also)  # no stem at 32 pixels or below: the default data's model
