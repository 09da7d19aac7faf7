"""Tar shards as a data source: a folder written by `data shard` (sharding.py), or its index.

A shard folder holds webdataset tar files (`shard-000000.tar`, ...) and `index.json`, a
wids shard index: each shard's URL (relative to the index, or an absolute path, or an
http(s) URL) and sample count, plus what this project needs to use the data without
opening a shard: every sample's path relative to the folder it came from (which decides
its split, as for the folder itself), its class, the class names, and the mode and size
of the first image (which decide how every image is decoded).

Samples are read with random access through `wids.ShardListDataset`, so the stream path
takes them in exactly the folder's order (training order, resumes and torchrun are the
folder's), and `decode` turns each image's original bytes into the folder's numbers. On
the memory path every sample is decoded once into arrays. Shards at http(s) URLs are
downloaded whole, once, into the cache folder $WIDS_CACHE (default /tmp/_wids_cache); a
local shard is read where it lies (the cache holds a link to it).

Needs the `shards` extra (webdataset, wids): `pip install -e '.[shards]'`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import torch

from . import sources, stream, task
from .config import DataConfig
from .errors import DataError
from .sources import Lazy, decode, reason

INDEX = "index.json"
KIND = "wids-shard-index-v1"
INSTALL = "pip install -e '.[shards]'"
CPU = torch.device("cpu")


def require(what: str) -> None:
    """A DataError saying which extra to install when webdataset or wids is missing."""
    try:
        import webdataset  # noqa: F401
        import wids  # noqa: F401
    except ImportError:
        raise DataError(f"{what} needs webdataset and wids: {INSTALL}.") from None


def is_shards(path: Path) -> bool:
    """A shard index (a .json file), or a folder with one or with .tar shards in it."""
    if path.is_dir():
        return (path / INDEX).is_file() or any(path.glob("*.tar"))
    return path.suffix == ".json" and path.is_file()


class Member(io.BytesIO):
    """A sample's image bytes, named in errors by its relative path and its shard."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name

    def __str__(self) -> str:
        return self.name


@dataclass
class Index:
    """What a shard index says: the shards and, for each sample, its path and label."""

    source: Path  # the index file
    urls: list[str]  # absolute paths or http(s) URLs
    counts: list[int]
    paths: list[str]
    labels: np.ndarray  # empty for shards of a folder without classes
    classes: list[str]
    mode: str
    size: tuple[int, int]


