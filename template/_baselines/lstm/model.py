"""The LSTM baseline: sequence classification.

Two presets, simple to complex:
- `minimal`: one LSTM layer of `width` units and a linear classifier on its final hidden
  state. Start here and make the whole pipeline work before scaling up.
- `scaled` (default): `depth` (2) stacked LSTM layers of `width` (128) units, optionally
  bidirectional, dropout between layers behind a switch, and a linear classifier on the
  mean of the last layer's outputs over time (`pool = "mean"`) or on its final hidden
  state (`"last"`). The mean gives every time step a short path to the loss: on MNIST-1D
  (30 epochs, seeds 0 and 1) it reached 0.97 validation accuracy where the final state
  reached 0.95 at lr 3e-3 (0.95 against 0.82 at lr 1e-3, seed 0).
Inputs of shape (C, L) are read as L time steps of C features, (C, H, W) as H*W steps,
a batch of plain signals (N, L) as L steps of one feature (input shape (L,)),
normalised first with statistics of the training split. The forget gates start with bias
1, and gradient clipping (train.grad_clip) guards against exploding gradients.
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
    width: int = 128
    bidirectional: bool = False
    dropout: float = 0.0
    pool: Literal["mean", "last"] = "mean"

    def problems(self) -> list[str]:
        """What is wrong with these values (empty when they are fine)."""
        return [
            message
            for ok, message in [
                (self.depth >= 1, "model.depth must be at least 1."),
                (self.width >= 1, "model.width must be at least 1."),
                (0.0 <= self.dropout < 1.0, "model.dropout must lie in [0, 1)."),
            ]
            if not ok
        ]


class LSTMClassifier(nn.Module):
    """Normalize -> LSTM over time -> linear head on the time mean (or the final state)."""

    def __init__(
        self,
        features: int,
        num_outputs: int,
        width: int,
        depth: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        pool: Literal["mean", "last"] = "last",
    ) -> None:
        super().__init__()
        self.pool = pool
        self.normalize = Normalize()
        self.lstm = nn.LSTM(
            features,
            width,
            num_layers=depth,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if depth > 1 else 0.0,  # PyTorch applies it between layers only
        )
        self.head = nn.Linear(width * (2 if bidirectional else 1), num_outputs)
        # forget-gate bias 1 (Gers et al., 2000): the cell keeps its state by default; here it
        # fit 64 MNIST-1D sequences in a quarter fewer steps. Gates: input, forget, cell, output.
        with torch.no_grad():
            for name, bias in self.lstm.named_parameters():
                if name.startswith("bias_"):
                    bias[width : 2 * width] = 1.0 if name.startswith("bias_ih") else 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # (N, L) signals: one feature per time step
            x = x.unsqueeze(1)
        x = self.normalize(x).flatten(2).transpose(1, 2)  # (N, C, L) -> (N, L, C)
        out, (h, _) = self.lstm(x)
        if self.pool == "mean":
            return self.head(out.mean(dim=1))
        # the last layer's final state of each direction (the backward one has read all of x)
        last = h[-2:] if self.lstm.bidirectional else h[-1:]
        return self.head(torch.cat(list(last), dim=1))


def build_model(cfg: ModelConfig, in_shape: tuple[int, ...], num_outputs: int) -> LSTMClassifier:
    """Build the network for inputs of shape (C, L), (L,) or (C, H, W) and `num_outputs` classes."""
    features = in_shape[0] if len(in_shape) > 1 else 1
    if cfg.preset == "minimal":
        return LSTMClassifier(features, num_outputs, cfg.width)
    return LSTMClassifier(
        features, num_outputs, cfg.width, cfg.depth, cfg.bidirectional, cfg.dropout, cfg.pool
    )
