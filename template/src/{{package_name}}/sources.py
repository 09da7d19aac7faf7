"""Samples read one at a time: image files and memory-mapped arrays, for the stream path.

A `Lazy` stands where the memory path holds an (N, C, ...) float32 tensor. It knows its
shape without decoding anything; indexing it (an int, a slice, a list or tensor of indices)
decodes just those samples and returns a tensor, so code written for tensors (evaluation,
the input statistics, SWA's BatchNorm pass) runs unchanged. The training batches come
through a DataLoader instead (stream.py), which calls `sample(i)` in its workers.

- `ImageFiles`: paths, decoded with Pillow to (C, H, W) in [0, 1] and resized to one size,
  exactly as the memory path decodes them (`decode`), so both paths see the same numbers.
- `ArrayFile`: a `.npy` file opened with `mmap_mode="r"`, or an array of an uncompressed
  `.npz` file (`np.savez`) mapped where its bytes lie inside the zip (`npz_member`): the
  operating system pages in the samples a batch touches, and the array is never read whole.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import torch

from .errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff"}
GRAY = ("1", "L", "LA", "I", "I;16")


def reason(err: BaseException) -> str:
    """The first line of an error's message (or its type when it has none)."""
    text = str(err).strip()
    return text.splitlines()[0].rstrip(".") if text else type(err).__name__


def decode(path: Path | IO[bytes], mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """One image as float32 (C, H, W) in [0, 1], in Pillow `mode` ("L" or "RGB"), resized
    to `size` (width, height) unless None; a file Pillow cannot read is a DataError naming it."""
    from PIL import Image  # matplotlib depends on Pillow

    try:
        with Image.open(path) as image:
            converted = image.convert(mode)
            resized = converted if size is None else converted.resize(size)
            pixels = np.asarray(resized, np.float32)
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"{path} is not a readable image ({reason(err)}).") from None
    pixels = pixels / np.float32(255.0)
    # (C, H, W) in C order: a transposed view would reach the model as a channels-last
    # batch, which some kernels (depthwise convolutions) round differently
    return pixels[None] if mode == "L" else np.ascontiguousarray(pixels.transpose(2, 0, 1))


def header(path: Path) -> tuple[str, tuple[int, int]]:
    """(mode, size) from an image file's header, without decoding its pixels: cheap enough
    to check every file of a large folder before training."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return ("L" if image.mode in GRAY else "RGB"), image.size
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"{path} is not a readable image ({reason(err)}).") from None


def readable(
    items: Sequence[Any], read: Callable[[Any], Any], skip_bad: bool, where: object
) -> list[Any]:
    """`read(item)` of every item; an unreadable one stops the run (its DataError names it),
    or with skip_bad gives None and is counted in one note about `where`."""
    out, bad = [], 0
    for item in items:
        try:
            out.append(read(item))
        except DataError:
            if not skip_bad:
                raise
            out.append(None)
            bad += 1
    if bad:
        print(f"note: {where}: skipped {bad} unreadable images (data.skip_bad).", file=sys.stderr)
    if bad and bad == len(out):
        raise DataError(f"{where} has no readable images.")
    return out


def stacked(
    items: Sequence[Any], read: Callable[[Any], np.ndarray], skip_bad: bool, where: object
) -> tuple[np.ndarray, list[int]]:
    """`read(item)` of every item (all of one shape) straight into one array, made when the
    first arrives: a list of images stacked afterwards would hold the data twice. Also the
    indices of the items in it (all but skipped ones, whose rows are cut off the end)."""
    out: list[np.ndarray] = []
    filled = 0

    def put(item: Any) -> bool:
        nonlocal filled
        image = read(item)
        if not out:
            out.append(np.empty((len(items), *image.shape), image.dtype))
        out[0][filled] = image
        filled += 1
        return True

    kept = [i for i, ok in enumerate(readable(items, put, skip_bad, where)) if ok is not None]
    if not out:
        raise DataError(f"{where} has no readable images.")
    return out[0][: len(kept)], kept


def visible(path: Path, root: Path) -> bool:
    """Not hidden (`.ipynb_checkpoints`, `.DS_Store`, `._photo.png`), nor inside a hidden folder."""
    return not any(part.startswith(".") for part in path.relative_to(root).parts)


def images_in(folder: Path, root: Path) -> list[Path]:
    """The visible images directly in `folder`, by name. Names are filtered and sorted as
    strings: pathlib's parsing of each path costs seconds at 100k files."""
    if not visible(folder, root):
        return []
    names = sorted(
        name
        for name in os.listdir(folder)
        if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES
    )
    return [folder / name for name in names]


def relative(path: Path, root: Path) -> str:
    """`path` relative to `root`, with "/" between parts (a string slice where it can be,
    for the same reason)."""
    text, prefix = str(path), os.path.join(str(root), "")
    if text.startswith(prefix):
        return text[len(prefix) :].replace(os.sep, "/")
    return path.relative_to(root).as_posix()


