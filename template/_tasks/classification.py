"""Classification: cross-entropy loss; loss and accuracy as exact per-sample means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .dataset import DataConfig

METRIC = "accuracy"  # the metric that picks the best checkpoint and that `overfit` checks
HIGHER_IS_BETTER = True
OVERFIT_TARGET = 0.99  # the capacity check passes at 99% training accuracy
OVERFIT_GOAL = f"{OVERFIT_TARGET:.0%} train accuracy"
LABELLED = True  # y holds integer class labels (see data.py)


def num_outputs(classes: list[str], in_shape: tuple[int, ...]) -> int:
    return len(classes)


def loss_fn(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(output, target)


def batch_sums(output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
    """Per-batch sums [loss, correct] that metrics.py adds up over an epoch.

    `loss` is the batch mean, so loss * n is the batch's sum whatever the batch size
    (the short last batch included). Stays on the device: no sync in the hot loop.
    """
    n = target.shape[0]
    correct = (output.argmax(dim=1) == target).sum()
    return torch.stack([loss.detach().float() * n, correct.float()])


NAMES = ("loss", METRIC)


def reference_metrics(x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Reference scores reported beside the model's (none for classification)."""
    return {}


def overfit_target(x: torch.Tensor, y: torch.Tensor) -> float:
    """The train accuracy the capacity check must reach on the subset (x, y)."""
    return OVERFIT_TARGET


def prepare(arrays: dict[str, Any], cfg: DataConfig) -> dict[str, Any]:
    """Labelled arrays are ready as loaded."""
    return arrays


def plot_predictions(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, path: Path) -> None:
    """No prediction picture for classification: curves.png and the metrics say it."""
