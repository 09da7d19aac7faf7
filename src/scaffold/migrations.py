"""Data moves for `scaffold update`, run by copier as migrations of scaffold's template.

When a template version renames a question or a choice, the answer a project gave must
move with it, or the update would silently fall back to the default. copier.yml lists
the move for the version that needs it, e.g.:

    _migrations:
      - version: v0.2.0
        when: "{{ _stage == 'before' }}"
        command: ["{{ _copier_python }}", "-m", "scaffold.migrations",
                  "rename-question", "author", "maintainer"]

copier runs it in the project's folder only when updating from a version before v0.2.0
to v0.2.0 or later, after rendering the old version and before rendering the new one,
which then reads the moved answer. `_copier_python` is the interpreter running scaffold,
so the move is the installed scaffold's code. Every move is idempotent.

    python -m scaffold.migrations rename-question OLD NEW
    python -m scaffold.migrations rename-choice QUESTION OLD NEW
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ANSWERS = Path(".copier-answers.yml")


def rename_question(answers: dict[str, Any], old: str, new: str) -> bool:
    """Move the answer of question `old` to `new`; return whether anything changed."""
    if old not in answers or new in answers:
        return False
    renamed = {(new if key == old else key): value for key, value in answers.items()}
    answers.clear()
    answers.update(renamed)
    return True


def rename_choice(answers: dict[str, Any], question: str, old: str, new: str) -> bool:
    """Replace the choice `old` by `new` in `question`'s answer (one value or a list)."""
    value = answers.get(question)
    if value == old:
        answers[question] = new
        return True
    if isinstance(value, list) and old in value:
        answers[question] = [new if item == old else item for item in value]
        return True
    return False


def edit_answers(path: Path, move: str, args: list[str]) -> bool:
    """Apply the move named `move` to the answers file at `path`, keeping its comments."""
    text = path.read_text(encoding="utf-8")
    answers = yaml.safe_load(text) or {}
    changed = {"rename-question": rename_question, "rename-choice": rename_choice}[move](
        answers, *args
    )
    if changed:
        comments = [line for line in text.splitlines() if line.startswith("#")]
        body = yaml.safe_dump(answers, sort_keys=False, allow_unicode=True)
        path.write_text("\n".join([*comments, body]), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(prog="python -m scaffold.migrations", description=__doc__)
    parser.add_argument("--answers-file", type=Path, default=ANSWERS)
    moves = parser.add_subparsers(dest="move", required=True)
    question = moves.add_parser("rename-question", help="move an answer to a renamed question")
    question.add_argument("old")
    question.add_argument("new")
    choice = moves.add_parser("rename-choice", help="replace a renamed choice in an answer")
    choice.add_argument("question")
    choice.add_argument("old")
    choice.add_argument("new")
    args = parser.parse_args(argv)
    values = (
        [args.old, args.new]
        if args.move == "rename-question"
        else [args.question, args.old, args.new]
    )
    edit_answers(args.answers_file, args.move, values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
