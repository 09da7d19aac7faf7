"""TensorBoard event files beside metrics.csv: `tensorboard --logdir runs`."""

from __future__ import annotations

from typing import Any

from torch.utils.tensorboard import SummaryWriter

from .lifecycle import Loop, Technique


class TensorBoard(Technique):
    """Writes each epoch's metrics row as scalars keyed by epoch (process 0 only)."""

    name = "tensorboard"

    def __init__(self) -> None:
        self.writer: SummaryWriter | None = None

    def end_epoch(self, loop: Loop, epoch: int, row: dict[str, float]) -> None:
        if not loop.group.main:
            return
        if self.writer is None:
            self.writer = SummaryWriter(log_dir=str(loop.run_dir / "tensorboard"))
        for key, value in row.items():
            if key != "epoch":
                self.writer.add_scalar(key, value, global_step=epoch)
        self.writer.flush()

    def summary(self, history: list[dict[str, float]]) -> Any:
        if self.writer is not None:
            self.writer.close()
        return None
