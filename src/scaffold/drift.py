"""Is a project behind this scaffold's template? (what `scaffold check` runs)

    python -c "from scaffold.drift import check_project; print(check_project('.'))"

Why: `scaffold update` changes files; a user (or a CI job) first wants to know whether
there is anything to update and what changed in the template, the way `cruft check` and
copier's `check-update` answer it. The answer comes from the per-user template
repository's version tags (see `scaffold.source`), offline; the project is only read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scaffold.answers import read_answers
from scaffold.destination import absolute_path
from scaffold.errors import ScaffoldError
from scaffold.git import git_available
from scaffold.source import ensure_template_repo, template_git
from scaffold.update import check_versions, project_source


@dataclass(frozen=True)
class Drift:
    """Where a project stands against the newest template version this scaffold has."""

    path: Path
    current: str  # the project's template version (its `_commit`)
    newest: str  # this scaffold's template version
    changed: list[str]  # template files that differ between the two (copier.yml, template/...)

    @property
    def behind(self) -> bool:
        """Whether `scaffold update` has a newer template version to bring."""
        return self.current != self.newest


def check_project(path: str | os.PathLike[str]) -> Drift:
    """Compare the project at `path` with this scaffold's template; write nothing.

    Raises ScaffoldError for a project that is not scaffold's, or whose version this
    scaffold does not know or is newer than this scaffold's.
    """
    project = absolute_path(path)
    answers = read_answers(project)
    if not git_available():
        raise ScaffoldError("scaffold check needs git, which is not installed.")
    _, ours = project_source(answers, None)
    if not ours:
        raise ScaffoldError(
            f"{project} was made from the template {answers['_src_path']}, not scaffold's; "
            "`copier check-update` checks such projects."
        )
    repo, newest = ensure_template_repo()
    current = str(answers["_commit"])
    check_versions(repo, current, newest)
    changed = []
    if current != newest:
        names = template_git(repo, "diff", "--name-only", current, newest, "--", ".")
        changed = sorted(names.splitlines())
    return Drift(project, current, newest, changed)
