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
