"""The folder a command works on: checked before anything is written.

Why a module of its own: a path is user input like a name. A path no file system can
hold (a NUL, a component longer than the file system allows) raised OSError or
ValueError deep inside pathlib; one with undecodable bytes could not even be printed
in the error message. Here each becomes one sentence, before any file is touched.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from scaffold.errors import ScaffoldError
from scaffold.git import git, git_available


def is_text(text: str) -> bool:
    """Whether `text` can be written as UTF-8 (a command line's undecodable bytes cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def absolute_path(dest: str | os.PathLike[str]) -> Path:
    """`dest` as an absolute path; ScaffoldError for a path no file system can hold, and
    for one that is not text (undecodable bytes), which no message could print."""
    text = os.fspath(dest)
    if "\0" in text:
        raise ScaffoldError("The folder name must not contain a NUL character.")
    if not is_text(text):
        raise ScaffoldError(f"The path {text!r} is not valid UTF-8 text; choose another name.")
    path = Path(os.path.abspath(text))
    try:
        limit = os.pathconf(next(p for p in path.parents if p.exists()), "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in path.parts:
        if len(os.fsencode(part)) > limit:
            raise ScaffoldError(
                f"The folder name {part[:40]!r}... is longer than the file system allows "
                f"({limit} bytes)."
            )
    return path


def check_destination(dest: Path, overwrite: bool) -> None:
    """Refuse a destination that is a file or a non-empty folder, or that cannot be written.

    An existing destination, or else its nearest existing parent, must be writable
    (os.access here; the mkdir that follows catches what os.access cannot see, such as
    a read-only file system).
    """
    try:
        existing = next(p for p in (dest, *dest.parents) if p.exists() or p.is_symlink())
        empty = not existing.is_dir() or existing != dest or not any(dest.iterdir())
    except OSError as error:
        raise ScaffoldError(f"Cannot read {dest}: {error.strerror}.") from error
    if not existing.is_dir():
        raise ScaffoldError(f"{existing} exists and is not a folder.")
    if not empty and not overwrite:
        raise ScaffoldError(
            f"{dest} is not empty; choose a new folder or pass --overwrite to write over it."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ScaffoldError(f"Cannot write into {existing}: permission denied.")


def topmost_missing(folder: Path) -> Path | None:
    """The topmost of `folder` and its parents that does not exist, if any."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    return missing[-1] if missing else None


def make_parents(folder: Path) -> None:
    """Create `folder` and missing parents (the caller removes them on failure)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ScaffoldError(f"Cannot create {folder}: {error.strerror}.") from error


def note_enclosing_repository(dest: Path, say: Callable[[str], None]) -> None:
    """Say so when a new project's own repository will sit inside another one."""
    if not git_available() or (dest / ".git").exists():
        return
    existing = next(p for p in (dest, *dest.parents) if p.is_dir())
    top = git(existing, "rev-parse", "--show-toplevel", check=False)
    if top:
        say(
            f"{dest} is inside the git repository {top}: the project becomes a nested "
            "repository there (--no-git avoids it)."
        )
