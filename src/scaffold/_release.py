"""Cut a template version into the template history that ships in the package (maintainers).

    python -m scaffold._release            # add the template as v<version in pyproject.toml>
    python -m scaffold._release --replace  # re-cut the newest version (only before releasing it)
    python -m scaffold._release --check    # exit 1 unless the history holds the template as it is

The history is a git bundle, `src/scaffold/_history/template.bundle`: a linear branch
`main` with one commit per released version (copier.yml + template/, the layout of the
per-user template repository) and an annotated tag `vX.Y.Z` on each. `scaffold.source`
fetches its tags into every user's template repository, which is how a project made by
any earlier release finds its template version for `scaffold update`, offline.
Released versions must never change: projects name them in `_commit`.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

from packaging.version import Version

from scaffold.errors import ScaffoldError
from scaffold.source import HISTORY, copy_template, template_git, versions
from scaffold.template import template_root


def source_version(root: Path) -> str:
    """The version in `root`/pyproject.toml (the source tree's, not the installed one's)."""
    pyproject = root / "pyproject.toml"
    found = re.search(r'(?m)^version\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"))
    if not found:
        raise ScaffoldError(f"No version in {pyproject}; pass --version.")
    return found.group(1)


def cut(version: str, root: Path, bundle: Path = HISTORY, *, replace: bool = False) -> str:
    """Add the template of `root` to `bundle` as version `version`; return its tag.

    `replace` re-cuts `version` when it is the newest version in the bundle.
    """
    tag = f"v{Version(version)}" if not version.startswith("v") else version
    with tempfile.TemporaryDirectory(prefix="scaffold-release-") as tmp:
        work = _checkout(bundle, Path(tmp))
        known = versions(work)
        if tag in known:
            if not replace:
                raise ScaffoldError(
                    f"{tag} is already in {bundle}; pass --replace to re-cut it "
                    "(only before it is released)."
                )
            if known[-1] != tag:
                raise ScaffoldError(f"Only the newest version, {known[-1]}, can be re-cut.")
            parent = template_git(work, "rev-parse", "--verify", "--quiet", f"{tag}~1", check=False)
            template_git(work, "tag", "--delete", tag)
            if parent:
                template_git(work, "reset", "--quiet", "--hard", parent)
            else:  # the only version: start again
                work = _checkout(None, Path(tmp) / "again")
        elif known and Version(tag) < Version(known[-1]):
            raise ScaffoldError(f"{tag} is older than the newest version in {bundle}, {known[-1]}.")
        copy_template(root, work)
        template_git(work, "add", "--all", "--force", ".")
        message = f"Template of scaffold {tag.removeprefix('v')}"
        template_git(work, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message)
        template_git(work, "tag", "--annotate", "--message", message, tag)
        bundle.parent.mkdir(parents=True, exist_ok=True)
        partial = bundle.with_name(bundle.name + ".partial")
        template_git(work, "bundle", "create", "--quiet", str(partial.absolute()), "main", "--tags")
        os.replace(partial, bundle)
    return tag


def check(version: str, root: Path, bundle: Path = HISTORY) -> str:
    """Why `bundle` does not hold the template of `root` as `version`; "" when it does."""
    tag = f"v{version.removeprefix('v')}"
    if not bundle.is_file():
        return f"{bundle} does not exist; run `python -m scaffold._release`."
    with tempfile.TemporaryDirectory(prefix="scaffold-release-") as tmp:
        work = _checkout(bundle, Path(tmp))
        if tag not in versions(work):
            return f"{bundle} has no {tag}; run `python -m scaffold._release`."
        copy_template(root, work)
        template_git(work, "add", "--all", "--force", ".")
        if template_git(work, "write-tree") != template_git(work, "rev-parse", f"{tag}^{{tree}}"):
            return (
                f"The template differs from {tag} in {bundle}; re-cut it with "
                "`python -m scaffold._release --replace` (only before releasing it)."
            )
    return ""


def _checkout(bundle: Path | None, folder: Path) -> Path:
    """A work repository holding `bundle`'s history on branch main (empty without one)."""
    work = folder / "history"
    if bundle is not None and bundle.is_file():
        template_git(folder, "clone", "--quiet", "--branch", "main", str(bundle), str(work))
        return work
    work.mkdir(parents=True)
    template_git(work, "init", "--quiet")
    template_git(work, "symbolic-ref", "HEAD", "refs/heads/main")
    return work


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(prog="python -m scaffold._release", description=__doc__)
    parser.add_argument("--version", help="version to cut (default: pyproject.toml's)")
    parser.add_argument("--replace", action="store_true", help="re-cut the newest version")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 on a mismatch")
    parser.add_argument("--bundle", type=Path, default=HISTORY, help="default: %(default)s")
    args = parser.parse_args(argv)
    root = template_root()
    try:
        version = args.version or source_version(root)
        if args.check:
            problem = check(version, root, args.bundle)
            print(problem or f"{args.bundle} holds the template as v{version}.")
            return 1 if problem else 0
        tag = cut(version, root, args.bundle, replace=args.replace)
    except ScaffoldError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    print(f"{args.bundle}: added {tag}; versions: {', '.join(_bundle_tags(args.bundle))}.")
    return 0


def _bundle_tags(bundle: Path) -> list[str]:
    heads = template_git(bundle.parent, "bundle", "list-heads", str(bundle.absolute()))
    tags = [line.split()[1].removeprefix("refs/tags/") for line in heads.splitlines()]
    return sorted((t for t in tags if t.startswith("v")), key=Version)


if __name__ == "__main__":
    sys.exit(main())
