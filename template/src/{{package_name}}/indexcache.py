"""The index cache of a class folder: each image's header, read once, kept between runs.

The stream path opens every image's header before training (folders.py), so that a file
that is not an image stops the run before it starts. At tens of thousands of images that
pass is most of the time to the first step. The cache keeps, per file, its path relative
to the folder, size and modification time (ns) with the header's mode and size; a later
run reads again only the headers of files that are new or whose size or time changed.

Where: `data.cache_dir`, by default the user's cache folder (`$XDG_CACHE_HOME`, else
`~/.cache`) under this package's name: one file per data folder (named by a hash of its
absolute path), `<cache_dir>/folders/<hash>.json`. Not in the data folder, which may be
read-only or shared; not in a run folder, since the index belongs to the data and serves
every run, command and `train.runs_dir` that reads it. `data.cache_dir = "off"` keeps no
cache. Deleting the file is always safe: it is rebuilt.

The file is written atomically (files.atomic: a temporary file renamed over it), so two
runs starting at once each write a complete index and the last rename wins; a file that
is damaged anyway (a full disk, an edit) is ignored with a note and rebuilt. A cache that
cannot be written (a read-only home) is a note, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from . import files, sources
from .errors import DataError

VERSION = 1
Head = tuple[str, tuple[int, int]]  # (mode, (width, height)), as sources.header gives it


def location(root: Path, cache_dir: str) -> Path | None:
    """The cache file of the folder `root` (None when data.cache_dir is "off")."""
    if cache_dir == "off":
        return None
    if cache_dir:
        base = Path(cache_dir).expanduser()
    else:
        home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        base = Path(home) / (__package__ or "project")
    key = hashlib.sha1(str(root.resolve()).encode("utf-8")).hexdigest()[:20]
    return base / "folders" / f"{key}.json"


class Index:
    """`header(path)` of a folder's images, from the cache when a file is unchanged;
    `save()` writes what this run saw. `read` counts the headers actually read."""

    def __init__(self, root: Path, cache_dir: str) -> None:
        self.root, self.file = root, location(root, cache_dir)
        self.old = self._load()
        self.seen: dict[str, list[Any]] = {}
        self.read = 0

    def _load(self) -> dict[str, list[Any]]:
        if self.file is None or not self.file.is_file():
            return {}
        try:
            kept = json.loads(self.file.read_text(encoding="utf-8"))
            if kept["version"] != VERSION or kept["root"] != str(self.root.resolve()):
                return {}
            entries = kept["files"]
            if isinstance(entries, dict):  # each entry is checked when used (header)
                return entries
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        print(f"note: {self.file} is damaged; rebuilding the folder's index.", file=sys.stderr)
        return {}

    def header(self, path: Path) -> Head:
        """(mode, size) of the image at path; a DataError names a file that is no image."""
        relative = sources.relative(path, self.root)
        try:
            stat = path.stat()
        except OSError as err:  # gone since the listing, unreadable: as the header would say
            raise DataError(f"{path} is not a readable image ({sources.reason(err)}).") from None
        entry: Any = self.seen.get(relative, self.old.get(relative))
        if not _valid(entry) or entry[:2] != [stat.st_size, stat.st_mtime_ns]:
            mode, size = sources.header(path)  # DataError: not cached, asked again next time
            self.read += 1
            entry = [stat.st_size, stat.st_mtime_ns, mode, size[0], size[1]]
        self.seen[relative] = entry
        return entry[2], (entry[3], entry[4])

    def save(self) -> None:
        """Write the index of the files seen, when it differs from the cached one."""
        if self.file is None or self.seen == self.old:
            return
        kept = {"version": VERSION, "root": str(self.root.resolve()), "files": self.seen}
        try:
            files.write_text(json.dumps(kept, separators=(",", ":")), self.file)
        except OSError as err:
            print(
                f"note: the folder's index cannot be cached in {self.file.parent} "
                f"({sources.reason(err)}); set data.cache_dir.",
                file=sys.stderr,
            )


def _valid(entry: Any) -> bool:
    """[size, mtime_ns, mode, width, height] with those types (an entry that is not is
    treated as missing: that file's header is read again)."""
    return (
        isinstance(entry, list)
        and len(entry) == 5
        and all(isinstance(v, int) for v in (entry[0], entry[1], entry[3], entry[4]))
        and entry[2] in ("L", "RGB")
    )
