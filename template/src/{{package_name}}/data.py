"""Data: the default set or your own, split into train/valid/test, summarised.

`data.source` empty uses the built-in default data (dataset.py). Otherwise it names
- a `.npz` file with arrays `x` (N, C, H, W) or (N, C, L) and `y`, and optionally `x_test`,
  `y_test` (kept as the test split). `y` holds integer labels (N,) when the task is
  labelled (task.LABELLED), else target arrays such as the clean images of a denoiser; or
- a folder: with one sub-folder of images per class (`cats/001.png`, `dogs/002.jpg`, ...)
  when the task is labelled, else of images (any sizes, in sub-folders or not) that
  `task.prepare` turns into (input, target) pairs.
Without a test split one is carved off with `data.test_fraction` and a fixed seed, so the
test set never changes between runs. The validation split comes from what remains;
`train.final` trains on train+valid and keeps the test set for the final report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from . import dataset, task
from .config import DataConfig
from .errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"}
Pair = tuple[torch.Tensor, torch.Tensor]


@dataclass
class Splits:
    train: Pair
    valid: Pair | None  # None in final mode (valid is folded into train)
    test: Pair
    classes: list[str]

    @property
    def in_shape(self) -> tuple[int, ...]:
        return tuple(self.train[0].shape[1:])

    def to(self, device: torch.device) -> Splits:
        """Small data lives on the training device: no per-batch host-to-device copy."""

        def move(pair: Pair) -> Pair:
            return pair[0].to(device), pair[1].to(device)

        valid = None if self.valid is None else move(self.valid)
        return Splits(move(self.train), valid, move(self.test), self.classes)


def load_npz(path: Path) -> dict[str, Any]:
    """Arrays `x`, `y` and optionally `x_test`, `y_test` from a .npz file."""
    with np.load(path) as f:
        missing = {"x", "y"} - set(f.files)
        if missing:
            raise DataError(f"{path} lacks the arrays {sorted(missing)} (it has {f.files}).")
        out: dict[str, Any] = {k: f[k] for k in ("x", "y", "x_test", "y_test") if k in f.files}
    out["x"] = out["x"].astype(np.float32)
    if "x_test" in out:
        out["x_test"] = out["x_test"].astype(np.float32)
    if not task.LABELLED:  # targets are arrays (e.g. clean images), not classes
        out.update({k: out[k].astype(np.float32) for k in ("y", "y_test") if k in out})
        return {**out, "classes": []}
    labels = np.concatenate([out["y"], out.get("y_test", np.empty(0, np.int64))]).astype(np.int64)
    out["classes"] = [str(c) for c in range(int(labels.max()) + 1)]
    return out


def read_images(paths: list[Path], same_size: bool) -> list[np.ndarray]:
    """Images as float32 (C, H, W) in [0, 1]; grayscale or RGB as the first one is.

    `same_size` resizes every image to the first one's size.
    """
    from PIL import Image  # matplotlib depends on Pillow

    first = Image.open(paths[0])
    mode = "L" if first.mode in ("1", "L", "LA", "I", "I;16") else "RGB"
    images = []
    for path in paths:
        image = Image.open(path).convert(mode)
        pixels = np.asarray(image.resize(first.size) if same_size else image, np.float32) / 255.0
        images.append(pixels[None] if mode == "L" else pixels.transpose(2, 0, 1))
    return images


def load_image_folder(root: Path) -> dict[str, Any]:
    """Images in one sub-folder per class, scaled to [0, 1]; all resized to the first one's size."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    files = [
        (path, label)
        for label, name in enumerate(classes)
        for path in sorted((root / name).iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not files:
        raise DataError(f"{root} has no class sub-folders with images in them.")
    x = np.stack(read_images([path for path, _ in files], same_size=True))
    return {"x": x, "y": np.array([label for _, label in files], np.int64), "classes": classes}


def load_plain_folder(root: Path) -> dict[str, Any]:
    """Every image under `root`, at its own size, for `task.prepare` to make pairs of."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{root} has no images in it.")
    return {"images": read_images(files, same_size=False), "classes": []}


def load_arrays(cfg: DataConfig) -> dict[str, Any]:
    """The raw arrays of the configured source."""
    if not cfg.source:
        return dataset.load_default()
    path = Path(cfg.source)
    if path.is_dir():
        return load_image_folder(path) if task.LABELLED else load_plain_folder(path)
    if path.suffix == ".npz" and path.is_file():
        return load_npz(path)
    raise DataError(f"data.source {cfg.source!r} is neither a .npz file nor a folder of images.")


def _split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    stratify = y if y.ndim == 1 and np.bincount(y).min() >= 2 else None
    return train_test_split(x, y, test_size=fraction, random_state=seed, stratify=stratify)


def load(cfg: DataConfig, final: bool = False) -> Splits:
    """Train/valid/test tensors for `cfg` (train+valid/test in final mode)."""
    arrays = task.prepare(load_arrays(cfg), cfg)
    x, y = arrays["x"], arrays["y"]
    if not len(x) or not len(arrays.get("x_test", x)):
        raise DataError(f"{cfg.source or 'The default data'} gave no training or no test samples.")
    if "x_test" in arrays:
        x_test, y_test = arrays["x_test"], arrays["y_test"]
    else:  # a fixed seed of its own: the test set is the same whatever split_seed says
        x, x_test, y, y_test = _split(x, y, cfg.test_fraction, seed=12345)
    x_train, x_valid, y_train, y_valid = _split(x, y, cfg.valid_fraction, cfg.split_seed)
    if final:
        x_train, y_train = np.concatenate([x_train, x_valid]), np.concatenate([y_train, y_valid])
    if cfg.subset:
        keep = np.random.default_rng(cfg.split_seed).permutation(len(x_train))[: cfg.subset]
        x_train, y_train = x_train[keep], y_train[keep]

    def pair(a: np.ndarray, b: np.ndarray) -> Pair:
        return torch.from_numpy(np.ascontiguousarray(a)), torch.from_numpy(np.ascontiguousarray(b))

    valid = None if final else pair(x_valid, y_valid)
    return Splits(pair(x_train, y_train), valid, pair(x_test, y_test), list(arrays["classes"]))


def summarize(splits: Splits) -> dict[str, Any]:
    """Shapes, split sizes, and per split: value range, mean and std (per channel for
    images and sequences), values that are not finite, and per-class counts.

    Per split is what shows a shift between them (a test set brighter than the training
    set); non-finite values are counted, and the statistics are taken over the finite ones.
    """
    parts = {"train": splits.train, "valid": splits.valid, "test": splits.test}
    out: dict[str, Any] = {
        "input_shape": list(splits.in_shape),
        "dtype": str(splits.train[0].dtype).replace("torch.", ""),
        "sizes": {name: len(p[0]) for name, p in parts.items() if p is not None},
        "splits": {name: _stats(p[0]) for name, p in parts.items() if p is not None},
    }
    if splits.classes:
        out["classes"] = splits.classes
        out["class_counts"] = {
            name: torch.bincount(p[1], minlength=len(splits.classes)).tolist()
            for name, p in parts.items()
            if p is not None
        }
    return out


def _stats(x: torch.Tensor) -> dict[str, Any]:
    """min, max, mean, std and per-channel mean/std of the finite values of x (N, C, ...)."""
    x = x.double()
    finite = torch.isfinite(x)
    values = x[finite]
    channels = x.transpose(0, 1).reshape(x.shape[1], -1) if x.ndim > 2 else x.reshape(1, -1)
    kept = [row[torch.isfinite(row)] for row in channels]
    return {
        "min": values.min().item() if len(values) else None,
        "max": values.max().item() if len(values) else None,
        "mean": values.mean().item() if len(values) else None,
        "std": values.std().item() if len(values) > 1 else None,
        "channel_mean": [row.mean().item() if len(row) else None for row in kept],
        "channel_std": [row.std().item() if len(row) > 1 else None for row in kept],
        "not_finite": int((~finite).sum()),
    }
