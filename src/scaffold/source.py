"""The per-user git repository of scaffold's template: one tagged commit per template version.

Why: copier records a project's `_src_path` verbatim and can only update a project from
a git repository that has the tag recorded in `_commit`. A pip-installed scaffold holds a
plain folder inside one virtual environment. So the package also carries its template
history, a git bundle (`scaffold/_history/template.bundle`, one annotated tag `vX.Y.Z` per
released version, written by `python -m scaffold._release`). Before each render or update
the bundle's tags are fetched into `$SCAFFOLD_HOME/template` (default
`$XDG_DATA_HOME/scaffold/template` or `~/.local/share/scaffold/template`) and the packaged
template is committed there and tagged `v<version>` unless a tag of that version already
holds the same content. A development build whose content differs from `v<version>` is
tagged `v<version>+<first 8 hex of its git tree hash>`. Tags are never moved: the
repository keeps every version ever installed or shipped, so updates find the old one
offline, on any machine, after any upgrade.

    python -c "from scaffold.source import ensure_template_repo; print(ensure_template_repo())"
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from scaffold import __version__
from scaffold.errors import ScaffoldError
from scaffold.git import git
from scaffold.template import template_root

# The template history that ships inside the package (see scaffold._release).
HISTORY = Path(__file__).parent / "_history" / "template.bundle"
# Set in every repository that scaffold manages, to tell it from someone's template fork.
MARKER = "scaffold.template"

# A fixed identity, no signing, and none of the user's global git configuration (hooks,
# excludes, templates): this repository belongs to scaffold, not to the user.
_GIT_OPTIONS = (
    "-c",
    "user.name=scaffold",
    "-c",
    "user.email=scaffold@localhost",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "core.autocrlf=false",
)
_GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass(frozen=True)
class Packaged:
    """What this installation of scaffold carries: its template, history and version."""

    root: Path  # holds copier.yml and template/
    history: Path | None  # a git bundle of released template versions, if any
    version: str


def packaged() -> Packaged:
    """The template, template history and version of the running scaffold."""
    return Packaged(template_root(), HISTORY if HISTORY.is_file() else None, __version__)


def scaffold_home() -> Path:
    """Where scaffold keeps per-user data: `$SCAFFOLD_HOME`, else the XDG data folder."""
    if home := os.environ.get("SCAFFOLD_HOME"):
        return Path(home).expanduser().absolute()
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return (Path(data).expanduser() / "scaffold").absolute()


def template_repo() -> Path:
    """The per-user template repository (it may not exist yet)."""
    return scaffold_home() / "template"


def ensure_template_repo(
    root: Path | None = None, history: Path | None = None, version: str | None = None
) -> tuple[Path, str]:
    """Make the per-user template repository hold scaffold's template; return (path, tag).

    `root` is the folder holding copier.yml and template/, `history` a bundle of released
    versions and `version` the version to tag; all default to the running scaffold's
    (a given `root` comes without history unless `history` is given too).
    Calling it again with the same template adds no commit and no tag.
    """
    if root is None:
        mine = packaged()
        root, history, version = mine.root, history or mine.history, version or mine.version
    version = version or __version__
    repo = template_repo()
    try:
        repo.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ScaffoldError(
            f"Cannot create scaffold's template repository {repo}: {error.strerror}."
        ) from error
    with _locked(repo.parent / "template.lock"):
        if not (repo / ".git").is_dir():
            _git(repo, "init", "--quiet")
        _git(repo, "config", MARKER, "true")
        if history is not None:
            import_history(repo, history)
        copy_template(root, repo)
        _git(repo, "add", "--all", "--force", ".")
        tree = _git(repo, "write-tree")
        tag = f"v{version}"
        if _tree_of(repo, tag) not in ("", tree):  # a development build: other content
            tag = f"v{version}+{tree[:8]}"
        if _tree_of(repo, tag) == tree:
            if _git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False) != (
                _git(repo, "rev-parse", f"{tag}^{{commit}}")
            ):
                _git(repo, "reset", "--quiet", "--soft", f"{tag}^{{commit}}")  # clean again
        else:
            # One commit per tag, even for equal content: copier names a version by
            # `git describe`, which must not have two tags to choose from.
            message = f"Template of scaffold {version}"
            _git(repo, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message)
            _git(repo, "tag", tag)
    return repo, tag


def import_history(repo: Path, bundle: Path) -> list[str]:
    """Fetch the tags of `bundle` that `repo` lacks; return their names.

    A tag that `repo` already has is kept as it is: projects made from it name it.
    """
    try:
        heads = _git(repo, "bundle", "list-heads", str(bundle))
    except ScaffoldError as error:
        raise ScaffoldError(
            f"scaffold's template history {bundle} is unreadable; reinstall scaffold."
        ) from error
    offered = [line.split()[1] for line in heads.splitlines() if " refs/tags/" in line]
    have = set(_git(repo, "tag", "--list").splitlines())
    missing = [ref for ref in offered if ref.removeprefix("refs/tags/") not in have]
    if missing:
        _git(repo, "fetch", "--quiet", "--no-tags", str(bundle), *(f"{r}:{r}" for r in missing))
    return [ref.removeprefix("refs/tags/") for ref in missing]


def versions(repo: Path | None = None) -> list[str]:
    """The version tags of the template repository, oldest first (PEP 440 order)."""
    repo = repo or template_repo()
    if not (repo / ".git").is_dir():
        return []
    tags = _git(repo, "tag", "--list", "v*").splitlines()
    parsed = []
    for tag in tags:
        try:
            parsed.append((Version(tag), tag))
        except InvalidVersion:
            continue
    return [tag for _, tag in sorted(parsed)]


def has_tag(repo: Path, tag: str) -> bool:
    """Whether `repo` has the tag `tag`."""
    return bool(_git(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}", check=False))


def is_managed(path: Path) -> bool:
    """Whether `path` is a template repository that some scaffold installation manages."""
    if not (path / ".git").is_dir():
        return False
    return _git(path, "config", "--get", MARKER, check=False) == "true"


def template_git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git in a repository that scaffold manages: fixed identity, no user configuration."""
    return git(repo, *_GIT_OPTIONS, *args, env=_GIT_ENV, check=check)


_git = template_git


def _tree_of(repo: Path, ref: str) -> str:
    """The tree hash (content) of `ref`, or "" when `ref` does not exist."""
    return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{tree}}", check=False)


def copy_template(root: Path, dest: Path) -> None:
    """Replace the files of `dest` (all but .git) by copier.yml and template/ of `root`."""
    for entry in dest.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copy2(root / "copier.yml", dest / "copier.yml")
    shutil.copytree(root / "template", dest / "template", symlinks=True, ignore=_SKIPPED)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` so that two scaffold runs don't commit at once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
