"""One scaffold command at a time per destination folder (`scaffold new`, `scaffold update`).

Why: two `scaffold new` into one folder at once both passed the "folder is empty" check
and left a mixed project; two updates at once left an inconsistent one. The lock is a
`filelock` (flock) file in scaffold's home, named by a hash of the destination's real
path, so nothing is ever written into or beside the user's folder, and a lock held by a
process that died is free again (the kernel drops flock locks with their process).
Beside each lock, while it is held, a small JSON file says who holds it: pid, command
and since when, which the loser quotes. The lock files themselves stay (empty, a few
bytes of name each): deleting a lock file while another process waits on it would let
a third process lock a new file of the same name.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from scaffold.errors import ScaffoldError
from scaffold.source import scaffold_home


def lock_paths(dest: Path) -> tuple[Path, Path]:
    """(lock file, holder's info file) for the folder `dest`."""
    real = os.path.realpath(os.fspath(dest))
    key = hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    folder = scaffold_home() / "locks"
    return folder / f"{key}.lock", folder / f"{key}.json"


@contextmanager
def destination_lock(dest: Path, command: str) -> Iterator[None]:
    """Hold the lock of `dest` while `command` (e.g. "scaffold new") works on it.

    Raises ScaffoldError at once, naming the holder, when another process holds it.
    """
    lock_file, info_file = lock_paths(dest)
    lock = FileLock(lock_file, timeout=0)
    try:  # from here on, a Ctrl-C anywhere still releases what was taken
        try:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout:
            raise ScaffoldError(
                f"{dest} is busy: {_holder(info_file)} is working on it; "
                "try again when it has finished."
            ) from None
        except OSError as error:
            raise ScaffoldError(f"Cannot lock {dest} in {lock_file.parent}: {error}.") from error
        _write_info(info_file, command)
        yield
    finally:
        _release(lock, info_file)


def _release(lock: FileLock, info_file: Path) -> None:
    """Release `lock` if this process holds it (a loser must not remove the holder's
    info), even when a second Ctrl-C arrives meanwhile (re-raised once it is free)."""
    interrupted: KeyboardInterrupt | None = None
    while lock.is_locked:
        try:
            with suppress(OSError):
                info_file.unlink()
            lock.release()
        except KeyboardInterrupt as again:
            interrupted = again
    if interrupted is not None:
        raise interrupted


def _write_info(info_file: Path, command: str) -> None:
    info = {
        "pid": os.getpid(),
        "command": command,
        "argv": sys.argv,
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    partial = info_file.with_name(f".{info_file.name}.{os.getpid()}")
    with suppress(OSError):  # the info is a courtesy; the lock is what protects
        partial.write_text(json.dumps(info), encoding="utf-8")
        partial.replace(info_file)


def _holder(info_file: Path) -> str:
    """Who holds a lock, from its info file: "scaffold new (pid 123, since ...)"."""
    try:
        info = json.loads(info_file.read_text(encoding="utf-8"))
        return f"{info['command']} (pid {info['pid']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another scaffold process (just starting)"
