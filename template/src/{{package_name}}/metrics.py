"""Epoch metrics that are provably right: exact sample-weighted means.

Each batch adds its *sums* (loss * n, correct, ...) and its sample count; the means are
sums / count at the end of the epoch. A short last batch therefore weighs exactly as much
as its samples, and a new MetricSums per epoch is the "reset the counters" step. Under
torchrun the sums and counts of all processes are added up before the division.
"""

from __future__ import annotations

from typing import Any

import torch

from . import distributed, stream, task


class MetricSums:
    """Running per-sample sums of the task's metrics; stays on the device until `means()`."""

    def __init__(self) -> None:
        self.sums: torch.Tensor | None = None
        self.count = 0

    def add(self, batch_sums: torch.Tensor, n: int) -> None:
        self.sums = batch_sums if self.sums is None else self.sums + batch_sums
        self.count += n

    def means(self, prefix: str = "") -> dict[str, float]:
        if self.sums is None or self.count == 0:
            raise ValueError("No samples were added: cannot take a mean of nothing.")
        count = torch.tensor([self.count], dtype=torch.float64, device=self.sums.device)
        totals = distributed.all_sum(torch.cat([self.sums.double(), count]))  # all processes
        values = (totals[:-1] / totals[-1]).tolist()  # the one sync per epoch
        return {f"{prefix}{name}": value for name, value in zip(task.NAMES, values, strict=True)}


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: Any, y: torch.Tensor, batch_size: int) -> dict:
    """The task's metrics of `model` on (x, y), in eval mode, as exact per-sample means
    (under torchrun each process evaluates its share and the sums are added up)."""
    was_training = model.training
    model.eval()
    x, y = stream.shard(x), distributed.shard(y)
    sums = MetricSums()
    for xb, yb in stream.in_order(x, y, batch_size):
        out = model(xb)
        sums.add(task.batch_sums(out, yb, task.loss_fn(out, yb)), len(yb))
    model.train(was_training)
    return sums.means()
