"""Classification: cross-entropy loss; loss and accuracy as exact per-sample means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from .config import DataConfig

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


{% if 'sgdr' in features -%}
def ensemble_metrics(
    outputs: list[torch.Tensor], weights: list[float], target: torch.Tensor
) -> dict[str, float]:
    """Loss and accuracy of the weighted mean of the models' predicted probabilities.

    Probabilities are averaged, not votes (a confident model outweighs two unsure ones)
    and not logits. log(sum_k w_k softmax_k) is a logsumexp of log w_k + log_softmax_k in
    float64, so a single model with weight 1 scores its own cross-entropy, as
    metrics.evaluate gives it. Both are exact per-sample means over all of `target`.
    """
    terms = [
        F.log_softmax(out.double(), dim=1) + torch.tensor(w, dtype=torch.float64).log()
        for out, w in zip(outputs, weights, strict=True)
    ]
    log_probs = torch.logsumexp(torch.stack(terms), dim=0)  # log of the weighted mean
    loss = F.nll_loss(log_probs, target)
    correct = (log_probs.argmax(dim=1) == target).double().mean()
    return {"loss": loss.item(), METRIC: correct.item()}


{% endif -%}
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
