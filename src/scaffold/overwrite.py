"""Move a rendered project into an existing folder as one step that can be undone.

Why: `scaffold new --overwrite` used to copy the whole tree over the folder; a file it
could not write stopped the copy half-way, leaving half a project and a raw
`shutil.Error`. Here every clash of kinds (a folder where the project has a file, or
the other way round) is refused before anything moves; then each file is renamed into
place after the file it replaces was renamed into a backup folder, and any failure, or
Ctrl-C, puts every file back. Renames only: staging, and the backup inside it, sit in
the folder, on its file system.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from scaffold.errors import ScaffoldError


def move_files(staging: Path, dest: Path) -> None:
    """Move the files under `staging` into `dest` (which holds `staging`), replacing files
    of the same names; on failure leave `dest` as it was and raise ScaffoldError."""
    entries = _entries(staging)
    _refuse_clashes(staging, dest, entries)
    # Inside staging, so that whoever removes staging (on success, failure or Ctrl-C)
    # removes the replaced files too; only a failed roll-back moves it out, to keep them.
    backup = staging / ".scaffold-backup"
    moved: list[tuple[Path, Path | None]] = []  # (placed file, its backup or None)
    made: list[Path] = []  # folders created in dest
    try:
        backup.mkdir()
        for rel, is_dir in entries:
            target = dest / rel
            if is_dir:
                if not target.is_dir():
                    made.append(target)  # first, so that an interrupt finds it
                    target.mkdir()
                continue
            saved = backup / rel if os.path.lexists(target) else None
            moved.append((target, saved))  # first, so that an interrupt finds it
            if saved is not None:
                saved.parent.mkdir(parents=True, exist_ok=True)
                os.rename(target, saved)
            os.rename(staging / rel, target)
    except BaseException as error:
        if not _roll_back(moved, made):
            kept = dest / f"scaffold-backup-{secrets.token_hex(4)}"
            os.rename(backup, kept)
            raise ScaffoldError(
                f"Writing {dest} failed and some of its files could not be put back; "
                f"they are in {kept}."
            ) from error
        if isinstance(error, OSError):
            where = error.filename or dest
            raise ScaffoldError(
                f"Cannot write {where}: {error.strerror}; {dest} was left as it was."
            ) from error
        raise


def _entries(staging: Path) -> list[tuple[Path, bool]]:
    """(path relative to staging, is a folder), parents before their contents."""
    found: list[tuple[Path, bool]] = []
    for top, dirs, files in os.walk(staging):
        here = Path(top).relative_to(staging)
        dirs.sort()
        for name in dirs:
            real_dir = not os.path.islink(os.path.join(top, name))
            found.append((here / name, real_dir))
        found.extend((here / name, False) for name in sorted(files))
    return found


def _refuse_clashes(staging: Path, dest: Path, entries: list[tuple[Path, bool]]) -> None:
    for rel, is_dir in entries:
        target = dest / rel
        if not is_dir and target.is_dir() and not target.is_symlink():
            raise ScaffoldError(
                f"{target} is a folder where the project has a file; move it away or "
                f"choose another folder. {dest} was left as it was."
            )
        if is_dir and os.path.lexists(target) and not target.is_dir():
            raise ScaffoldError(
                f"{target} is a file where the project has a folder; move it away or "
                f"choose another folder. {dest} was left as it was."
            )


def _roll_back(moved: list[tuple[Path, Path | None]], made: list[Path]) -> bool:
    """Undo `move_files`: each placed file goes, each backup returns, new folders go.

    Returns False when a file could not be restored (it is still in the backup folder).
    """
    whole = True
    for target, saved in reversed(moved):
        try:
            if saved is None:  # a new file: remove it if it arrived
                if os.path.lexists(target):
                    os.unlink(target)
            elif os.path.lexists(saved):  # replaced: bring the user's file back
                if os.path.lexists(target):
                    os.unlink(target)
                os.rename(saved, target)
        except OSError:
            whole = False
    for folder in reversed(made):
        shutil.rmtree(folder, ignore_errors=True)
    return whole
