"""The per-user git repository of scaffold's template: one tagged commit per installed version.

Why: copier records a project's `_src_path` verbatim and can only update a project from
a git repository that has the tag recorded in `_commit`. A pip-installed scaffold holds a
plain folder inside one virtual environment. So before each render the packaged template
is copied into `$SCAFFOLD_HOME/template` (default `$XDG_DATA_HOME/scaffold/template` or
`~/.local/share/scaffold/template`), committed when it changed, and tagged `v<version>`.
A development build whose content differs from an existing `v<version>` is tagged
`v<version>+<first 8 hex of its git tree hash>`. The repository keeps every version that
was ever installed, so later updates find the old one offline.

    python -c "from scaffold.source import ensure_template_repo; print(ensure_template_repo())"
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scaffold import __version__
from scaffold.errors import ScaffoldError
from scaffold.git import git
from scaffold.template import template_root

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
    "core.autocrlf=false",
)
_GIT_ENV = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc")


def scaffold_home() -> Path:
    """Where scaffold keeps per-user data: `$SCAFFOLD_HOME`, else the XDG data folder."""
    if home := os.environ.get("SCAFFOLD_HOME"):
        return Path(home).expanduser().absolute()
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return (Path(data).expanduser() / "scaffold").absolute()


def ensure_template_repo(root: Path | None = None) -> tuple[Path, str]:
    """Make the per-user template repository hold the packaged template; return (path, tag).

    `root` is the folder holding copier.yml and template/ (default: the packaged one).
    Calling it again with the same template adds no commit and no tag.
    """
    root = root or template_root()
    home = scaffold_home()
    repo = home / "template"
    try:
        repo.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ScaffoldError(
            f"Cannot create scaffold's template repository {repo}: {error.strerror}."
        ) from error
    with _locked(home / "template.lock"):
        if not (repo / ".git").is_dir():
            _git(repo, "init", "--quiet")
        _copy_template(root, repo)
        _git(repo, "add", "--all", "--force", ".")
        tree = _git(repo, "write-tree")
        if _tree_of(repo, "HEAD") != tree:
            _git(
                repo,
                "commit",
                "--quiet",
                "--no-verify",
                "-m",
                f"Template of scaffold {__version__}",
            )
        tag = f"v{__version__}"
        tagged = _tree_of(repo, tag)
        if tagged and tagged != tree:  # a development build: same version, other content
            tag = f"v{__version__}+{tree[:8]}"
            tagged = _tree_of(repo, tag)
        if not tagged:
            _git(repo, "tag", tag)
    return repo, tag


def _git(repo: Path, *args: str, check: bool = True) -> str:
    return git(repo, *_GIT_OPTIONS, *args, env=_GIT_ENV, check=check)


def _tree_of(repo: Path, ref: str) -> str:
    """The tree hash (content) of `ref`, or "" when `ref` does not exist."""
    return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{tree}}", check=False)


def _copy_template(root: Path, repo: Path) -> None:
    """Replace the work tree by copier.yml and template/ (files gone from the package go)."""
    for entry in repo.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copy2(root / "copier.yml", repo / "copier.yml")
    shutil.copytree(root / "template", repo / "template", symlinks=True, ignore=_SKIPPED)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` so that two scaffold runs don't commit at once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
