"""SGDR: cosine annealing with warm restarts (Loshchilov & Hutter, 2017), and snapshots.

The learning rate falls along half a cosine from the configured rate to
`min_lr_ratio` times it over one cycle, then jumps back up: a warm restart. The first
cycle lasts `t0` epochs and each next one `t_mult` times longer. The rate is set before
every batch (not once per epoch), from the position in epochs alone, so a resumed run
continues on the same curve. The formula is the one of PyTorch's
`torch.optim.lr_scheduler.CosineAnnealingWarmRestarts` (tests/test_sgdr.py compares them);
it is computed here because the base rate it multiplies may change during a run (other
techniques lower it or hand it to a new optimizer).

At the end of every cycle the model is at a low-loss point: the loop saves it as
`checkpoints/snapshot-<k>.pt`. `python -m <package> ensemble RUN` averages the snapshots'
predictions, giving more weight to later ones: an ensemble for the price of one run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class SGDRConfig:
    enabled: bool = False
    t0: int = 10  # epochs of the first cycle
    t_mult: int = 1  # each cycle lasts t_mult times as long as the one before
    min_lr_ratio: float = 0.0  # the rate at the end of a cycle, as a share of the base rate
    snapshots: bool = True  # save the model at the end of every cycle

    def problems(self) -> list[str]:
        """What is wrong with these values (empty when they are fine)."""
        return [
            message
            for ok, message in [
                (self.t0 >= 1, "sgdr.t0 must be at least 1 epoch."),
                (self.t_mult >= 1, "sgdr.t_mult must be at least 1."),
                (0 <= self.min_lr_ratio < 1, "sgdr.min_lr_ratio must be in [0, 1)."),
            ]
            if not ok
        ]


def position(t: float, cfg: SGDRConfig) -> tuple[int, float, int]:
    """(cycle index from 0, epochs into that cycle, its length) at `t` epochs from the start."""
    cycle, start, length = 0, 0, cfg.t0
    while t >= start + length:
        cycle, start, length = cycle + 1, start + length, length * cfg.t_mult
    return cycle, t - start, length


def factor(t: float, cfg: SGDRConfig) -> float:
    """The learning-rate multiplier at `t` epochs (fractional: batches count)."""
    _, into, length = position(t, cfg)
    low = cfg.min_lr_ratio
    return low + (1 - low) * (1 + math.cos(math.pi * into / length)) / 2


def cycle_ended(epoch: int, cfg: SGDRConfig) -> int:
    """The number (from 1) of the cycle that ends with epoch `epoch`, or 0 when none does."""
    cycle, into, _ = position(float(epoch), cfg)
    return cycle if into == 0 else 0
