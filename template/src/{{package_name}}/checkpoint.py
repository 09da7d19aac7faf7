"""Checkpoints: written atomically, loaded with `weights_only=True`.

A checkpoint is written to a temporary file in the same folder, flushed to disk, then
renamed over the old one (`os.replace` is atomic), so a crash mid-write leaves the last
good checkpoint intact. It holds only tensors and plain Python values, which is what
`torch.load(weights_only=True)` accepts: loading one never runs arbitrary code.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune


def save(state: dict[str, Any], path: Path) -> None:
    """Write `state` to `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save`."""
    return torch.load(path, map_location=map_location, weights_only=True)


def find(run: Path, name: str = "last.pt") -> Path:
    """The checkpoint file of a run folder (or the file itself when given one)."""
    run = Path(run)
    path = run if run.is_file() else run / "checkpoints" / name
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}; is {run} a run folder?")
    return path


def model_state(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(weights, masks) of `model`. The weights are what the model computes with, so they
    load into a freshly built model; a pruned layer (`torch.nn.utils.prune`: `weight_orig`
    times `weight_mask`) is saved as its masked weight, and its mask separately."""
    state = model.state_dict()
    masks = {k[: -len("_mask")]: v for k, v in state.items() if k.endswith("_mask")}
    weights = {k: v for k, v in state.items() if not k.endswith(("_orig", "_mask"))}
    for key, mask in masks.items():
        weights[key] = state[f"{key}_orig"] * mask
    return weights, masks


def restore_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Prune `model` again with the saved `masks` (after loading the weights)."""
    for key, mask in masks.items():
        path, _, name = key.rpartition(".")
        prune.custom_from_mask(model.get_submodule(path), name, mask)