def path_hash(relative: str) -> float:
    """A number in [0, 1) fixed by a file's path relative to its folder: the file's split
    depends on nothing else, so adding files never moves an old one between splits."""
    digest = hashlib.sha1(relative.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Lazy:
    """(N, C, ...) float32 samples read on demand; see the module's docstring."""

    dtype = torch.float32

    def __init__(self, n: int, sample_shape: tuple[int, ...], device: torch.device) -> None:
        self.shape = (n, *sample_shape)
        self.device = device

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * 4

    def sample(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def view(self, indices: np.ndarray) -> Lazy:
        """The samples at `indices`, still unread."""
        raise NotImplementedError

    def to(self, device: torch.device) -> Lazy:
        moved = self.view(np.arange(len(self)))
        moved.device = torch.device(device)
        return moved

    def __getitem__(self, index: Any) -> torch.Tensor:
        picked = np.arange(len(self))[index.cpu().numpy() if torch.is_tensor(index) else index]
        rows = [self.sample(int(i)) for i in np.atleast_1d(picked)]
        batch = torch.from_numpy(np.stack(rows)) if rows else torch.zeros(0, *self.shape[1:])
        batch = batch if np.ndim(picked) else batch[0]
        return batch.to(self.device)


class ImageFiles(Lazy):
    """Image files decoded one at a time in `mode`, resized to `size` (width, height)."""

    def __init__(
        self, paths: list[Path], mode: str, size: tuple[int, int], device: torch.device
    ) -> None:
        super().__init__(len(paths), (1 if mode == "L" else 3, size[1], size[0]), device)
        self.paths, self.mode, self.size = paths, mode, size

    def sample(self, i: int) -> np.ndarray:
        return decode(self.paths[i], self.mode, self.size)

    def view(self, indices: np.ndarray) -> ImageFiles:
        return ImageFiles([self.paths[i] for i in indices], self.mode, self.size, self.device)


def npy_header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """(shape, Fortran order, dtype) from the `.npy` header at f's position, which is left
    at the array's first byte (numpy's own readers; format 3.0 reads as 2.0)."""
    fmt = np.lib.format
    version = fmt.read_magic(f)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, fortran, dtype = read(f)
    return tuple(shape), bool(fortran), dtype


def npz_member(path: Path, name: str) -> np.ndarray | None:
    """The array `name` of the .npz file `path` memory-mapped (np.memmap, read-only), or None
    when the zip compresses it (np.savez_compressed: its bytes must be inflated to be read).

    np.savez stores each array as a `.npy` file, uncompressed, inside a zip: its bytes
    start after the member's local header (30 bytes, its name and an extra field), with
    the `.npy` header first (magic, version, then dtype, order and shape)."""
    try:
        with zipfile.ZipFile(path) as zipped:
            info = zipped.getinfo(f"{name}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            return None
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise ValueError(f"the zip entry {name}.npy has no local header")
            start = info.header_offset + 30 + sum(struct.unpack("<HH", local[26:30]))
            f.seek(start)
            shape, fortran, dtype = npy_header(f)
            offset = f.tell()
        if dtype.hasobject:
            raise ValueError("it holds Python objects; save arrays of numbers")
        if offset - start + int(np.prod(shape)) * dtype.itemsize != info.file_size:
            raise ValueError(f"the array {name!r} is truncated")
        order: Literal["F", "C"] = "F" if fortran else "C"
        return np.memmap(path, dtype, mode="r", offset=offset, shape=shape, order=order)
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise DataError(f"{path} is not a readable .npz file ({reason(err)}).") from None


class ArrayFile(Lazy):
    """Rows of a memory-mapped array (N, C, ...), as float32 one sample at a time: a `.npy`
    file, or the array `member` of an uncompressed `.npz` file."""

    def __init__(
        self,
        path: Path,
        device: torch.device,
        rows: np.ndarray | None = None,
        member: str | None = None,
    ) -> None:
        self.path, self.member = path, member
        self.array = self._open()
        if self.array.dtype.kind not in "biuf":
            where = path if member is None else f"{path}: {member}"
            raise DataError(f"{where} holds {self.array.dtype}; it must hold numbers.")
        self.rows = np.arange(len(self.array)) if rows is None else rows
        super().__init__(len(self.rows), tuple(self.array.shape[1:]), device)

    def _open(self) -> np.ndarray:
        if self.member is not None:
            mapped = npz_member(self.path, self.member)
            if mapped is None:
                raise DataError(f"{self.path}: {self.member} is compressed; it cannot be mapped.")
            return mapped
        try:
            return np.load(self.path, mmap_mode="r")  # allow_pickle=False: never unpickled
        except (OSError, ValueError, EOFError) as err:
            raise DataError(f"{self.path} is not a readable .npy file ({reason(err)}).") from None

    def sample(self, i: int) -> np.ndarray:
        return np.array(self.array[self.rows[i]], np.float32)  # a copy: the map is read-only

    def __getstate__(self) -> dict[str, Any]:  # a worker reopens the map, never a copy
        return {**self.__dict__, "array": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.array = self._open()

    def view(self, indices: np.ndarray) -> ArrayFile:
        rows = self.rows[np.asarray(indices, np.int64)]
        return ArrayFile(self.path, self.device, rows, self.member)
