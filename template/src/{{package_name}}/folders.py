"""Folders as data sources: class folders of images, plain image folders, `.npy` arrays;
and `.npz` files on the stream path.

A class folder is listed first (paths and labels, an index: nothing decoded). On the
memory path every image is then decoded into one array; on the stream path
(stream.choose) each file's header is read to check it opens (once: indexcache.py keeps
the headers of unchanged files between runs), and the pixels are decoded later, per
sample, in the DataLoader's workers. Either way an unreadable image stops the run before
training with its name, or with `data.skip_bad = true` is left out and counted.
A file whose header reads but whose pixels are damaged is named by the worker that meets
it, and the run stops there (the stream path cannot know it sooner without decoding).

A folder with `x.npy` and `y.npy` (optionally `x_test.npy`, `y_test.npy`) holds arrays
laid out as in a `.npz` file; on the stream path `x` is memory-mapped, never read whole.
So are `x` and `x_test` of an uncompressed `.npz` file (np.savez); a compressed one
(np.savez_compressed) must be inflated to be read, so it is read whole when it fits the
memory budget, and refused otherwise.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import indexcache, sources, stream
from .config import DataConfig
from .errors import DataError
from .indexcache import Head
from .sources import (
    IMAGE_SUFFIXES,
    ArrayFile,
    ImageFiles,
    decode,
    header,
    images_in,
    npy_header,
    visible,
)

CPU = torch.device("cpu")


def index(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """(paths, labels, classes) of a folder with one sub-folder of images per class; hidden
    folders and folders without images are not classes."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and visible(p, root))
    listed = {p.name: images_in(p, root) for p in folders}
    classes = [name for name, found in listed.items() if found]
    if len(classes) < len(folders):
        empty = ", ".join(p.name for p in folders if p.name not in classes)
        print(f"note: {root}: skipped the folders without images: {empty}.", file=sys.stderr)
    paths = [p for name in classes for p in listed[name]]
    labels = np.array([k for k, name in enumerate(classes) for _ in listed[name]], np.int64)
    if not paths:
        raise DataError(f"{root} has no class sub-folders with images in them.")
    return paths, labels, classes


def image_folder(root: Path, cfg: DataConfig) -> dict[str, Any]:
    """Class folders as arrays (memory) or an ImageFiles (stream), with the labels, the
    class names and each file's path relative to `root` (which decides its split)."""
    paths, labels, classes = index(root)
    chosen = "memory"
    if cfg.mode != "memory":  # the first image's size and the count decide `auto`
        cached = indexcache.Index(root, cfg.cache_dir)
        mode, size = _first(paths, root, cached.header)
        nbytes = len(paths) * (1 if mode == "L" else 3) * size[0] * size[1] * 4
        chosen = stream.choose(cfg, nbytes, True, str(root))
    if chosen == "stream":  # every header checked now (unchanged files: by the cache)
        heads = sources.readable(paths, cached.header, cfg.skip_bad, root)
        cached.save()
        kept = [i for i, h in enumerate(heads) if h is not None]
        x: Any = ImageFiles([paths[i] for i in kept], mode, size, CPU)
    else:
        x, kept = _decoded(paths, cfg.skip_bad, root)
    relative = [sources.relative(paths[i], root) for i in kept]
    return {"x": x, "y": labels[kept], "classes": classes, "relative": relative}


def _first(paths: list[Path], root: Path, read: Callable[[Path], Head]) -> Head:
    """(mode, size) of the first image whose header reads: all are decoded alike."""
    for path in paths:
        try:
            return read(path)
        except DataError:
            continue
    raise DataError(f"{root} has no readable images.")


def _decoded(paths: list[Path], skip_bad: bool, root: Path) -> tuple[np.ndarray, list[int]]:
    """Every image decoded, in the mode and at the size of the first readable one, into one
    array; and the indices of the images in it (all but skipped ones)."""
    first: list[Head] = []

    def read(path: Path) -> np.ndarray:
        if not first:
            first.append(header(path))
        return decode(path, *first[0])

    return sources.stacked(paths, read, skip_bad, root)


