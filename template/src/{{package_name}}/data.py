"""Data: the default set or your own, split into train/valid/test, summarised.

`data.source` empty uses the built-in default data (dataset.py). Otherwise it names
- a `.npz` file with arrays `x` (N, C, H, W) or (N, C, L) and `y`, and optionally `x_test`,
  `y_test` (kept as the test split). `y` holds integer labels (N,) when the task is
  labelled (task.LABELLED), else target arrays such as the clean images of a denoiser; or
- a folder: with one sub-folder of images per class (`cats/001.png`, `dogs/002.jpg`, ...)
  when the task is labelled, else of images (any sizes, in sub-folders or not) that
  `task.prepare` turns into (input, target) pairs; or
- tar shards of such a folder (`data shard`, shards.py): the folder holding them, or
  their index.json.
Without a test split one is carved off with `data.test_fraction` and a fixed seed, so the
test set never changes between runs. The validation split comes from what remains;
`train.final` trains on train+valid and keeps the test set for the final report.

Your own data is checked before anything trains, and refused in one sentence that says
what is wrong: arrays of numbers only (no strings or objects), `x` and `y` of one length,
`x_test` shaped like `x`; labels whole numbers 0..K-1; targets shaped like `x`. Arrays
without the channel axis, (N, H, W) for images or (N, L) for sequences (the default data's
sample axes, `dataset.SAMPLE_AXES`), get one of size 1, with a note. At least MIN_SAMPLES
samples in all, and labelled data at least enough of each class for the valid and test
splits to get one (7 with the default fractions; the error says how many). In a folder,
hidden files and folders (`.ipynb_checkpoints`) are skipped, and so are folders without
images; a file that is not a readable image is named.
"""

from __future__ import annotations

import math
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import dataset, folders, shards, stream, task
from .config import DataConfig
from .errors import ConfigError, DataError
from .sources import Lazy, path_hash, reason

MIN_SAMPLES = 10  # fewer cannot give train, valid and test a sample each and still train
KINDS = {"U": "strings", "S": "bytes", "O": "Python objects", "c": "complex numbers"}
Pair = tuple[Any, torch.Tensor]  # (inputs: a tensor, or a Lazy on the stream path, labels)


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
        """Small data lives on the training device: no per-batch host-to-device copy (on
        the stream path the labels do; a Lazy decodes its samples onto the device)."""

        def move(pair: Pair) -> Pair:
            return pair[0].to(device), pair[1].to(device)

        valid = None if self.valid is None else move(self.valid)
        return Splits(move(self.train), valid, move(self.test), self.classes)


def load_npz(path: Path) -> dict[str, Any]:
    """Arrays `x`, `y` and optionally `x_test`, `y_test` from a .npz file, checked."""
    try:
        f = np.load(path)  # allow_pickle=False: object arrays are refused, never unpickled
    except (OSError, ValueError, EOFError) as err:
        raise DataError(f"{path} is not a readable .npz file ({reason(err)}).") from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise DataError(f"{path} holds one bare array: save x and y with np.savez(path, x=x, y=y).")
    with f:
        missing = {"x", "y"} - set(f.files)
        if missing:
            raise DataError(f"{path} lacks the arrays {sorted(missing)} (it has {f.files}).")
        out: dict[str, Any] = {}
        for key in ("x", "y", "x_test", "y_test"):
            try:
                out.update({key: f[key]} if key in f.files else {})
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
                why = reason(err)
                if "allow_pickle" in why:  # never unpickled: loading could run code
                    why = "it holds Python objects; save arrays of numbers"
                raise DataError(f"{path}: the array {key!r} cannot be read ({why}).") from None
    return check_arrays(out, str(path))


def check_lazy(arrays: dict[str, Any], source: str) -> dict[str, Any]:
    """check_arrays for memory-mapped inputs: the labels and shapes are checked (on a
    stand-in of one value per sample), the inputs' values are not read."""
    stand_in = {
        k: np.zeros((len(v),) + (1,) * (len(v.shape) - 1), np.float32) if k[0] == "x" else v
        for k, v in arrays.items()
    }
    checked = check_arrays(stand_in, source)
    for key in ("x", "x_test"):
        if key in arrays and len(arrays[key].shape) != len(dataset.SAMPLE_AXES) + 1:
            raise DataError(
                f"{source}: {key} has shape {arrays[key].shape}; data.mode = 'stream' takes "
                f"(N, {', '.join(dataset.SAMPLE_AXES)}) arrays."
            )
    return {**checked, **{k: v for k, v in arrays.items() if k[0] == "x"}}


