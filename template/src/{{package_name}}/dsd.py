"""Dense-Sparse-Dense training (Han et al., 2017): three phases inside the one loop.

1. dense: ordinary training, which also finds out which weights matter;
2. sparse: each layer is pruned to `sparsity` by weight magnitude (the first layer is left
   whole, as in the paper: it has few weights and all of them see the raw input) and
   trained on with the mask enforced, so the surviving weights must carry the model;
3. re-dense: the mask is lifted, pruned weights restart from zero, and training goes on
   with the learning rate divided by `lr_divisor`. The regained capacity starts from a
   better point than the first dense phase had: that is the point of the detour.

Masks use `torch.nn.utils.prune`: the layer computes with `weight_orig * weight_mask`, so
pruned weights are exactly zero in every forward pass of the sparse phase, whatever the
optimizer does to `weight_orig`. The optimizer's state (momentum, Adam's moments) of the
pruned layers is reset at each phase change. The phase is a function of the epoch alone,
so a resumed run is in the same phase; checkpoints hold the weights as the model computes
them plus the masks (checkpoint.model_state), and resume puts the masks back.

`DSD` is the technique the loop calls (lifecycle.py): it changes phase at the start of an
epoch, sets the schedule's "dsd" scale (1/lr_divisor in the re-dense phase), logs the
sparsity of every epoch and reports the monitored metric at the end of each phase.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn
from torch.nn.utils import prune

from .config import DSDConfig
from .lifecycle import Loop, Technique

Phase = Literal["dense", "sparse", "redense"]


def phase(cfg: DSDConfig, epoch: int, epochs: int) -> Phase:
    """The phase epoch `epoch` (counted from 1; 0 = before training) belongs to."""
    dense, sparse, _ = cfg.phase_lengths(epochs)
    if not cfg.enabled or epoch <= dense:
        return "dense"
    return "sparse" if epoch <= dense + sparse else "redense"


def layers(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """The (module, weight name) pairs DSD prunes: every layer with a weight matrix or
    kernel (linear, convolutions, LSTM matrices) except the first one."""
    found: list[tuple[nn.Module, str]] = []
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d | nn.ConvTranspose2d):
            found.append((module, "weight"))
        elif isinstance(module, nn.LSTM):  # in PyTorch's order: input weights of layer 0 first
            names = module._flat_weights_names  # stable names, whether masked or not
            found += [(module, name) for name in names if name.startswith("weight")]
    return found[1:]


def is_masked(model: nn.Module) -> bool:
    """Does `model` carry pruning masks (it is in the sparse phase)?"""
    return any(name.endswith("_mask") for name, _ in model.named_buffers())


def _parameter(module: nn.Module, name: str) -> nn.Parameter:
    """The trained tensor behind `name`: `<name>_orig` while masked."""
    masked = f"{name}_orig"
    return getattr(module, masked) if hasattr(module, masked) else getattr(module, name)


def _reset_state(optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
    for module, name in layers(model):
        optimizer.state.pop(_parameter(module, name), None)


def sparsify(model: nn.Module, cfg: DSDConfig, optimizer: torch.optim.Optimizer) -> None:
    """Enter the sparse phase: prune each layer by magnitude, reset the optimizer's state."""
    by_magnitude = prune.L1Unstructured(amount=cfg.sparsity)
    for module, name in layers(model):
        # The mask is computed on a contiguous copy: L1Unstructured cannot read weights in
        # channels_last memory format (mixed precision's choice for convolutions).
        weight = getattr(module, name).detach().contiguous()
        mask = by_magnitude.compute_mask(weight, default_mask=torch.ones_like(weight))
        prune.custom_from_mask(module, name, mask)
    _reset_state(optimizer, model)


def densify(model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Enter the re-dense phase: pruned weights become trainable again, starting at zero."""
    for module, name in layers(model):
        if prune.is_pruned(module) and hasattr(module, f"{name}_mask"):
            prune.remove(module, name)  # weight = weight_orig * mask, a plain parameter again
    _reset_state(optimizer, model)


def sparsity(model: nn.Module) -> float:
    """Share of exactly-zero weights over the layers DSD prunes (as the model computes them)."""
    weights = [getattr(module, name) for module, name in layers(model)]
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / max(sum(w.numel() for w in weights), 1)


class DSD(Technique):
    """Dense-Sparse-Dense in the loop's lifecycle."""

    name = "dsd"

    def __init__(self, cfg: DSDConfig, epochs: int, monitor: str) -> None:
        self.cfg, self.epochs, self.monitor = cfg, epochs, monitor

    def start_epoch(self, loop: Loop, epoch: int) -> None:
        now = phase(self.cfg, epoch, self.epochs)
        if now != phase(self.cfg, epoch - 1, self.epochs):  # a new phase
            if now == "sparse":
                sparsify(loop.model, self.cfg, loop.optimizer)  # prune by magnitude, keep masks
            else:
                densify(loop.model, loop.optimizer)  # lift the masks; pruned weights restart at 0
        loop.schedule.scales[self.name] = 1 / self.cfg.lr_divisor if now == "redense" else 1.0

    def end_epoch(self, loop: Loop, epoch: int, row: dict[str, float]) -> None:
        row["sparsity"] = sparsity(loop.model)  # zeros among the weights DSD prunes

    def summary(self, history: list[dict[str, float]]) -> Any:
        """The monitored metric at the end of each phase."""
        return {phase(self.cfg, int(r["epoch"]), self.epochs): r[self.monitor] for r in history}
