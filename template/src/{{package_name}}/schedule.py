"""The one owner of the learning rate: `Schedule.rate(epoch, step)`.

The loop asks it for the rate before every optimizer step and sets it in one line; nothing
else writes a rate. The rate is

    base * warmup(s) * shape(s) * (product of the techniques' scales)

at global step s = (epoch - 1) * steps + step (epochs from 1, steps from 0):
- `base` is optim.lr (schedule.max_lr for one-cycle when set); the optimizer switch
  replaces it by SGD's rate;
- `shape` is `kind`, each equal to a scheduler of `torch.optim.lr_scheduler` stepped once
  per optimizer step (tests/test_schedule.py compares them step by step):
  constant; step (StepLR per epoch: times gamma every step_size epochs); cosine
  (CosineAnnealingLR over the whole run, down to min_lr_ratio); onecycle (OneCycleLR: up
  from max_lr/25 for pct_start of the run, then down to max_lr/25e4); sgdr
  (CosineAnnealingWarmRestarts: cycles of t0 epochs, each t_mult times longer);
- `warmup` is LinearLR from 1/warmup_steps to 1 over `warmup_epochs` (fractions of an
  epoch count in steps), multiplied in (as ChainedScheduler does): the shape is not delayed;
- `scales` are set by techniques by name: DSD's re-dense phase divides by its divisor;
- `fixed`, when a technique sets it, is the rate from then on (SWA's constant `swa_lr`).
Everything is a function of the step count, so a resumed run continues on the same curve;
`base` and `scales` are in `state_dict()`.
"""

from __future__ import annotations

import math
from typing import Any

from .config import Config, ScheduleConfig


class Schedule:
    """Rates for a run of `epochs` epochs of `steps` optimizer steps each."""

    def __init__(self, cfg: Config, steps: int) -> None:
        self.cfg: ScheduleConfig = cfg.schedule
        self.steps = steps
        self.total = steps * cfg.train.epochs
        self.warmup = round(cfg.schedule.warmup_epochs * steps)
        onecycle = cfg.schedule.kind == "onecycle" and cfg.schedule.max_lr > 0
        self.base = cfg.schedule.max_lr if onecycle else cfg.optim.lr
        self.scales: dict[str, float] = {}
        self.fixed: float | None = None

    def rate(self, epoch: int, step: int) -> float:
        """The learning rate of step `step` (from 0) of epoch `epoch` (from 1)."""
        if self.fixed is not None:
            return self.fixed
        s = (epoch - 1) * self.steps + step
        rate = self.base * self.factor(s)
        for scale in self.scales.values():
            rate *= scale
        return rate

    def factor(self, s: int) -> float:
        """warmup(s) * shape(s): the multiplier of the base rate at global step s."""
        warm = 1.0
        if s < self.warmup:  # LinearLR(start_factor=1/warmup, total_iters=warmup)
            start = 1.0 / self.warmup
            warm = start + (1.0 - start) * s / self.warmup
        return warm * self.shape(s)

    def shape(self, s: int) -> float:
        c = self.cfg
        if c.kind == "step":
            return c.gamma ** ((s // self.steps) // c.step_size)
        if c.kind == "cosine":
            return cosine(s / self.total, c.min_lr_ratio)
        if c.kind == "onecycle":
            return onecycle(s, self.total, c.pct_start)
        if c.kind == "sgdr":
            _, into, length = cycle_position(s / self.steps, c.t0, c.t_mult)
            return cosine(into / length, c.min_lr_ratio)
        return 1.0

    def cycle_ended(self, epoch: int) -> int:
        """SGDR: the number (from 1) of the cycle that ends with epoch `epoch`, else 0."""
        if self.cfg.kind != "sgdr":
            return 0
        cycle, into, _ = cycle_position(float(epoch), self.cfg.t0, self.cfg.t_mult)
        return cycle if into == 0 else 0

    def state_dict(self) -> dict[str, Any]:
        return {"base": self.base, "scales": dict(self.scales), "fixed": self.fixed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base = float(state["base"])
        self.scales = {k: float(v) for k, v in state["scales"].items()}
        self.fixed = state.get("fixed")


def cosine(fraction: float, low: float) -> float:
    """Half a cosine from 1 down to `low` as `fraction` goes from 0 to 1."""
    return low + (1 - low) * (1 + math.cos(math.pi * fraction)) / 2


def cycle_position(t: float, t0: int, t_mult: int) -> tuple[int, float, int]:
    """(cycle index from 0, epochs into it, its length) at `t` epochs from the start."""
    cycle, start, length = 0, 0, t0
    while t >= start + length:
        cycle, start, length = cycle + 1, start + length, length * t_mult
    return cycle, t - start, length


def onecycle(s: int, total: int, pct_start: float) -> float:
    """OneCycleLR's factor of max_lr (cosine annealing, div_factor 25, final_div_factor 1e4)."""
    first, last = 1 / 25, 1 / 25 / 1e4
    peak = float(pct_start * total) - 1
    if s <= peak:
        return _anneal(1.0, first, s / peak)
    return _anneal(last, 1.0, (s - peak) / (total - 1 - peak))


def _anneal(end: float, start: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def set_rate(optimizer: Any, rate: float) -> None:
    """Give every parameter group of `optimizer` the rate `rate`."""
    for group in optimizer.param_groups:
        group["lr"] = rate
