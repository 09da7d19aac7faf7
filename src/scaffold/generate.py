"""Render a new project from scaffold's template (what `scaffold new PATH` runs).

    python -c "from scaffold.generate import new_project; new_project('my-project', defaults=True)"

Answers are checked before copier runs, so that a mistake costs one sentence and leaves
no files. copier renders into a hidden folder on the destination's file system (beside a
new destination, inside an existing one); only a complete project, with its first git
commit, is moved into place, and a failure or Ctrl-C anywhere removes the hidden folder.
One scaffold command at a time works on a destination (`scaffold.lock`).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from copier import run_copy
from copier.errors import CopierError, InteractiveSessionError, UnsafeTemplateError

from scaffold import __version__
from scaffold.destination import (
    absolute_path,
    check_destination,
    is_text,
    make_parents,
    note_enclosing_repository,
    topmost_missing,
)
from scaffold.errors import ScaffoldError
from scaffold.git import git, git_available
from scaffold.lock import destination_lock
from scaffold.names import default_package_name, package_name_problem, project_name_problem
from scaffold.overwrite import move_files
from scaffold.source import ensure_template_repo, has_tag
from scaffold.template import template_root
from scaffold.variants import choices, questions


@dataclass(frozen=True)
class NewProject:
    """What `new_project` made."""

    path: Path
    package_name: str
    template_ref: str | None  # the tag in the template repository; None without git
    committed: bool


# What `new_project` calls on the rendered project before its first commit: (folder,
# package name). `scaffold new --base` writes the base's model there.
Overlay = Callable[[Path, str], None]


def parse_data(pairs: Iterable[str], *, known: bool = True) -> dict[str, Any]:
    """Turn `KEY=VALUE` pairs into answers.

    A multiselect answer is read as YAML (`features=[]`, `features=[tensorboard]`, or one
    bare item); every other value stays text, which copier converts by the question's type.
    With `known` the keys must be questions of scaffold's template; without it (another
    template) every value stays text.
    """
    data: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScaffoldError(f"--data takes KEY=VALUE, not {pair!r}.")
        if not is_text(pair):
            raise ScaffoldError(f"--data {key}=... is not valid UTF-8 text: {pair!r}.")
        if not known:
            data[key] = value
            continue
        _check_key(key)
        if questions()[key].get("multiselect"):
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError as error:
                raise ScaffoldError(f"{key}={value!r} is not a YAML list.") from error
            value = [] if parsed is None else parsed if isinstance(parsed, list) else [parsed]
        data[key] = value
    return data


def check_answers(data: dict[str, Any]) -> None:
    """Refuse unknown questions, unknown choices and unusable names in `data`."""
    for key, value in data.items():
        if key in _SET_BY_SCAFFOLD:
            continue
        _check_key(key)
        if questions()[key].get("multiselect") and not isinstance(value, list):
            raise ScaffoldError(f"{key} takes a list such as [tensorboard], not {value!r}.")
        if "choices" in questions()[key]:
            valid = choices(key)
            for item in value if isinstance(value, list) else [value]:
                if str(item) not in valid:
                    raise ScaffoldError(
                        f"Unknown choice {item!r} for {key}; choose from: {', '.join(valid)}."
                    )
    for key, problem_of in (
        ("project_name", project_name_problem),
        ("package_name", package_name_problem),
    ):
        if key in data and (problem := problem_of(str(data[key]))):
            raise ScaffoldError(problem)


def new_project(
    dest: str | os.PathLike[str],
    data: dict[str, Any] | None = None,
    *,
    defaults: bool = False,
    overwrite: bool = False,
    git_init: bool = True,
    template: str | None = None,
    trust: bool = False,
    version: str | None = None,
    overlay: Overlay | None = None,
    say: Callable[[str], None] = lambda message: None,
) -> NewProject:
    """Render scaffold's template (or `template`) into `dest` and return what was made.

    `data` holds answers (the rest are asked, or with `defaults` take their defaults;
    project_name defaults to the folder's name). `overwrite` allows a non-empty folder.
    `git_init` makes the project a git repository with one commit. `template` is another
    copier template (path or URL), whose tasks, migrations and Jinja extensions copier
    runs only with `trust`. `version` is a tag of scaffold's template repository to
    render instead of this build's. `overlay` changes the rendered files before the
    first commit. `say` gets progress.
    Raises ScaffoldError, leaving the file system as it was, when anything fails.
    """
    dest = absolute_path(dest)
    data = dict(data or {})
    user_defaults = {"project_name": dest.name}
    if template is None:
        if defaults:  # these answers won't be asked, so check them now
            data.setdefault("project_name", dest.name)
            data.setdefault("package_name", default_package_name(str(data["project_name"])))
        check_answers(data)
    with destination_lock(dest, "scaffold new"):
        check_destination(dest, overwrite)
        if git_init:
            note_enclosing_repository(dest, say)
        return _new_project(
            dest, data, user_defaults, defaults, template, trust, version, overlay, git_init, say
        )


def _new_project(
    dest: Path,
    data: dict[str, Any],
    user_defaults: dict[str, Any],
    defaults: bool,
    template: str | None,
    trust: bool,
    version: str | None,
    overlay: Overlay | None,
    git_init: bool,
    say: Callable[[str], None],
) -> NewProject:
    """Render into a staging folder and move it into place; on any failure, or Ctrl-C at
    any point, remove the staging folder and the parents made for it."""
    # Stage beside a new destination (then one rename), or inside an existing one (then
    # file by file): either way on the destination's file system, in a folder known
    # writable. Everything from the first mkdir on is inside the try, so that an
    # interrupt between two statements still cleans up.
    created = None if dest.is_dir() else topmost_missing(dest.parent)  # no side effects
    staging: Path | None = None
    try:
        if created is not None:
            make_parents(dest.parent)
        staging = (dest if dest.is_dir() else dest.parent) / f".scaffold-{secrets.token_hex(4)}"
        try:
            staging.mkdir()
        except OSError as error:
            raise ScaffoldError(f"Cannot write into {staging.parent}: {error.strerror}.") from error
        if template is None:
            src, ref = _template_source(say, version)
            say(f"Rendering scaffold {__version__}'s template {ref or src} into {dest}")
        else:
            src, ref = _stable_location(template), None
            say(f"Rendering the template {src} into {dest}")
        unsafe = template is None or trust  # scaffold's own template loads scaffold.jinja
        package = _render(src, ref, staging, data, user_defaults, defaults, unsafe)
        if overlay is not None:
            overlay(staging, package)
        committed = git_init and _initial_commit(staging, dest, say)
        _move_into_place(staging, dest)
    except BaseException as error:
        _cleanup(staging, created)
        if isinstance(error, OSError):
            raise ScaffoldError(f"Cannot write {dest}: {error}.") from error
        raise
    return NewProject(dest, package, ref, committed)


def _cleanup(staging: Path | None, created: Path | None) -> None:
    """Remove the staging folder and the parents made for it, even when a second Ctrl-C
    arrives meanwhile (the interrupt is re-raised once both are gone)."""
    interrupted: KeyboardInterrupt | None = None
    for path in (staging, created):
        while True:
            try:
                _remove(path)
                break
            except KeyboardInterrupt as again:
                interrupted = again
    if interrupted is not None:
        raise interrupted


# Questions that scaffold answers itself (`--base`), never the user through --data.
_SET_BY_SCAFFOLD = {"base"}


def _check_key(key: str) -> None:
    asked = [
        name
        for name, spec in questions().items()
        if spec.get("when", True) is not False and name not in _SET_BY_SCAFFOLD
    ]
    if key not in asked:
        raise ScaffoldError(f"Unknown question {key!r}; the questions are: {', '.join(asked)}.")


def _template_source(say: Callable[[str], None], version: str | None) -> tuple[str, str | None]:
    """scaffold's template as copier's src_path and vcs_ref (per-user repository and tag)."""
    if git_available():
        repo, tag = ensure_template_repo()
        if version is not None and not has_tag(repo, version):
            raise ScaffoldError(f"scaffold's template repository {repo} has no version {version}.")
        return str(repo), version or tag
    if version is not None:
        raise ScaffoldError(f"Rendering template version {version} needs git, which is missing.")
    say("git is not installed: rendering without template history (no `copier update`).")
    return str(template_root()), None


def _render(
    src: str,
    ref: str | None,
    staging: Path,
    data: dict[str, Any],
    user_defaults: dict[str, Any],
    defaults: bool,
    unsafe: bool,
) -> str:
    """Run copier into `staging`; return the package name it was given ("" if none)."""
    try:
        worker = run_copy(
            src,
            staging,
            data=data,
            user_defaults=user_defaults,
            vcs_ref=ref,
            defaults=defaults,
            overwrite=True,  # staging is ours and empty; copier would ask otherwise
            quiet=True,
            unsafe=unsafe,
        )
    except KeyboardInterrupt as error:  # also copier's CopierAnswersInterrupt
        raise ScaffoldError("Cancelled; nothing was written.") from error
    except (ValueError, CopierError) as error:
        raise copier_failure(error, src) from error
    return str(worker.answers.combined.get("package_name") or "")


def copier_failure(error: Exception, src: str) -> ScaffoldError:
    """A copier error (or a ValueError from its validators) as one sentence."""
    if isinstance(error, InteractiveSessionError):
        return ScaffoldError(
            "There is no terminal to ask questions in; pass --defaults and/or --data."
        )
    if isinstance(error, UnsafeTemplateError):
        features = str(error).splitlines()[0].partition(": ")[2].rstrip(".")
        return ScaffoldError(
            f"The template {src} uses copier's unsafe features ({features}); "
            "pass --trust if you trust it."
        )
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return ScaffoldError(lines[-1])


def _stable_location(template: str) -> str:
    """A local template as an absolute path (copier records it verbatim); a URL as it is."""
    path = Path(template).expanduser()
    return str(path.absolute()) if path.exists() else template


def _initial_commit(staging: Path, dest: Path, say: Callable[[str], None]) -> bool:
    if not git_available():
        say("git is not installed; skipped `git init`.")
        return False
    if (dest / ".git").exists():
        say(f"{dest} is already a git repository; its history was left alone.")
        return False
    git(staging, "init", "--quiet")
    git(staging, "add", "--all")
    env = {}
    if not git(staging, "config", "user.email", check=False):
        env = {
            "GIT_AUTHOR_NAME": "scaffold",
            "GIT_AUTHOR_EMAIL": "scaffold@localhost",
            "GIT_COMMITTER_NAME": "scaffold",
            "GIT_COMMITTER_EMAIL": "scaffold@localhost",
        }
    git(staging, "commit", "--quiet", "-m", f"Initial project from scaffold {__version__}", env=env)
    return True


def _move_into_place(staging: Path, dest: Path) -> None:
    """Rename a new folder into place; move the files into an existing one one by one.

    An existing folder is kept (not replaced by a rename), so a shell sitting in it, as in
    `mkdir p && cd p && scaffold new .`, stays in a live folder. There, staging is inside
    `dest`; see `overwrite.move_files` for how a failure leaves it as it was.
    """
    if not dest.exists():
        staging.rename(dest)
        return
    move_files(staging, dest)
    shutil.rmtree(staging)


def _remove(path: Path | None) -> None:
    if path is not None and path.exists():
        shutil.rmtree(path)
