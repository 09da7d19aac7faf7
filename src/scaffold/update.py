"""Bring a newer template version into an existing project (what `scaffold update` runs).

    python -c "from scaffold.update import update_project; print(update_project('my-project'))"

copier does the 3-way merge: it renders the project's recorded version (`_commit`), takes
the difference to the project as the user's edits and applies them onto a render of the
new version. Around it, scaffold:
- refuses a project that is not a clean git work tree (the update must be reviewable);
- finds the template: this machine's per-user template repository for a project made by
  any scaffold (also after the project or scaffold's home moved, or on another machine),
  or the project's own template (a fork, a team's) whose unsafe copier features run only
  with `trust`; copier's update takes no new source, so a stale `_src_path` is rewritten
  first (hidden from copier's clean check with git's skip-worktree bit, see _pointed_at);
- reports what changed, and every conflict (copier itself exits 0 on conflicts);
- for a dry run, updates a throw-away clone of the project instead of the project.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from copier import run_update
from copier.errors import CopierError
from packaging.version import InvalidVersion, Version

from scaffold import source
from scaffold.answers import ANSWERS, check_recorded, read_answers
from scaffold.destination import absolute_path
from scaffold.errors import ScaffoldError
from scaffold.generate import check_answers, copier_failure
from scaffold.git import git, git_available
from scaffold.lock import destination_lock
from scaffold.source import ensure_template_repo, has_tag, is_managed, template_repo, versions

Conflict = Literal["inline", "rej"]


@dataclass(frozen=True)
class Updated:
    """What `update_project` did (or, in a dry run, would do)."""

    path: Path
    old: str  # template version before
    new: str  # template version after
    source: str  # the template it came from
    changed: list[tuple[str, str]] = field(default_factory=list)  # (status, path)
    conflicts: list[str] = field(default_factory=list)  # paths left with conflicts
    dry_run: bool = False


def update_project(
    path: str | os.PathLike[str],
    *,
    to: str | None = None,
    data: dict[str, Any] | None = None,
    template: str | None = None,
    trust: bool = False,
    conflict: Conflict = "inline",
    dry_run: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> Updated:
    """Update the project at `path` to template version `to` (default: this scaffold's).

    `data` changes answers (e.g. {"features": ["tensorboard"]}); `template` updates from
    another copier template; `trust` lets a template that is not scaffold's own run
    copier tasks, migrations and Jinja extensions. Conflicts are left as markers
    (`conflict="inline"`) or `*.rej` files and listed in the result; a dry run writes
    nothing to the project. Raises ScaffoldError when the update cannot start.
    """
    project = absolute_path(path)
    with destination_lock(project, "scaffold update"):
        plan = _plan(project, to, data, template, trust, say)
        if plan.up_to_date:
            return Updated(project, plan.old, plan.old, plan.src, dry_run=dry_run)
        if not dry_run:
            return _update(project, project, plan, data, conflict)
        with _clone(project) as copy:
            result = _update(project, copy, plan, data, conflict)
        return dataclasses.replace(result, dry_run=True)


def diff_project(
    path: str | os.PathLike[str],
    *,
    to: str | None = None,
    data: dict[str, Any] | None = None,
    template: str | None = None,
    trust: bool = False,
    say: Callable[[str], None] = lambda message: None,
) -> tuple[Updated, str]:
    """What `update_project` would change in `path`, as (result, unified diff); writes
    nothing to the project (the update runs in a throw-away clone)."""
    project = absolute_path(path)
    plan = _plan(project, to, data, template, trust, say)
    if plan.up_to_date:
        return Updated(project, plan.old, plan.old, plan.src, dry_run=True), ""
    with _clone(project) as copy:
        result = _update(project, copy, plan, data, "inline")
        git(copy, "add", "--all", "--", ".")
        diff = git(copy, "diff", "--cached", "--relative", "--no-color", strip=False)
    return dataclasses.replace(result, dry_run=True), diff


@dataclass(frozen=True)
class _Plan:
    """Where an update comes from and goes to."""

    old: str  # the project's template version
    src: str  # the template to update from
    target: str | None  # the version to go to (None: the template's newest)
    unsafe: bool  # whether copier may run the template's tasks and extensions
    up_to_date: bool  # nothing to do


def _plan(
    project: Path,
    to: str | None,
    data: dict[str, Any] | None,
    template: str | None,
    trust: bool,
    say: Callable[[str], None],
) -> _Plan:
    """Check the project and the request; refuse what cannot be updated."""
    answers = _check_project(project)
    old = str(answers["_commit"])
    src, ours = project_source(answers, template)
    if ours:
        repo, current = ensure_template_repo()
        src, target = str(repo), _target_tag(repo, to, current)
        check_versions(repo, old, target)
        check_recorded(project, answers)
    else:
        target = to
        say(f"Updating from {src}, which is not scaffold's own template.")
    if ours and data:
        check_answers(data)
    if old == target and not data and src == answers.get("_src_path"):
        return _Plan(old, src, target, False, True)
    say(f"Updating {project} from template {old} to {target or 'its newest version'}")
    return _Plan(old, src, target, ours or trust, False)  # ours loads scaffold.jinja


def _check_project(project: Path) -> dict[str, Any]:
    """Refuse what cannot be updated; return the project's answers."""
    answers = read_answers(project)
    if not git_available():
        raise ScaffoldError("scaffold update needs git, which is not installed.")
    if not git(project, "rev-parse", "--is-inside-work-tree", check=False):
        raise ScaffoldError(
            f"{project} is not a git repository; commit it first "
            "(git init && git add -A && git commit -m 'Before update')."
        )
    git(project, "update-index", "--no-skip-worktree", ANSWERS, check=False)  # see _pointed_at
    if git(project, "status", "--porcelain", "--", ".", check=False):
        raise ScaffoldError(
            f"{project} has uncommitted changes; commit or stash them first, "
            "so that the update can be reviewed and undone."
        )
    return answers


def project_source(answers: dict[str, Any], template: str | None) -> tuple[str, bool]:
    """The template to update from, and whether it is scaffold's own."""
    mine = template_repo()
    if template is not None:
        local = Path(template).expanduser()
        src = str(local.absolute()) if local.exists() else template
        return src, local.exists() and local.resolve() == mine.resolve()
    recorded = str(answers["_src_path"])
    path = Path(recorded).expanduser()
    if not path.is_absolute():
        return recorded, False  # a URL such as gh:team/template
    if path.exists():
        return recorded, path.resolve() == mine.resolve() or is_managed(path)
    # Gone: scaffold's home moved, or the project came from another machine.
    if path.name == "template":
        return str(mine), True
    raise ScaffoldError(
        f"The project's template {recorded} does not exist here; "
        "pass --template with its new location."
    )


def _target_tag(repo: Path, to: str | None, current: str) -> str:
    if to is None:
        return current
    tag = to if to.startswith("v") else f"v{to}"
    if not has_tag(repo, tag):
        known = ", ".join(versions(repo)) or "none"
        raise ScaffoldError(f"There is no template version {tag}; the versions are: {known}.")
    return tag


def check_versions(repo: Path, old: str, target: str) -> None:
    """Refuse a project version this scaffold lacks, and a downgrade to `target`."""
    if not has_tag(repo, old):
        if "+" in old:  # v0.1.0+1a2b3c4d: a development build, never released
            raise ScaffoldError(
                f"The project was made with template {old} of a development build of "
                "scaffold, which only the machine that ran it has; update it there."
            )
        raise ScaffoldError(
            f"The project was made with template {old}, which this scaffold "
            f"({source.packaged().version}) does not have; upgrade scaffold and try again."
        )
    try:
        downgrade = Version(old) > Version(target)
    except InvalidVersion:
        return  # copier decides
    if downgrade:
        raise ScaffoldError(
            f"The project is at template {old}, newer than {target}; upgrade scaffold "
            "(or pass --to a newer version) instead."
        )


def _update(
    project: Path,
    where: Path,
    plan: _Plan,
    data: dict[str, Any] | None,
    conflict: Conflict,
) -> Updated:
    """Run copier's update in `where` (the project or a clone of it) and report on it."""
    src, target, unsafe = plan.src, plan.target, plan.unsafe
    old = str(yaml.safe_load((where / ANSWERS).read_text(encoding="utf-8"))["_commit"])
    rejects_before = set(_rejects(where))
    try:
        with _pointed_at(where, src):
            run_update(
                where,
                data=data or {},
                vcs_ref=target,
                defaults=True,
                overwrite=True,
                quiet=True,
                unsafe=unsafe,
                conflict=conflict,
            )
    except KeyboardInterrupt as error:
        raise ScaffoldError(
            f"Cancelled; `git -C {project} reset --hard && git -C {project} clean -fd` "
            "undoes a partial update."
        ) from error
    except (ValueError, CopierError) as error:
        raise copier_failure(error, src) from error
    new = str(yaml.safe_load((where / ANSWERS).read_text(encoding="utf-8"))["_commit"])
    rejects = [r for r in _rejects(where) if r not in rejects_before]
    unmerged = git(where, "diff", "--name-only", "--diff-filter=U", "--relative").splitlines()
    conflicts = sorted({*unmerged, *(r.removesuffix(".rej") for r in rejects)})
    changed = [(s, p) for s, p in _status(where) if p not in conflicts and p not in rejects]
    return Updated(project, old, new, src, changed, conflicts)


@contextmanager
def _pointed_at(project: Path, src: str) -> Iterator[None]:
    """Make the answers file name `src` as the template while copier updates the project.

    copier's update takes the template from `_src_path` and refuses a dirty project, so
    the rewritten answers file is hidden from `git status` (skip-worktree) until copier
    has written its own, which then shows as changed, as it should. When the update
    fails, the file gets its old bytes back: the project stays clean, and the next
    update is not refused as dirty.
    """
    answers_file = project / ANSWERS
    raw = answers_file.read_bytes()
    text = raw.decode("utf-8")
    answers = yaml.safe_load(text)
    if answers.get("_src_path") == src:
        yield
        return
    git(project, "update-index", "--skip-worktree", ANSWERS)
    try:
        lines = [
            f"_src_path: {yaml.safe_dump(src).splitlines()[0]}"
            if line.startswith("_src_path:")
            else line
            for line in text.splitlines()
        ]
        answers_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        yield
    except BaseException:
        answers_file.write_bytes(raw)  # a failed update leaves the file as it was
        raise
    finally:
        git(project, "update-index", "--no-skip-worktree", ANSWERS, check=False)


def _status(where: Path) -> list[tuple[str, str]]:
    """(modified|added|deleted, path relative to `where`) for each change in `where`."""
    out = git(
        where, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", ".", strip=False
    )
    prefix = git(where, "rev-parse", "--show-prefix")
    found = []
    entries = iter(out.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        code, name = entry[:2], entry[3:]
        if "R" in code:
            next(entries, None)  # the rename's source follows
        kind = "added" if code == "??" or "A" in code else "deleted" if "D" in code else "modified"
        found.append((kind, name.removeprefix(prefix)))
    return sorted(found, key=lambda item: item[1])


def _rejects(where: Path) -> list[str]:
    """Untracked `*.rej` files in `where`, ignored ones included."""
    out = git(where, "ls-files", "--others", "-z", "--", "*.rej", strip=False)
    return sorted(name for name in out.split("\0") if name)


@contextmanager
def _clone(project: Path) -> Iterator[Path]:
    """A throw-away clone of the project's repository; yields the project's folder in it."""
    top = Path(git(project, "rev-parse", "--show-toplevel"))
    inside = project.resolve().relative_to(top.resolve())
    folder = Path(tempfile.mkdtemp(prefix="scaffold-dry-run-"))
    try:
        git(folder, "clone", "--quiet", "--no-hardlinks", str(top), "clone")
        yield folder / "clone" / inside
    finally:
        shutil.rmtree(folder, ignore_errors=True)