def read_index(path: Path) -> Index:
    """The index of a shard folder (or the index file itself), checked."""
    index = path / INDEX if path.is_dir() else path
    if not index.is_file():
        raise DataError(f"{path} holds .tar files but no {INDEX}: write shards with `data shard`.")
    try:
        spec = json.loads(index.read_text(encoding="utf-8"))
        shardlist, paths = spec["shardlist"], [str(p) for p in spec["paths"]]
        urls = [_resolve(str(s["url"]), index) for s in shardlist]
        counts = [int(s["nsamples"]) for s in shardlist]
        labels = np.array(spec.get("labels", []), np.int64)
        classes = [str(c) for c in spec.get("classes", [])]
        mode, size = str(spec["image"]["mode"]), tuple(int(v) for v in spec["image"]["size"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        why = f"no {err}" if isinstance(err, KeyError) else reason(err)
        raise DataError(f"{index} is not a readable shard index ({why}).") from None
    if sum(counts) != len(paths) or (len(labels) and len(labels) != len(paths)) or not paths:
        raise DataError(
            f"{index} is damaged: its shards hold {sum(counts)} samples, and it lists "
            f"{len(paths)} paths and {len(labels)} labels."
        )
    if mode not in ("L", "RGB") or len(size) != 2 or min(size) < 1:
        raise DataError(f"{index} is damaged: its image mode {mode!r} or size {size} is wrong.")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataError(f"{index} is damaged: a label lies outside its {len(classes)} classes.")
    return Index(index, urls, counts, paths, labels, classes, mode, (size[0], size[1]))


def _resolve(url: str, index: Path) -> str:
    """A shard URL of the index as an http(s) URL or an absolute path (relative: to the index)."""
    scheme = urlparse(url).scheme
    if scheme in ("http", "https"):
        return url
    if scheme == "file":
        return urlparse(url).path
    if scheme:
        raise DataError(f"{index}: the shard URL {url!r} is neither a path nor http(s).")
    return str((index.parent / url).resolve())


def cache_dir() -> Path:
    """Where remote shards are downloaded (and local ones linked): $WIDS_CACHE, as for wids."""
    return Path(os.environ.get("WIDS_CACHE", "/tmp/_wids_cache"))


class Localname:
    """wids' `localname`: the local file of a shard URL, fetched into the cache first.

    A remote shard is downloaded whole to a temporary file and renamed, so an interrupted
    download never counts as cached; a local shard gets a link in the cache (wids puts its
    lock files beside the local name, and the data's folder may be read-only)."""

    def __call__(self, url: str) -> str:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:16]
        local = folder / f"{digest}-{Path(urlparse(url).path).name}"
        if os.path.lexists(local):
            return str(local)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{local.name}.", suffix=".tmp")
        try:
            if urlparse(url).scheme:
                with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as r:
                    shutil.copyfileobj(r, f)
            else:
                os.close(fd)
                if not Path(url).is_file():
                    raise DataError(f"The shard {url} does not exist.")
                os.unlink(tmp)
                os.symlink(url, tmp)
            os.replace(tmp, local)
        except (OSError, ValueError) as err:
            if isinstance(err, DataError):
                raise
            raise DataError(f"The shard {url} cannot be fetched ({reason(err)}).") from None
        finally:
            Path(tmp).unlink(missing_ok=True)
        return str(local)


def open_shards(index: Index) -> Any:
    """A wids.ShardListDataset of the index's shards, giving each sample's raw bytes."""
    require("Reading shards")
    import wids

    shards = [{"url": u, "nsamples": n} for u, n in zip(index.urls, index.counts, strict=True)]
    with contextlib.redirect_stderr(io.StringIO()):  # wids prints a line about every dataset
        return wids.ShardListDataset(
            shards, localname=Localname(), transformations=[], lru_size=min(len(shards), 64)
        )


def member(index: Index, dataset: Any, j: int) -> Member:
    """Sample j's image bytes, as stored: a shard that cannot be fetched or read stops
    the run (data.skip_bad skips images, never shards)."""
    relative = index.paths[j]
    try:
        sample = dataset[j]
    except (OSError, ValueError, AssertionError, RuntimeError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"The shards of {index.source} cannot be read ({reason(err)}).") from None
    shard = sample.get("__shard__", "a shard")
    data = sample.get("." + Path(relative).suffix.lower().lstrip("."))
    if data is None:
        raise DataError(f"{relative} is not in {shard}: the shards and {INDEX} disagree.")
    raw = data.getvalue() if isinstance(data, io.BytesIO) else bytes(data)  # wids: BytesIO
    return Member(raw, f"{relative} in {shard}")


class ShardFiles(Lazy):
    """Samples of tar shards, decoded one at a time like ImageFiles."""

    def __init__(self, index: Index, rows: np.ndarray, device: torch.device) -> None:
        channels = 1 if index.mode == "L" else 3
        super().__init__(len(rows), (channels, index.size[1], index.size[0]), device)
        self.index, self.rows = index, rows
        self.dataset: Any = None  # opened on first use, in each worker process

    def sample(self, i: int) -> np.ndarray:
        if self.dataset is None:
            self.dataset = open_shards(self.index)
        image = member(self.index, self.dataset, int(self.rows[i]))
        return decode(image, self.index.mode, self.index.size)

    def view(self, indices: np.ndarray) -> ShardFiles:
        return ShardFiles(self.index, self.rows[np.asarray(indices, np.int64)], self.device)

    def __getstate__(self) -> dict[str, Any]:  # a worker opens its own shards
        return {**self.__dict__, "dataset": None}


def load(path: Path, cfg: DataConfig) -> dict[str, Any]:
    """A shard folder as the folder it came from would load: a class folder's arrays (memory)
    or ShardFiles (stream), with labels, classes and relative paths; a plain folder's images."""
    index = read_index(path)
    require("Reading shards")
    channels = 1 if index.mode == "L" else 3
    if not task.LABELLED:  # images at their own sizes, cut into patches in memory
        stream.choose(cfg, 0, False, str(path))
        images = sources.readable(
            range(len(index.paths)), reader(index, None), cfg.skip_bad, index.source
        )
        return {"images": [image for image in images if image is not None], "classes": []}
    if not index.classes:
        raise DataError(
            f"{index.source} holds shards of a folder without classes; this model learns "
            "classes: shard a folder with one sub-folder of images per class."
        )
    nbytes = len(index.paths) * channels * index.size[0] * index.size[1] * 4
    x: Any
    if stream.choose(cfg, nbytes, True, str(path)) == "stream":
        kept = np.arange(len(index.paths))  # nothing read yet: a bad image stops its worker
        x = ShardFiles(index, kept, CPU)
    else:
        x, found = sources.stacked(
            range(len(index.paths)), reader(index, index.size), cfg.skip_bad, index.source
        )
        kept = np.array(found, np.int64)
    relative = [index.paths[j] for j in kept]
    return {"x": x, "y": index.labels[kept], "classes": index.classes, "relative": relative}


def reader(index: Index, size: tuple[int, int] | None) -> Callable[[int], np.ndarray]:
    """Sample j of the shards decoded, for sources.readable and sources.stacked."""
    dataset = open_shards(index)
    return lambda j: decode(member(index, dataset, j), index.mode, size)
