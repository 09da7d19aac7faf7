"""Pre-computed activations: freeze the first layers, compute their outputs once, reuse them.

The practice (transfer learning made cheap): take a model trained in an earlier run
(`init_from`), freeze its first `layers` top-level modules and train only the rest. Frozen
layers never change, so their output for a given input never changes either: one dry pass
over the data computes those activations, and every epoch after that trains the remaining
layers on the cached activations, without running the frozen part at all. The fewer
layers left to train and the larger the data set, the bigger the saving.

- `split` cuts an `nn.Sequential` model into a `Frozen` prefix and a trainable head;
  `join` puts them back together under the original module indices, so checkpoints,
  `evaluate` and `cli evaluate` see the same model (same state_dict keys) as before.
- `Frozen` stays in eval mode whatever `.train()` says: BatchNorm keeps its running
  statistics and dropout is off, so the layers really compute one fixed function (else
  the cache would be stale after the first step). Its parameters take no gradients.
- `cache` runs the frozen layers over all of x, in batches, into memory or into a
  memory-mapped `.npy` file (`cache = "disk"`) for activations larger than memory;
  `cached_splits` does it for the train, valid and test inputs. The dry pass runs in
  fp32, outside any autocast, as evaluation does.
- `cache = "off"` freezes without caching: the frozen layers run at every step. It trains
  the same weights as the cache does (tests/test_precompute.py checks it), only slower.

The cache is computed from the inputs as they are, so data augmentation must be off while
training on it (augmentation changes the inputs at every step). It is rebuilt at every
start, resumes included: one forward pass is cheap, and a stale cache is never read.
Models that are not an `nn.Sequential` (the LSTM and U-Net baselines) cannot be cut by
index: `split` refuses them with a clear error.
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import checkpoint, data
from .config import PrecomputeConfig
from .errors import ConfigError, DataError


class Frozen(nn.Sequential):
    """Layers that do not learn: always in eval mode, parameters without gradients."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> Frozen:
        """Ignore `mode`: BatchNorm statistics and dropout stay as in evaluation."""
        return super().train(False)


class Joined(nn.Sequential):
    """Frozen layers and a head as one model; `.train()` leaves the frozen ones in eval mode."""

    def __init__(self, frozen: Frozen, head: nn.Sequential) -> None:
        super().__init__(OrderedDict([*frozen._modules.items(), *head._modules.items()]))
        self.frozen_layers = len(frozen)  # a plain int: not a module, not in the state_dict

    def train(self, mode: bool = True) -> Joined:
        super().train(mode)
        for layer in list(self)[: self.frozen_layers]:
            layer.eval()
        return self


def split(model: nn.Module, cfg: PrecomputeConfig) -> tuple[Frozen, nn.Sequential]:
    """Frozen prefix model[:N] and trainable rest model[N:] (they share the model's layers).

    Both keep the original indices as module names ("0", "1", ... and "N", ...), so their
    state_dict keys are the unsplit model's.
    """
    if not isinstance(model, nn.Sequential):
        raise ConfigError(
            "precompute.layers needs an nn.Sequential model to cut by index, and "
            f"{type(model).__name__} is not one; set precompute.layers=0."
        )
    n = cfg.layers
    if not 1 <= n < len(model):
        raise ConfigError(
            f"precompute.layers must lie between 1 and {len(model) - 1} for this model "
            f"({len(model)} top-level layers, the last ones must stay trainable); got {n}."
        )
    layers = list(model._modules.items())
    frozen, head = Frozen(OrderedDict(layers[:n])), nn.Sequential(OrderedDict(layers[n:]))
    if not any(p.requires_grad for p in head.parameters()):
        raise ConfigError(
            f"precompute.layers={n} leaves no trainable parameters in the layers after it; "
            "freeze fewer layers."
        )
    # The head's input is the cache itself (a view of it in `evaluate`): an in-place first
    # layer, such as ReLU(inplace=True), would write into it.
    if getattr(head[0], "inplace", False):
        setattr(head[0], "inplace", False)  # noqa: B010 (the attribute is not typed)
    return frozen, head


def join(frozen: Frozen, head: nn.Sequential) -> nn.Sequential:
    """The whole model again, with the original module indices, so its state_dict keys equal
    the unsplit model's (checkpoints and `evaluate` stay unchanged)."""
    return Joined(frozen, head)