def check_arrays(arrays: dict[str, Any], source: str) -> dict[str, Any]:
    """Your own arrays as float32 inputs and int64 labels (or float32 targets), or a
    DataError that says what is wrong with them (see the module's docstring)."""
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"{source} has only one of x_test and y_test: give both or neither.")
    out = {}
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            kind = KINDS.get(array.dtype.kind, str(array.dtype))
            raise DataError(
                f"{source}: {key} holds {kind}; it must hold numbers (integers or floats)."
            )
        image_like = key[0] == "x" or not task.LABELLED  # inputs, and targets of pairs
        out[key] = _with_channels(array, key, source) if image_like else array
    x, y = out["x"], out["y"]
    if x.shape[1:] != out.get("x_test", x).shape[1:]:
        raise DataError(
            f"{source}: x_test has samples of shape {out['x_test'].shape[1:]} and x of "
            f"{x.shape[1:]}: they must be the same."
        )
    for xs, ys in (("x", "y"), ("x_test", "y_test")):
        if xs in out and len(out[xs]) != len(out[ys]):
            raise DataError(
                f"{source}: {xs} has {len(out[xs])} samples and {ys} {len(out[ys])}: "
                "they must be the same."
            )
        if xs in out and task.LABELLED and out[ys].ndim != 1:
            raise DataError(
                f"{source}: {ys} has shape {out[ys].shape}: labels are one whole number per "
                "sample, shape (N,)."
            )
        if xs in out and not task.LABELLED and out[ys].shape != out[xs].shape:
            raise DataError(
                f"{source}: {ys} has shape {out[ys].shape} and {xs} {out[xs].shape}: "
                "targets are one image per input, of the same shape."
            )
    if not len(x):
        raise DataError(f"{source}: x holds no samples.")
    with np.errstate(over="ignore", invalid="ignore"):  # too large for float32: infinite
        out.update({k: v.astype(np.float32) for k, v in out.items() if k[0] == "x"})
        if not task.LABELLED:  # targets are arrays (e.g. clean images), not classes
            out.update({k: v.astype(np.float32) for k, v in out.items() if k[0] == "y"})
            return {**out, "classes": []}
    labels = np.concatenate([out["y"], out.get("y_test", y[:0])])
    if labels.dtype.kind == "f" and not (np.isfinite(labels) & (labels == np.round(labels))).all():
        odd = labels[~(np.isfinite(labels) & (labels == np.round(labels)))][0]
        raise DataError(
            f"{source}: y holds a label {odd}; labels are whole numbers 0, 1, 2, ... "
            "(the class of each sample)."
        )
    if labels.min() < 0 or labels.max() >= len(labels):
        bad = int(labels.min() if labels.min() < 0 else labels.max())
        raise DataError(
            f"{source}: y holds the label {bad} for {len(labels)} samples; labels are "
            "class numbers 0, 1, 2, ..., K-1 for K classes."
        )
    out.update({k: out[k].astype(np.int64) for k in ("y", "y_test") if k in out})
    out["classes"] = [str(c) for c in range(int(labels.max()) + 1)]
    return out


def _with_channels(array: np.ndarray, key: str, source: str) -> np.ndarray:
    """`array` of (N, C, *SAMPLE_AXES[1:]); one without the channel axis gets it, with a note.
    Targets (y) are checked against x afterwards; inputs here."""
    axes = dataset.SAMPLE_AXES
    wanted = f"(N, {', '.join(axes)})"
    if array.ndim == len(axes):  # no channel axis: one channel
        print(
            f"note: {source}: {key} of shape {array.shape} has no channel axis; "
            f"using it as {wanted} with C = 1.",
            file=sys.stderr,
        )
        array = array[:, None]
    if key[0] == "x" and (array.ndim != len(axes) + 1 or 0 in array.shape[1:]):
        raise DataError(
            f"{source}: {key} has shape {array.shape}; this model takes {wanted} arrays "
            f"({len(axes)} sample axes, none of size 0)."
        )
    return array


def load_arrays(cfg: DataConfig) -> dict[str, Any]:
    """The raw arrays of the configured source."""
    if not cfg.source:
        stream.choose(cfg, 0, False, cfg.source)
        return dataset.load_default()
    path = Path(cfg.source)
    try:
        if path.is_dir() and (path / "x.npy").is_file():
            arrays = folders.array_folder(path, cfg, streamable=task.LABELLED)
            lazy = isinstance(arrays["x"], Lazy)
            return check_lazy(arrays, str(path)) if lazy else check_arrays(arrays, str(path))
        if path.is_dir() and len(dataset.SAMPLE_AXES) != 3:
            raise DataError(
                f"data.source {cfg.source!r} is a folder of images, and this model takes "
                f"sequences: give a .npz file (or a folder with x.npy and y.npy) of (N, "
                f"{', '.join(dataset.SAMPLE_AXES)}) arrays."
            )
        if shards.is_shards(path) and len(dataset.SAMPLE_AXES) == 3:
            return shards.load(path, cfg)
        if path.is_dir():
            if task.LABELLED:
                return folders.image_folder(path, cfg)
            stream.choose(cfg, 0, False, cfg.source)  # the U-Net's patches live in memory
            return folders.plain_folder(path, cfg)
        if path.suffix == ".npz" and path.is_file():
            mapped = folders.npz_file(path, cfg, streamable=task.LABELLED)
            return load_npz(path) if mapped is None else check_lazy(mapped, str(path))
    except (OSError, ValueError) as err:  # unreadable folder, a NUL in the name ...
        if isinstance(err, DataError):
            raise
        raise DataError(f"data.source {cfg.source!r} cannot be read ({reason(err)}).") from None
    raise DataError(f"data.source {cfg.source!r} is neither a .npz file nor a folder of images.")


