"""A project's `.copier-answers.yml`: read it, and check what copier would trip over.

Why: copier reads this file with tracebacks for mistakes a user can make by hand (a
file saved in another encoding, `features: tensorboard` instead of a list); scaffold
refuses them first, in one sentence, before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scaffold.errors import ScaffoldError
from scaffold.variants import questions

ANSWERS = ".copier-answers.yml"


def read_answers(project: Path) -> dict[str, Any]:
    """The project's `.copier-answers.yml`; ScaffoldError when it is missing or unreadable."""
    if not project.is_dir():
        raise ScaffoldError(f"{project} is not a folder.")
    try:
        answers = yaml.safe_load((project / ANSWERS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScaffoldError(
            f"{project} has no {ANSWERS}; only projects made by `scaffold new` can be updated."
        ) from None
    except UnicodeDecodeError:
        raise ScaffoldError(
            f"{project / ANSWERS} is not UTF-8 text; restore it with `git checkout -- {ANSWERS}`."
        ) from None
    except (OSError, yaml.YAMLError) as error:
        why = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ScaffoldError(f"Cannot read {project / ANSWERS}: {why}.") from error
    if not isinstance(answers, dict) or "_src_path" not in answers:
        raise ScaffoldError(f"{project / ANSWERS} does not name the template (_src_path).")
    if "_commit" not in answers:
        raise ScaffoldError(
            f"{project} records no template version (it was made without git), "
            "so it cannot be updated."
        )
    return answers


def check_recorded(project: Path, answers: dict[str, Any]) -> None:
    """Refuse recorded answers of the wrong shape, which copier fails on with a traceback."""
    for key, spec in questions().items():
        if spec.get("multiselect") and key in answers and not isinstance(answers[key], list):
            raise ScaffoldError(
                f"{key} in {project / ANSWERS} must be a YAML list such as [tensorboard], "
                f"not {answers[key]!r}; fix it and commit, then update."
            )
