"""TensorBoard event files beside metrics.csv: `tensorboard --logdir runs`."""

from __future__ import annotations

from pathlib import Path

from torch.utils.tensorboard import SummaryWriter


class TensorBoard:
    """Writes each epoch's metrics row as scalars, keyed by epoch."""

    def __init__(self, run_dir: Path) -> None:
        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log(self, row: dict[str, float]) -> None:
        for key, value in row.items():
            if key != "epoch":
                self.writer.add_scalar(key, value, global_step=int(row["epoch"]))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