def _split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """A seeded split off `fraction` of (x, y); stratified by label when every class has
    two samples and both parts can hold one of each (else scikit-learn refuses)."""
    held = math.ceil(fraction * len(x))
    kinds = np.unique(y, return_counts=True)[1] if y.ndim == 1 else np.zeros(0)
    fits = len(kinds) and kinds.min() >= 2 and min(held, len(x) - held) >= len(kinds)
    stratify = y if fits else None
    from sklearn.model_selection import train_test_split  # a second at import: only here

    return train_test_split(x, y, test_size=fraction, random_state=seed, stratify=stratify)


def check_sizes(arrays: dict[str, Any], cfg: DataConfig) -> None:
    """Refuse data too small to split: below MIN_SAMPLES in all, or (labelled) a class with
    too few samples for the valid and test splits to get one of it."""
    source = cfg.source or "The default data"
    x, y = arrays["x"], arrays["y"]
    total = len(x) + len(arrays.get("x_test", []))
    if not len(x) or not len(arrays.get("x_test", x)):
        raise DataError(f"{source} gave no training or no test samples.")
    if total < MIN_SAMPLES:
        raise DataError(
            f"{source} has {total} samples; at least {MIN_SAMPLES} are needed to split them "
            "into train, valid and test."
        )
    rest = len(x) - (0 if "x_test" in arrays else math.ceil(cfg.test_fraction * len(x)))
    valid = math.ceil(cfg.valid_fraction * rest)
    if min(rest - valid, valid) < 1:  # train_test_split would refuse with a traceback
        raise DataError(
            f"{source}: data.valid_fraction {cfg.valid_fraction:g} and data.test_fraction "
            f"{cfg.test_fraction:g} leave {max(rest - valid, 0)} of {total} samples to train "
            f"on and {valid} to validate: give both at least one."
        )
    if not task.LABELLED:
        return
    share = cfg.valid_fraction * (1 if "x_test" in arrays else 1 - cfg.test_fraction)
    if "x_test" not in arrays:
        share = min(share, cfg.test_fraction)
    need = math.ceil(1 / share - 1e-9)
    counts = np.bincount(y, minlength=len(arrays["classes"]))
    few = [(name, int(n)) for name, n in zip(arrays["classes"], counts, strict=False) if n < need]
    few = [(name, n) for name, n in few if n]  # a label no sample has is no class to split
    if few:
        name, n = few[0]
        fractions = f"data.valid_fraction {cfg.valid_fraction:g}" + (
            "" if "x_test" in arrays else f" and data.test_fraction {cfg.test_fraction:g}"
        )
        more = f" (and {len(few) - 1} more classes)" if len(few) > 1 else ""
        raise DataError(
            f"{source}: class {name!r} has {n} samples{more}; each class needs at least "
            f"{need} with {fractions}, so that every split gets one."
        )


def load(cfg: DataConfig, final: bool = False) -> Splits:
    """Train/valid/test data for `cfg` (train+valid/test in final mode): tensors on the
    memory path, Lazy inputs (labels still tensors) on the stream path (stream.py)."""
    if not 0 <= cfg.split_seed < 2**32:  # what numpy and scikit-learn take
        raise ConfigError(f"data.split_seed must lie in [0, 2**32); got {cfg.split_seed}.")
    arrays = task.prepare(load_arrays(cfg), cfg)
    check_sizes(arrays, cfg)
    x, y = arrays["x"], arrays["y"]
    if "relative" in arrays:  # a folder: each file's split fixed by its path (see _by_path)
        rest, test, train, valid = _by_path(arrays["relative"], cfg)
    else:  # the test split has a fixed seed of its own: the same whatever split_seed says
        rest = np.arange(len(x))
        if "x_test" not in arrays:
            rest, test = _split(rest, y, cfg.test_fraction, seed=12345)[:2]
        train, valid = _split(rest, y[rest], cfg.valid_fraction, cfg.split_seed)[:2]
    if "x_test" in arrays:
        x_test, y_test = arrays["x_test"], arrays["y_test"]
    else:
        x_test, y_test = _take(x, test), y[test]
    if final:
        train = np.concatenate([train, valid])
    if cfg.subset:
        train = train[np.random.default_rng(cfg.split_seed).permutation(len(train))[: cfg.subset]]

    def pair(a: Any, b: np.ndarray) -> Pair:
        labels = torch.from_numpy(np.ascontiguousarray(b))
        return (a if isinstance(a, Lazy) else torch.from_numpy(np.ascontiguousarray(a))), labels

    valid_pair = None if final else pair(_take(x, valid), y[valid])
    splits = Splits(pair(_take(x, train), y[train]), valid_pair, pair(x_test, y_test), [])
    splits.classes = list(arrays["classes"])
    return splits


