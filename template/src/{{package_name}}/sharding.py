"""`python -m <package> data shard SRC OUT`: a folder of images as webdataset tar shards.

SRC is a folder this project reads as data: one sub-folder of images per class, or (a
project without classes) images in any sub-folders. OUT, a new folder, gets
`shard-000000.tar`, ... of `--shard-size` samples each and `index.json` (shards.py says
what it holds). Each sample is the image's original bytes (never re-encoded, so decoding
gives the folder's numbers), its class (`cls`) and its path relative to SRC (`path.txt`,
which decides its split as in the folder). A sample's key is its number: webdataset cuts
a member's name at its first dot, so `a.b.png` could not be a key.

OUT appears complete or not at all: the shards are written into a temporary folder beside
it, renamed at the end; an error or Ctrl-C removes the temporary folder. Every image is
decoded once as it is written: one that does not decode is named and stops the command,
or with `--set data.skip_bad=true` is left out and counted, so the shards hold no bad image.

Needs the `shards` extra (webdataset, wids): `pip install -e '.[shards]'`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import dataset, folders, shards, task
from .errors import DataError
from .sources import IMAGE_SUFFIXES, decode, header, visible


def listing(src: Path) -> tuple[list[Path], list[int], list[str]]:
    """(paths, labels, classes) of SRC as this project's data loading lists it."""
    if not src.is_dir():
        missing = "does not exist" if not src.exists() else "is not a folder"
        raise DataError(f"{src} {missing}: data shard takes a folder of images.")
    if len(dataset.SAMPLE_AXES) != 3:
        raise DataError(
            "data shard takes folders of images, and this model takes sequences: a folder "
            "with x.npy and y.npy streams memory-mapped without shards."
        )
    if task.LABELLED:
        paths, labels, classes = folders.index(src)
        return paths, labels.tolist(), classes
    found = sorted(p for p in src.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    paths = [p for p in found if visible(p, src)]
    if not paths:
        raise DataError(f"{src} has no images in it.")
    return paths, [], []


def write(src: Path, out: Path, shard_size: int, skip_bad: bool, progress: bool) -> dict[str, Any]:
    """The shards and index of SRC in OUT (see the module's docstring); returns the index."""
    shards.require("data shard")
    from webdataset import TarWriter

    if shard_size < 1:
        raise DataError(f"--shard-size must be at least 1; got {shard_size}.")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out} already exists and is not an empty folder: give a new one.")
    paths, labels, classes = listing(src)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    index: dict[str, Any] = {"__kind__": shards.KIND, "wids_version": 1, "name": src.name}
    kept: list[int] = []
    shardlist: list[dict[str, Any]] = []
    first: tuple[str, tuple[int, int]] | None = None
    writer: Any = None
    bar = tqdm(
        total=len(paths), desc="data shard", unit="image", disable=not progress, dynamic_ncols=True
    )
    try:
        for i, path in enumerate(paths):
            bar.update(1)
            try:  # decoded whole, as the memory path would: the shards hold no bad image
                first = first or header(path)  # the first header that reads, as in folders
                decode(path, first[0], None)
            except DataError:
                if not skip_bad:
                    raise
                continue
            if len(kept) % shard_size == 0:  # the next shard
                writer = _next(writer, tmp, shardlist, TarWriter)
            relative = path.relative_to(src).as_posix()
            sample = {
                "__key__": f"{len(kept):09d}",
                path.suffix.lower().lstrip("."): path.read_bytes(),
                "cls": str(labels[i] if labels else 0).encode(),
                "path.txt": relative.encode("utf-8"),
            }
            writer.write(sample)
            shardlist[-1]["nsamples"] += 1
            kept.append(i)
        _next(writer, tmp, shardlist, None)
        if first is None or not kept:
            raise DataError(f"{src} has no readable images.")
        index["shardlist"] = shardlist
        index["classes"] = classes
        index["image"] = {"mode": first[0], "size": list(first[1])}
        index["paths"] = [paths[i].relative_to(src).as_posix() for i in kept]
        index["labels"] = [labels[i] for i in kept] if labels else []
        (tmp / shards.INDEX).write_text(json.dumps(index) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()  # empty (checked above): the rename takes its place
        os.rename(tmp, out)
    except BaseException:
        if writer is not None:
            writer.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        bar.close()
    if len(kept) < len(paths):
        skipped = len(paths) - len(kept)
        print(f"note: {src}: skipped {skipped} unreadable images (data.skip_bad).", file=sys.stderr)
    return index


def _next(writer: Any, tmp: Path, shardlist: list[dict[str, Any]], make: Any) -> Any:
    """Close the current shard (its size into the list) and open the next (`make` not None)."""
    if writer is not None:
        writer.close()
        shardlist[-1]["filesize"] = (tmp / shardlist[-1]["url"]).stat().st_size
    if make is None:
        return None
    name = f"shard-{len(shardlist):06d}.tar"
    shardlist.append({"url": name, "nsamples": 0})
    return make(str(tmp / name), encoder=False, mtime=0.0)  # mtime 0: the same bytes each time


def cmd_shard(args: argparse.Namespace, skip_bad: bool) -> int:
    src, out = Path(args.src), Path(args.out)
    index = write(src, out, args.shard_size, skip_bad, args.progress)
    count, total = len(index["shardlist"]), len(index["paths"])
    print(f"Wrote {total} samples in {count} shards to {out} (index: {out / shards.INDEX}).")
    return 0


def add_parser(data: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`data shard SRC OUT` under the `data` command; returns its parser."""
    sub = data.add_subparsers(dest="data_command", metavar="{shard}")
    p = sub.add_parser(
        "shard",
        help="write a folder of images as webdataset tar shards (the `shards` extra)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("src", metavar="SRC", help="a folder of images, as data.source takes it")
    p.add_argument("out", metavar="OUT", help="a new folder for the shards and index.json")
    p.add_argument("--shard-size", type=int, default=1000, help="samples per shard (1000)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("--config", action="append", type=Path, default=[], metavar="FILE", help="TOML")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="config fields, e.g. --set data.skip_bad=true: leave unreadable images out",
    )
    return p
