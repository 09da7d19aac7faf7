"""What the loop shares with the techniques that act between steps, and when it calls them.

The loop calls every technique in `techniques.between_steps(...)`, in list order, at three
points, and names none of them:

    for epoch in epochs:
        t.start_epoch(loop, epoch)           # before the epoch's first step
        for step in steps:
            ... forward, backward, optimizer step ...
            t.after_step(loop, epoch, step)  # after each optimizer step
        ... epoch metrics into `row` ...
        t.end_epoch(loop, epoch, row)        # before the row is logged and checkpointed

A technique reads and changes the run through `Loop` (its model, optimizer, schedule, run
folder); it may add columns to `row`, set `loop.stop` to end the run after this epoch,
and keeps what a resume needs in `state_dict()` (saved as checkpoint["techniques"][name]).
`summary(history)` is called once when the run ends; what it returns goes into
summary.json under its name. This is the whole
protocol: plain method calls at fixed points, no registry and no priorities.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import Config
from .distributed import Group
from .schedule import Schedule


@dataclass
class Loop:
    """The run as the techniques see it (the loop's own variables, shared)."""

    cfg: Config
    model: nn.Module  # the module being trained (the head, when precomputing)
    whole: nn.Module  # the whole model: what checkpoints and snapshots hold
    optimizer: torch.optim.Optimizer
    params: list[nn.Parameter]  # what the optimizer trains, in a stable order
    schedule: Schedule
    group: Group  # this process under torchrun; group.main writes files
    run_dir: Path
    steps: int  # optimizer steps per epoch
    stop: str = ""  # set by a technique: why the run ends after this epoch


class Technique:
    """The lifecycle with do-nothing defaults; a technique overrides what it needs."""

    name = "technique"

    def start_epoch(self, loop: Loop, epoch: int) -> None:
        """Before the first step of `epoch` (epochs count from 1)."""

    def after_step(self, loop: Loop, epoch: int, step: int) -> None:
        """After each optimizer step (`step` counts from 0 within the epoch)."""

    def end_epoch(self, loop: Loop, epoch: int, row: dict[str, float]) -> None:
        """After the epoch's metrics are in `row`, before it is logged and checkpointed."""

    def state_dict(self) -> dict[str, Any]:
        """Plain values only (checkpoints load with weights_only=True)."""
        return {}

    def load_state_dict(self, state: dict[str, Any], loop: Loop) -> None:
        """Restore what `state_dict` saved (on resume, before the optimizer's state is
        loaded: restoring may change the loop, e.g. the switch's optimizer)."""

    def summary(self, history: list[dict[str, float]]) -> Any:
        """At the end of the run: what summary.json reports under `name` (None: nothing)."""
        return None


# ------------------------------------------------------------ how a step runs, when plain
# The techniques that change how a step runs are explicit wrappers in the loop; these are
# their plain forms, used when a feature is left out or turned off (techniques.py picks).


class FullPrecision:
    """fp32 steps: no autocast, no loss scaling, the model's own memory format."""

    name = "fp32"

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def prepare_model(self, model: nn.Module) -> nn.Module:
        return model

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate `loss`, adding to the gradients (of earlier micro-batches)."""
        loss.backward()

    def step(
        self, optimizer: torch.optim.Optimizer, parameters: Iterable[nn.Parameter], grad_clip: float
    ) -> None:
        """Clip the gradients (if grad_clip > 0) and take the optimizer step."""
        if grad_clip:
            nn.utils.clip_grad_norm_(parameters, grad_clip)
        optimizer.step()

    def backward_step(
        self,
        loss: torch.Tensor,
        optimizer: torch.optim.Optimizer,
        parameters: Iterable[nn.Parameter],
        grad_clip: float,
    ) -> None:
        """One whole update: clear the old gradients, backpropagate, clip, step."""
        optimizer.zero_grad(set_to_none=True)
        self.backward(loss)
        self.step(optimizer, parameters, grad_clip)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore."""


class NoAugment:
    """Training batches as they are."""

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x, y

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore."""
