"""Early stopping: end the run when the monitored metric stops improving.

`train.patience` epochs in a row without an improvement larger than `train.min_delta` of
the monitored metric (valid_<metric>, or train_<metric> in final mode) end the run after
that epoch; summary.json says at which epoch and why ("stopped"). The best checkpoint is
the best epoch's, as always. The capacity check (`overfit`) turns it off.
"""

from __future__ import annotations

from typing import Any

from . import task
from .lifecycle import Loop, Technique


class EarlyStopping(Technique):
    """Sets `loop.stop` after `patience` epochs without an improvement of `monitor`."""

    name = "early_stopping"

    def __init__(self, patience: int, min_delta: float, monitor: str) -> None:
        self.patience, self.min_delta, self.monitor = patience, min_delta, monitor
        self.best: float | None = None
        self.waited = 0
        self.stopped_epoch: int | None = None

    def end_epoch(self, loop: Loop, epoch: int, row: dict[str, float]) -> None:
        value = row[self.monitor]
        gain = self.best is None or (
            value - self.best > self.min_delta
            if task.HIGHER_IS_BETTER
            else self.best - value > self.min_delta
        )
        if gain:
            self.best, self.waited = value, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            self.stopped_epoch = epoch
            loop.stop = (
                f"early stopping: {self.monitor} did not improve by more than {self.min_delta} "
                f"in {self.patience} epochs (best {self.best:.4g})"
            )

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "waited": self.waited}

    def load_state_dict(self, state: dict[str, Any], loop: Loop) -> None:
        self.best, self.waited = state.get("best"), int(state.get("waited", 0))

    def summary(self, history: list[dict[str, float]]) -> Any:
        return {"stopped_epoch": self.stopped_epoch, "best": self.best, "patience": self.patience}
