"""`torch.compile` for the training step, with a clear fallback when it does not work.

Compilation traces the model into fused kernels. It pays off for long runs on a GPU; on a
small CPU job its start-up (tens of seconds) can cost more than it saves, so it is off by
default. Where it fails (no C++ compiler, an unsupported operation, an old platform), the
run says so in one line and trains the eager model: nothing else changes. The loop keeps
the eager module for checkpoints and evaluation; only the training forward pass uses the
compiled one, which shares its parameters.
"""

from __future__ import annotations

import copy
import sys
from typing import cast

import torch
from torch import nn

from .config import CompileConfig


def maybe_compile(model: nn.Module, cfg: CompileConfig, example: torch.Tensor) -> nn.Module:
    """The compiled `model` when compiling a copy of it and running a training step on
    `example` works, else `model` itself (with a message on stderr)."""
    if not cfg.enabled:
        return model
    mode = None if cfg.backend != "inductor" else cfg.mode
    try:
        plain = getattr(model, "module", model)  # a DDP wrapper is not copied, its module is
        trial = torch.compile(copy.deepcopy(plain), backend=cfg.backend, mode=mode)
        trial(example).float().sum().backward()  # compile errors surface at the first call
    except Exception as err:  # any failure means: train eagerly
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"torch.compile failed ({reason}); training the eager model.", file=sys.stderr)
        return model
    return cast(nn.Module, torch.compile(model, backend=cfg.backend, mode=mode))
