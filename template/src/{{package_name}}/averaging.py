"""Weight averages beside the raw weights: an exponential moving average (EMA) or
stochastic weight averaging (SWA), with PyTorch's own `torch.optim.swa_utils`.

- `ema`: after every optimizer step from `start_epoch` on, average <- d * average +
  (1 - d) * weights (`AveragedModel` with `get_ema_multi_avg_fn`), BatchNorm's running
  statistics averaged too. A smoothed copy that is often better than the last weights.
  With `warmup` (the default) d = min(decay, (1 + t) / (10 + t)) after t updates, as
  TensorFlow's ExponentialMovingAverage and timm's ModelEmaV3 do: without it a decay of
  0.999 still holds 0.999^180 = 84% of the first step's weights after 180 steps, and a
  short run's average scores near chance (measured: benchmarks/results/evidence.md).
- `swa` (Izmailov et al. 2018): at the end of every epoch from `start_epoch` on, the equal
  average of the weights so far; from `start_epoch` the rate is held at `swa_lr` (when
  set), so the weights wander around a wide minimum and the average lands in its middle.
  BatchNorm's statistics do not average: they are recomputed for the average with
  `update_bn` (one pass over the training data) before it is evaluated.
The average is evaluated every epoch on the held-out split and logged beside the raw
weights (`avg_valid_loss`, `avg_valid_<metric>` in metrics.csv), written each epoch to
`checkpoints/averaged.pt` (a checkpoint `evaluate` reads like any other) and reported in
summary.json under "average". The raw weights train, checkpoint and get monitored as ever.
Every process averages the same weights the same way under torchrun; the average is in
the checkpoint, so a resumed run continues it exactly.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn

from . import checkpoint, task
from .config import AverageConfig
from .data import Splits
from .lifecycle import Loop, Technique
from .metrics import evaluate


def ema_decay(decay: float, updates: int, warmup: bool) -> float:
    """The EMA's decay at its update number `updates` (1 for the first after the copy)."""
    return min(decay, (1 + updates) / (10 + updates)) if warmup else decay


class EmaUpdate:
    """AveragedModel's `multi_avg_fn`: torch's EMA update at the decay of `ema_decay`.
    `updates` mirrors AveragedModel's `n_averaged` buffer on the host (set from it on
    restore, counted after each update), so no step waits on the device to read it."""

    def __init__(self, decay: float, warmup: bool) -> None:
        self.decay, self.warmup, self.updates = decay, warmup, 0

    def __call__(self, averaged: Any, current: Any, num_averaged: torch.Tensor | int) -> None:
        step = get_ema_multi_avg_fn(ema_decay(self.decay, self.updates, self.warmup))
        step(averaged, current, num_averaged)


class Averaging(Technique):
    """EMA or SWA of the trained module, evaluated and saved every epoch."""

    name = "average"

    def __init__(self, cfg: AverageConfig, splits: Splits, batch_size: int) -> None:
        self.cfg, self.splits, self.batch_size = cfg, splits, batch_size
        self.model: AveragedModel | None = None
        self.ema = EmaUpdate(cfg.decay, cfg.warmup)
        self.best: dict[str, float] = {}
        self._restored: dict[str, Any] = {}

    def _average(self, loop: Loop) -> AveragedModel:
        if self.model is None:
            ema = self.cfg.kind == "ema"
            fn = self.ema if ema else None
            self.model = AveragedModel(loop.model, multi_avg_fn=fn, use_buffers=ema)
            if self._restored:
                self.model.load_state_dict(self._restored)
                self.ema.updates = int(self.model.n_averaged)
        return self.model

    def start_epoch(self, loop: Loop, epoch: int) -> None:
        if self.cfg.kind == "swa" and self.cfg.swa_lr and epoch >= self.cfg.start_epoch:
            loop.schedule.fixed = self.cfg.swa_lr

    def after_step(self, loop: Loop, epoch: int, step: int) -> None:
        if self.cfg.kind == "ema" and epoch >= self.cfg.start_epoch:
            self._average(loop).update_parameters(loop.model)
            self.ema.updates += 1

    def end_epoch(self, loop: Loop, epoch: int, row: dict[str, float]) -> None:
        if epoch < self.cfg.start_epoch:
            return
        average = self._average(loop)
        if self.cfg.kind == "swa":
            average.update_parameters(loop.model)
            x_train = self.splits.train[0]
            update_bn(
                (x_train[i : i + self.batch_size] for i in range(0, len(x_train), self.batch_size)),
                average,
            )
        held_out = self.splits.valid if self.splits.valid is not None else self.splits.train
        prefix = "avg_valid_" if self.splits.valid is not None else "avg_train_"
        metrics = evaluate(average.module, *held_out, self.batch_size)
        row.update({prefix + k: v for k, v in metrics.items()})
        key, value = prefix + task.METRIC, row[prefix + task.METRIC]
        if not self.best or (
            value > self.best[key] if task.HIGHER_IS_BETTER else value < self.best[key]
        ):
            self.best = {"epoch": epoch, key: value}
        if loop.group.main:
            weights, _ = checkpoint.model_state(average.module)
            state = {
                "model": weights,
                "epoch": epoch,
                "config": loop.cfg.to_dict(),
                "kind": self.cfg.kind,
            }
            checkpoint.save(state, loop.run_dir / "checkpoints" / "averaged.pt")

    def state_dict(self) -> dict[str, Any]:
        state = {} if self.model is None else self.model.state_dict()
        return {"model": state, "best": self.best}

    def load_state_dict(self, state: dict[str, Any], loop: Loop) -> None:
        self._restored, self.best = state.get("model", {}), state.get("best", {})

    def summary(self, history: list[dict[str, float]]) -> Any:
        last = {k: v for k, v in history[-1].items() if k.startswith("avg_")}
        return {
            "kind": self.cfg.kind,
            "start_epoch": self.cfg.start_epoch,
            "last": last,
            "best": self.best,
        }


def average_weights(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The equal average of several weight dicts of one model (integer buffers: the last's)."""
    out = {}
    for key, last in states[-1].items():
        if last.is_floating_point():
            out[key] = torch.stack([s[key].float() for s in states]).mean(0).to(last.dtype)
        else:
            out[key] = last.clone()
    return out


def averaged(
    model: nn.Module, states: list[dict[str, torch.Tensor]], x_train: torch.Tensor, batch_size: int
) -> nn.Module:
    """`model` with the average of `states`, BatchNorm statistics recomputed on x_train."""
    model.load_state_dict(average_weights(states))
    batches = (x_train[i : i + batch_size] for i in range(0, len(x_train), batch_size))
    update_bn(batches, model)
    return model.eval()
