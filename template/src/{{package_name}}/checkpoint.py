"""Checkpoints: written atomically, loaded with `weights_only=True`.

A checkpoint is written through `files.atomic` (a temporary file, flushed, renamed over
the old one), so a crash mid-write leaves the last good checkpoint intact. It holds only
tensors and plain Python values, which is what `torch.load(weights_only=True)` accepts:
loading one never runs arbitrary code.

Layout: {"model", "masks", "optimizer", "epoch", "history", "best", "config", "rng",
"schedule", "techniques": {name: state}, and the step wrappers' states ("precision",
"augment_rng")}. `load` turns a checkpoint of the older layout (each technique's state
under its own top-level key) into this one.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from .errors import DataError
from .files import atomic

# Techniques whose state older checkpoints kept at the top level.
_OLD_TOP_LEVEL = ("switch",)


def save(state: dict[str, Any], path: Path) -> None:
    """Write `state` to `path` atomically."""
    with atomic(path) as f:
        torch.save(state, f)


def load(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save`; a damaged file is a DataError naming it."""
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except pickle.UnpicklingError:  # torch's message is a page on weights_only
        raise DataError(f"{path} is not a readable checkpoint (not a PyTorch file).") from None
    except EOFError:
        raise DataError(f"{path} is not a readable checkpoint (empty or cut short).") from None
    except (RuntimeError, OSError, zipfile.BadZipFile):  # torch's zip reader: a paragraph
        raise DataError(f"{path} is not a readable checkpoint (damaged or cut short).") from None
    if not isinstance(state, dict):
        raise DataError(f"{path} is not a checkpoint written by this project.")
    if "techniques" not in state and "optimizer" in state:  # the older layout
        state["techniques"] = {k: state.pop(k) for k in _OLD_TOP_LEVEL if k in state}
        if "augment_rng" in state:
            state["augment"] = {"rng": state.pop("augment_rng")}
    return state


def rank(history: list[dict[str, float]], monitor: str, higher_is_better: bool) -> list[int]:
    """The epochs of `history`, best first by `monitor` (ties: the earlier epoch first)."""
    sign = -1.0 if higher_is_better else 1.0
    order = sorted(history, key=lambda row: (sign * row[monitor], row["epoch"]))
    return [int(row["epoch"]) for row in order]


def keep_top(state: dict[str, Any], folder: Path, top: list[int]) -> None:
    """Keep `top-<epoch>.pt` for the epochs in `top`: write this epoch's state when it is
    one of them, and only then delete the files of epochs that dropped out (so the k best
    are on disk at every moment)."""
    if state["epoch"] in top:
        save(state, folder / f"top-{state['epoch']}.pt")
    for path in folder.glob("top-*.pt"):
        epoch = path.stem.removeprefix("top-")
        if epoch.isdigit() and int(epoch) not in top:
            path.unlink(missing_ok=True)


def find(run: Path, name: str = "last.pt") -> Path:
    """The checkpoint file of a run folder (or the file itself when given one)."""
    run = Path(run)
    path = run if run.is_file() else run / "checkpoints" / name
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}; is {run} a run folder?")
    return path


def remove_partial_writes(run: Path) -> list[Path]:
    """Delete the temporary files that a kill during a write left in a run folder and its
    checkpoints/ (`files.atomic` names them `.<name>.<random>.tmp`); the files they were
    to replace are intact. Call it only when no process writes to the run."""
    found = [p for folder in (run, run / "checkpoints") for p in folder.glob(".*.*.tmp")]
    for path in found:
        path.unlink(missing_ok=True)
    return found


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