def _take(x: Any, rows: np.ndarray) -> Any:
    """The samples at `rows`: an array's rows, or a Lazy's (still unread)."""
    return x.view(rows) if isinstance(x, Lazy) else x[rows]


def _by_path(relative: list[str], cfg: DataConfig) -> tuple[np.ndarray, ...]:
    """(non-test, test, train, valid) rows of a folder's files, each file's split decided
    by a hash of its path relative to the folder: a file is in the test split when its
    hash is below data.test_fraction, else in valid when a second hash (salted with
    data.split_seed) is below data.valid_fraction. Adding files never moves an old file
    between splits, so a growing folder's test set never leaks into training."""
    test_hash = np.array([path_hash(r) for r in relative])
    valid_hash = np.array([path_hash(f"{cfg.split_seed}:{r}") for r in relative])
    is_test = test_hash < cfg.test_fraction
    is_valid = ~is_test & (valid_hash < cfg.valid_fraction)
    rows = np.arange(len(relative))
    parts = rows[~is_test], rows[is_test], rows[~is_test & ~is_valid], rows[is_valid]
    if not all(len(part) for part in parts[1:]):
        raise DataError(
            f"{cfg.source}: {len(relative)} images split by their paths leave "
            f"{len(parts[2])} to train, {len(parts[3])} to validate and {len(parts[1])} to "
            "test: add images (or raise data.valid_fraction and data.test_fraction)."
        )
    return parts


def summarize(splits: Splits) -> dict[str, Any]:
    """Shapes, split sizes, and per split: value range, mean and std (per channel for
    images and sequences), values that are not finite, and per-class counts.

    Per split is what shows a shift between them (a test set brighter than the training
    set); non-finite values are counted, and the statistics are taken over the finite ones.
    On the stream path the sizes and class counts come from the index (the labels), and
    the statistics from up to 512 evenly spaced samples of each split: nothing else is
    decoded.
    """
    parts = {"train": splits.train, "valid": splits.valid, "test": splits.test}
    out: dict[str, Any] = {
        "input_shape": list(splits.in_shape),
        "dtype": str(splits.train[0].dtype).replace("torch.", ""),
        "sizes": {name: len(p[0]) for name, p in parts.items() if p is not None},
        "splits": {name: _stats(p[0]) for name, p in parts.items() if p is not None},
        "mode": "stream" if isinstance(splits.train[0], Lazy) else "memory",
    }
    if splits.classes:
        out["classes"] = splits.classes
        out["class_counts"] = {
            name: torch.bincount(p[1], minlength=len(splits.classes)).tolist()
            for name, p in parts.items()
            if p is not None
        }
    return out


def _stats(x: torch.Tensor | Lazy) -> dict[str, Any]:
    """min, max, mean, std and per-channel mean/std of the finite values of x (N, C, ...),
    of `stream.stats_chunks(x)`: a chunk of samples at a time (float64)."""
    whole, channels = stream.Moments(), list[stream.Moments]()
    low, high, not_finite = math.inf, -math.inf, 0
    for part in stream.stats_chunks(x):
        finite = torch.isfinite(part)
        not_finite += int((~finite).sum())
        values = part[finite]
        if values.numel():
            low, high = min(low, values.min().item()), max(high, values.max().item())
        whole.add(values)
        flat = part.transpose(0, 1).reshape(part.shape[1], -1) if part.ndim > 2 else None
        rows = flat if flat is not None else part.reshape(1, -1)
        channels = channels or [stream.Moments() for _ in rows]
        for moments, row in zip(channels, rows, strict=True):
            moments.add(row)

    def std(m: stream.Moments) -> float | None:
        return m.std if m.count > 1 else None

    return {
        "min": low if whole.count else None,
        "max": high if whole.count else None,
        "mean": whole.mean if whole.count else None,
        "std": std(whole),
        "channel_mean": [m.mean if m.count else None for m in channels],
        "channel_std": [std(m) for m in channels],
        "not_finite": not_finite,
    }
