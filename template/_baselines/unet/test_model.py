"""The U-Net baseline: shapes, presets, and the design rules of the reference."""

import pytest
import torch
from torch import nn

from {{ package_name }}.layers import Normalize, set_input_stats
from {{ package_name }}.model import ModelConfig, build_model

SHAPE = (1, 32, 32)
# The reference's sizes, pinned here so that tuning the defaults keeps these tests valid.
REFERENCE = {"depth": 2, "width": 64, "max_width": 128}


@pytest.mark.parametrize("preset", ["minimal", "scaled"])
@pytest.mark.parametrize("shape", [SHAPE, (3, 13, 21)])  # odd sizes come back whole too
def test_forward_backward(preset, shape):
    torch.manual_seed(0)
    model = build_model(ModelConfig(preset=preset, depth=3, width=8), shape, shape[0])
    x = torch.rand(2, *shape)
    out = model(x)
    assert out.shape == x.shape
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_minimal_is_one_conv_and_relu_then_the_output_conv():
    model = build_model(ModelConfig(preset="minimal"), SHAPE, 1)
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nn.Conv2d) == 2 and kinds.count(nn.ReLU) == 1


def test_scaled_follows_the_reference():
    cfg = ModelConfig(**REFERENCE)
    model = build_model(cfg, SHAPE, 1)
    kinds = {type(m) for m in model.modules()}
    assert not kinds & {nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d}
    assert nn.MaxPool2d not in kinds  # stride-2 convolutions go down instead
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert all(c.bias is not None for c in convs)  # no BatchNorm follows, so every conv has bias
    assert sum(c.stride == (2, 2) for c in convs if isinstance(c, nn.Conv2d)) == cfg.depth
    assert sum(isinstance(c, nn.ConvTranspose2d) for c in convs) == cfg.depth
    assert {c.out_channels for c in convs} == {64, 128, 1}  # 64/128 filters, 1 output channel
    # skip connections concatenate: each decoder level sees twice its filters
    assert [m[0].in_channels for m in model.merge] == [128, 256]


def test_input_is_normalised_first_and_the_output_is_in_pixel_units():
    model = build_model(ModelConfig(), SHAPE, 1)
    assert isinstance(next(model.children()), Normalize)
    x = torch.rand(4, *SHAPE)
    set_input_stats(model, x)
    with torch.no_grad():  # a zero correction returns the noisy input itself, unscaled
        model.head.weight.zero_()
        model.head.bias.zero_()
        assert torch.equal(model(x), x)


def test_residual_switch():
    torch.manual_seed(0)
    x = torch.rand(2, *SHAPE)
    plain = build_model(ModelConfig(residual=False, width=8), SHAPE, 1)
    with torch.no_grad():
        plain.head.weight.zero_()
        plain.head.bias.fill_(0.5)
        assert torch.equal(plain(x), torch.full_like(x, 0.5))
    with pytest.raises(ValueError, match="residual"):
        build_model(ModelConfig(), (3, 8, 8), 1)


def test_config_problems():
    assert ModelConfig().problems() == []
    assert ModelConfig(depth=0).problems() == ["model.depth must be at least 1."]
    assert ModelConfig(width=256).problems() == ["model.max_width must be at least model.width."]


@pytest.mark.parametrize("preset", ["minimal", "scaled"])
@pytest.mark.parametrize("channels", [1, 3])  # gray and RGB
@pytest.mark.parametrize("side", [8, 32, 64, 224])
def test_any_image_size_comes_back_whole(preset, channels, side):
    shape = (channels, side, side)
    model = build_model(ModelConfig(preset=preset, width=4, max_width=8), shape, channels)
    x = torch.rand(1, *shape)
    assert model(x).shape == x.shape


@pytest.mark.parametrize("shape", [(1, 7, 9), (3, 30, 226), (1, 1, 1)])
def test_sizes_not_divisible_by_the_downsampling_need_no_padding(shape):
    model = build_model(ModelConfig(depth=3, width=4, max_width=8), shape, shape[0])
    x = torch.rand(1, *shape)
    assert model(x).shape == x.shape  # each level rounds up, the decoder crops back
