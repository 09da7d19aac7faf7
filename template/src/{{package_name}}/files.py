"""Writing files atomically: a crash or Ctrl-C mid-write never leaves half a file.

Everything a run writes that another command reads back (checkpoints, summaries, reports)
goes through `atomic`: the content is written to a temporary file in the same folder,
flushed to disk, then renamed over the target (`os.replace` is atomic on one file system).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic(path: Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """`with atomic(path) as f: f.write(...)`: `path` appears complete or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(obj: Any, path: Path) -> None:
    """`obj` as indented JSON; NaN and infinities become null (valid JSON for any reader)."""
    with atomic(path, "w") as f:
        f.write(json.dumps(_finite(obj), indent=2) + "\n")


def write_text(text: str, path: Path) -> None:
    with atomic(path, "w") as f:
        f.write(text)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