def plain_folder(root: Path, cfg: DataConfig) -> dict[str, Any]:
    """Every image under `root` (hidden ones left out), each at its own size, in the mode
    of the first one, for `task.prepare` to make pairs of."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    files = [p for p in files if visible(p, root)]
    if not files:
        raise DataError(f"{root} has no images in it.")
    modes: list[str] = []

    def read(path: Path) -> np.ndarray:
        if not modes:
            modes.append(header(path)[0])
        return decode(path, modes[0], None)

    images = [i for i in sources.readable(files, read, cfg.skip_bad, root) if i is not None]
    return {"images": images, "classes": []}


def array_folder(root: Path, cfg: DataConfig, streamable: bool) -> dict[str, Any]:
    """x.npy and y.npy (and x_test.npy, y_test.npy) of `root`: x memory-mapped on the
    stream path, else every array read (the caller checks them as a .npz's)."""
    names = [k for k in ("x", "y", "x_test", "y_test") if (root / f"{k}.npy").is_file()]
    if "y" not in names:
        raise DataError(f"{root} has x.npy but no y.npy: save the labels beside the inputs.")
    x = ArrayFile(root / "x.npy", CPU)
    if stream.choose(cfg, x.nbytes, streamable, str(root)) == "memory":
        return {k: np.load(root / f"{k}.npy") for k in names}
    out: dict[str, Any] = {k: ArrayFile(root / f"{k}.npy", CPU) for k in names if k[0] == "x"}
    out.update({k: np.load(root / f"{k}.npy") for k in names if k[0] == "y"})
    return out


def npz_file(path: Path, cfg: DataConfig, streamable: bool) -> dict[str, Any] | None:
    """The arrays of a .npz file for the stream path: x (and x_test) memory-mapped, y (and
    y_test) read; None when it is read whole instead (the memory path, or a compressed
    file that fits the memory budget, with a note). A compressed file larger than the
    budget is refused: it cannot be read in pieces."""
    if cfg.mode == "memory" or not streamable:
        stream.choose(cfg, 0, streamable, str(path))  # refuses stream where it cannot
        return None
    inputs = _npz_inputs(path)
    if inputs is None:  # not a zip, no x or y ...: load_npz says what is wrong
        return None
    nbytes = int(np.prod(inputs["x"][0])) * 4  # decoded as float32
    if stream.choose(cfg, nbytes, True, str(path)) == "memory":
        return None
    if any(compressed for _, compressed in inputs.values()):
        budget = int(cfg.memory_budget * stream.free_bytes())
        if nbytes > budget:
            raise DataError(
                f"{path} is compressed (np.savez_compressed) and x decodes to "
                f"{nbytes / 2**20:.0f} MiB, more than the memory budget "
                f"({budget / 2**20:.0f} MiB): save it with np.savez, whose arrays the "
                "stream path memory-maps."
            )
        print(
            f"note: {path} is compressed: read whole; np.savez (not np.savez_compressed) "
            "makes it streamable.",
            file=sys.stderr,
        )
        return None
    out: dict[str, Any] = {k: ArrayFile(path, CPU, member=k) for k in inputs}
    with np.load(path) as f:  # the labels are small: read whole
        out.update({k: f[k] for k in ("y", "y_test") if k in f.files})
    return out


def _npz_inputs(path: Path) -> dict[str, tuple[tuple[int, ...], bool]] | None:
    """{name: (shape, compressed)} of x and x_test in the .npz file, from the `.npy`
    headers (nothing else inflated or read); None when it has no x and y or cannot be read."""
    try:
        with zipfile.ZipFile(path) as zipped:
            names = set(zipped.namelist())
            if not {"x.npy", "y.npy"} <= names:
                return None
            out = {}
            for key in ("x", "x_test"):
                if f"{key}.npy" not in names:
                    continue
                info = zipped.getinfo(f"{key}.npy")
                with zipped.open(info) as f:
                    shape = npy_header(f)[0]
                out[key] = (shape, info.compress_type != zipfile.ZIP_STORED)
            return out
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