def load_init(model: nn.Module, run: str) -> None:
    """Load the best weights of an earlier run (its last ones when it saved no best)."""
    try:
        path = checkpoint.find(Path(run), "best.pt")
    except FileNotFoundError:
        path = checkpoint.find(Path(run), "last.pt")  # FileNotFoundError names the file
    state = checkpoint.load(path)
    mine, theirs = model.state_dict(), state["model"]
    missing = [k for k in mine if k not in theirs]
    unexpected = [k for k in theirs if k not in mine]
    reshaped = [k for k in mine if k in theirs and mine[k].shape != theirs[k].shape]
    if missing or unexpected or reshaped:
        first = (missing or unexpected or reshaped)[0]
        raise ConfigError(
            f"precompute.init_from {run!r} holds weights of a different model "
            f"({len(missing)} missing, {len(unexpected)} unexpected and {len(reshaped)} "
            f"differently shaped tensors, first {first!r}); use the same model settings."
        )
    model.load_state_dict(theirs)


@torch.no_grad()
def cache(
    frozen: Frozen, x: torch.Tensor, batch_size: int, path: Path | None = None
) -> torch.Tensor:
    """The frozen layers' outputs for all of x, in batches; in memory, or in a memory-mapped
    file at `path` (numpy.memmap / torch.from_file) when cache == "disk".

    In memory the result lives on x's device. On disk it is a CPU tensor backed by the
    `.npy` file at `path` (copy-on-write: writing into it never changes the file); the file
    is written under a temporary name and renamed when complete, so it is never half-written.
    """
    frozen.eval()  # a Frozen is always in eval mode; a plain Sequential is put there
    if len(x) == 0:
        raise DataError("Cannot pre-compute activations of an empty split.")
    first = frozen(x[:batch_size])  # the first batch tells the output's shape and type
    shape = (len(x), *first.shape[1:])
    if path is None:
        out = torch.empty(shape, dtype=first.dtype, device=first.device)
        for start in range(0, len(x), batch_size):
            part = first if start == 0 else frozen(x[start : start + batch_size])
            out[start : start + len(part)] = part
        return out
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        os.close(fd)
        kind = torch.empty(0, dtype=first.dtype).numpy().dtype
        mapped = np.lib.format.open_memmap(tmp, mode="w+", dtype=kind, shape=shape)
        for start in range(0, len(x), batch_size):
            part = first if start == 0 else frozen(x[start : start + batch_size])
            mapped[start : start + len(part)] = part.cpu().numpy()
        mapped.flush()
        del mapped  # close the map before the rename
        os.replace(tmp, path)
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise
    return torch.from_numpy(np.load(path, mmap_mode="c"))


def cached_splits(
    frozen: Frozen, splits: data.Splits, batch_size: int, folder: Path | None
) -> data.Splits:
    """splits with every x replaced by its cached activations (y unchanged).

    `folder` None keeps them in memory, on the inputs' device; else they go to train.npy,
    valid.npy and test.npy in it, read back as CPU tensors: for inputs on the CPU only,
    since the loop indexes its data on the device it trains on.
    """
    device = splits.train[0].device
    if folder is not None and device.type != "cpu":
        raise ConfigError(
            f"precompute.cache='disk' keeps the activations in CPU files, and this run trains "
            f"on {device}; use precompute.cache='memory' (or 'off')."
        )

    def cached(name: str, pair: data.Pair) -> data.Pair:
        path = None if folder is None else Path(folder) / f"{name}.npy"
        return cache(frozen, pair[0], batch_size, path), pair[1]

    valid = None if splits.valid is None else cached("valid", splits.valid)
    return data.Splits(
        cached("train", splits.train), valid, cached("test", splits.test), splits.classes
    )


def prepare(
    model: nn.Module,
    splits: data.Splits,
    cfg: PrecomputeConfig,
    batch_size: int,
    run_dir: Path,
    resumed: bool,
) -> tuple[nn.Module, nn.Module, data.Splits]:
    """(the module to train, the whole model, the splits to train on) for the loop.

    With `layers` off it is (model, model, splits). Otherwise the first `layers` are frozen
    (from `init_from` on a new run); with a cache the training splits hold the frozen
    layers' outputs and the loop trains the head alone; `cache = "off"` trains the whole
    model with the frozen layers running in every step. Checkpoints hold the whole model.
    """
    if not cfg.layers:
        return model, model, splits
    if cfg.init_from and not resumed:
        load_init(model, cfg.init_from)
    frozen, head = split(model, cfg)
    whole = join(frozen, head)
    if cfg.cache == "off":
        return whole, whole, splits
    folder = run_dir / "cache" if cfg.cache == "disk" else None
    return head, whole, cached_splits(frozen, splits, batch_size, folder)
