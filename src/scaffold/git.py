"""A small wrapper around the git command line, shared by the template repository and
the initial commit of a new project."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from scaffold.errors import ScaffoldError

# Variables that point git at another repository (`git rev-parse --local-env-vars`).
# A git hook that runs scaffold (e.g. pre-commit running the tests) sets some of them.
_REPOSITORY_VARIABLES = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
)


def git_available() -> bool:
    """Whether a `git` executable is on PATH."""
    return shutil.which("git") is not None


def git(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    strip: bool = True,
) -> str:
    """Run `git ARGS` in `cwd` and return its standard output (stripped with `strip`).

    With `check`, a non-zero exit raises ScaffoldError carrying git's last error line;
    without it, a failing command returns "".
    """
    full_env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    full_env.update(env or {})
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        return done.stdout.strip() if strip else done.stdout
    if not check:
        return ""
    lines = (done.stderr or done.stdout).strip().splitlines() or ["no message"]
    raise ScaffoldError(f"`git {args[0]}` failed in {cwd}: {lines[-1]}")
