"""Sanity checks: the NaN guard and the capacity (overfit) check.

NaN guard: a non-finite loss stops training at once, naming the first layer whose output
went non-finite. BatchNorm can mask a bad layer's values (it renormalises them), so the
loss alone is a late signal; the guard re-runs the failing batch with a hook on every
layer to find where the trouble starts.

Capacity check (`python -m <package> overfit`): with regularisation off and a small
subset, a model that can learn at all should fit its training data almost perfectly. If
it cannot, the bug is in the model or the pipeline, not in the amount of data.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from . import data, task
from .config import Config


class NonFiniteError(RuntimeError):
    """Training produced a NaN or an infinity."""


def first_nonfinite(model: nn.Module, x: torch.Tensor) -> str:
    """Name where a forward pass on `x` first produces a non-finite value."""
    if not torch.isfinite(x).all():
        return "the input batch itself"
    for name, param in model.named_parameters():
        if not torch.isfinite(param).all():
            return f"parameter {name!r}"
    found: list[str] = []

    def watch(name: str, module: nn.Module) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if isinstance(output, tuple):  # e.g. nn.LSTM: (outputs, (h, c))
                output = output[0]
            if not found and isinstance(output, torch.Tensor) and not torch.isfinite(output).all():
                found.append(f"layer {name!r} ({type(module).__name__})")

        return module.register_forward_hook(hook)

    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]
    handles = [watch(name, module) for name, module in leaves]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else "the loss (every layer's output was finite)"


def nonfinite_error(model: nn.Module, x: torch.Tensor, epoch: int, step: int) -> NonFiniteError:
    where = first_nonfinite(model, x)
    return NonFiniteError(
        f"Non-finite loss at epoch {epoch}, step {step}: first produced by {where}. "
        "Try a lower learning rate, gradient clipping (train.grad_clip), or (if the model has "
        "BatchNorm) model.batchnorm=false to see the raw activations."
    )


def overfit_config(cfg: Config, subset: int, max_epochs: int) -> Config:
    """The capacity-check version of `cfg`: small subset, no regularisation, stop at target.

    The target is the task's: a fixed train metric, or one measured on the subset itself
    (e.g. a gain over the noisy input's PSNR).
    """
    small = dataclasses.replace(cfg.data, subset=cfg.data.subset or subset)
    cfg = dataclasses.replace(
        cfg,
        data=small,
        optim=dataclasses.replace(cfg.optim, weight_decay=0.0),
        train=dataclasses.replace(
            cfg.train,
            final=False,
            epochs=max_epochs,
            stop_at=task.overfit_target(*data.load(small).train),
            eval_train=True,
            run_name=cfg.train.run_name or "overfit",
        ),
    )
    return cfg


def overfit_verdict(summary: dict[str, Any], target: float) -> tuple[bool, str]:
    """Whether the capacity check passed, and a sentence that says what it reached."""
    reached = summary[f"train_eval_{task.METRIC}"]
    ok = reached >= target if task.HIGHER_IS_BETTER else reached <= target
    epochs = summary["epochs"]
    if ok:
        return True, f"Capacity check passed: train {task.METRIC} {reached:.4f} in {epochs} epochs."
    return False, (
        f"Capacity check failed: train {task.METRIC} reached {reached:.4f} after {epochs} epochs "
        f"(target {target:.4g}). The model cannot fit a small subset: make it bigger "
        "(model.preset=scaled, depth, width), train longer or with another learning rate, "
        "and look for bugs in the data or the loss before adding data or regularisation."
    )
