"""The LSTM baseline: shapes, presets, and the switches."""

import pytest
import torch
from torch import nn

from {{ package_name }}.layers import Normalize
from {{ package_name }}.model import ModelConfig, build_model

SHAPE, CLASSES = (1, 40), 10
# The reference's sizes, pinned here so that tuning the defaults keeps these tests valid.
REFERENCE = {"depth": 2, "width": 128}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("preset", ["minimal", "scaled"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_forward_backward(preset, bidirectional):
    torch.manual_seed(0)
    model = build_model(ModelConfig(preset=preset, bidirectional=bidirectional), SHAPE, CLASSES)
    x = torch.randn(5, *SHAPE)
    out = model(x)
    assert out.shape == (5, CLASSES)
    out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_normalize_comes_first():
    model = build_model(ModelConfig(), SHAPE, CLASSES)
    assert isinstance(next(iter(model.children())), Normalize)


def test_minimal_is_one_lstm_layer_and_a_linear_head():
    cfg = ModelConfig(preset="minimal", depth=3, bidirectional=True, dropout=0.5)
    model = build_model(cfg, SHAPE, CLASSES)  # minimal ignores the scaled switches
    lstms = [m for m in model.modules() if isinstance(m, nn.LSTM)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(lstms) == 1 and lstms[0].num_layers == 1 and not lstms[0].bidirectional
    assert len(linears) == 1 and linears[0].in_features == cfg.width
    # 4 gates, each with input and recurrent weights and two biases, then the head
    w = cfg.width
    assert n_params(model) == 4 * (w * 1 + w * w + 2 * w) + (w + 1) * CLASSES


def test_scaled_follows_the_config():
    cfg = ModelConfig(**REFERENCE)
    model = build_model(cfg, SHAPE, CLASSES)
    assert model.lstm.num_layers == cfg.depth and model.lstm.hidden_size == cfg.width == 128
    assert model.pool == "mean" and not model.lstm.bidirectional
    w = cfg.width
    layer = [4 * (w * 1 + w * w + 2 * w)] + [4 * (w * w + w * w + 2 * w)] * (cfg.depth - 1)
    assert n_params(model) == sum(layer) + (w + 1) * CLASSES


def test_bidirectional_doubles_the_head_input():
    one = build_model(ModelConfig(width=16), SHAPE, CLASSES)
    two = build_model(ModelConfig(width=16, bidirectional=True), SHAPE, CLASSES)
    assert two.lstm.bidirectional and two.head.in_features == 2 * one.head.in_features == 32
    assert n_params(two) > 2 * n_params(one) - n_params(one.head)


def test_the_prediction_depends_on_the_whole_sequence():
    torch.manual_seed(0)
    for bidirectional in (False, True):
        model = build_model(ModelConfig(width=16, bidirectional=bidirectional), SHAPE, CLASSES)
        x = torch.randn(2, *SHAPE, requires_grad=True)
        model(x).sum().backward()
        assert (x.grad[:, :, 0].abs() > 0).all() and (x.grad[:, :, -1].abs() > 0).all()


def test_forget_gates_start_open():
    model = build_model(ModelConfig(width=8), SHAPE, CLASSES)
    for name, bias in model.lstm.named_parameters():
        if name.startswith("bias_"):  # gates in the order input, forget, cell, output
            assert (bias[8:16] == (1.0 if name.startswith("bias_ih") else 0.0)).all()


@pytest.mark.parametrize("pool", ["last", "mean"])
def test_pool_and_other_input_shapes(pool):
    model = build_model(ModelConfig(width=8, pool=pool), (3, 4, 5), CLASSES)
    assert model(torch.randn(2, 3, 4, 5)).shape == (2, CLASSES)  # images: H*W time steps


def test_dropout_sits_between_layers_and_is_off_in_eval():
    model = build_model(ModelConfig(width=8, dropout=0.5), SHAPE, CLASSES).eval()
    assert model.lstm.dropout == 0.5
    x = torch.randn(3, *SHAPE)
    assert torch.equal(model(x), model(x))
    assert ModelConfig(dropout=1.0).problems() == ["model.dropout must lie in [0, 1)."]


@pytest.mark.parametrize("preset", ["minimal", "scaled"])
def test_plain_signals_n_by_l_as_well_as_n_c_l(preset):
    torch.manual_seed(0)
    model = build_model(ModelConfig(preset=preset, width=8), (40,), CLASSES)
    signals = torch.randn(3, 40)
    assert model(signals).shape == (3, CLASSES)
    # (N, L) is read as one feature per step: the same as (N, 1, L)
    assert torch.equal(model(signals), model(signals.unsqueeze(1)))
    model = build_model(ModelConfig(preset=preset, width=8), (2, 40), CLASSES)
    assert model(torch.randn(3, 2, 40)).shape == (3, CLASSES)
