"""`scaffold update`: edits kept, template changes in, conflicts reported, refusals.

Projects are made at test template version A (1.0.0) in one scaffold home; the update
runs with version B (2.0.0) "installed" (see conftest.versions), usually from another
home and folder, as after moving the project to another machine.

Run: pytest -q tests/test_update.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import reliability
import yaml
from conftest import AUTHOR, Versions
from copier.errors import CopierError
from template_versions import B_LINE, B_NEW_FILE
from typer.testing import CliRunner

from scaffold import update
from scaffold.cli import app
from scaffold.source import Packaged

runner = CliRunner()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def _answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def _commit(project: Path, message: str = "my edits") -> None:
    _git(project, "add", "--all")
    _git(project, "commit", "--quiet", "-m", message)


def _update(project: Path, *args: str) -> object:
    return runner.invoke(app, ["update", str(project), *args])


def test_update_keeps_edits_and_brings_template_changes(project: Path, upgraded: Path) -> None:
    reliability.update_scenario()
    readme = project / "README.md"
    lines = readme.read_text().splitlines()
    lines[0] += " (my title)"  # a file the template changes, on other lines
    readme.write_text("\n".join(lines) + "\n")
    train = project / "src" / "proj" / "train.py"  # a file the template does not change
    train.write_text(train.read_text() + "# my note\n")
    (project / "notes.txt").write_text("mine\n")
    _commit(project)

    result = _update(project)
    assert result.exit_code == 0, result.output
    assert "from template v1.0.0 to v2.0.0" in result.stdout
    assert "README.md" in result.stdout and B_NEW_FILE in result.stdout

    text = readme.read_text()
    assert text.splitlines()[0].endswith(" (my title)")  # the user's edit
    assert B_LINE in text  # the template's change
    assert (project / B_NEW_FILE).is_file()
    assert train.read_text().endswith("# my note\n")
    assert (project / "notes.txt").read_text() == "mine\n"
    answers = _answers(project)
    assert answers["_commit"] == "v2.0.0"
    assert answers["_src_path"] == str(upgraded / "template")  # this machine's repository
    # The migration moved the answer to the renamed question.
    assert answers["maintainer"] == AUTHOR and "author" not in answers
    assert AUTHOR in (project / "pyproject.toml").read_text()
    assert _git(project, "diff", "--name-only", "--diff-filter=U") == ""


@pytest.mark.parametrize("style", ["inline", "rej"])
def test_conflicts_are_listed_and_fail(project: Path, upgraded: Path, style: str) -> None:
    reliability.update_scenario()
    readme = project / "README.md"
    readme.write_text(readme.read_text().rstrip("\n") + "\n\nMy own last line.\n")
    _commit(project)

    result = _update(project, "--conflict", style, "--to", "v2.0.0")
    assert result.exit_code == 1, result.output
    assert "conflict  README.md" in result.stdout
    assert "conflicts in 1 file" in result.stderr
    assert (project / B_NEW_FILE).is_file()  # what merged cleanly arrived
    if style == "inline":
        text = readme.read_text()
        assert "<<<<<<< before updating" in text and ">>>>>>> after updating" in text
        assert _git(project, "diff", "--name-only", "--diff-filter=U") == "README.md"
    else:
        # The template's version is in place; the user's rejected hunk waits in the .rej.
        assert "My own last line." in (project / "README.md.rej").read_text()
        assert B_LINE in readme.read_text() and "<<<<<<<" not in readme.read_text()


def test_dry_run_writes_nothing(project: Path, upgraded: Path) -> None:
    reliability.update_scenario()
    head = _git(project, "rev-parse", "HEAD")
    before = {
        p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts
    }
    result = _update(project, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would update" in result.stdout and "README.md" in result.stdout
    assert "nothing was written" in result.stdout
    after = {p: p.read_bytes() for p in project.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before
    assert _git(project, "status", "--porcelain") == ""
    assert _git(project, "rev-parse", "HEAD") == head


def test_features_are_added_by_answering_again(
    project: Path, versions: Versions, install: Callable[[Packaged], None]
) -> None:
    reliability.update_scenario()
    install(versions.a)  # same version: only the answer changes
    assert not (project / "src" / "proj" / "tb.py").exists()
    result = _update(project, "--data", "features=[tensorboard]")
    assert result.exit_code == 0, result.output
    assert (project / "src" / "proj" / "tb.py").is_file()
    assert _answers(project)["features"] == ["tensorboard"]
    assert "tensorboard" in (project / "pyproject.toml").read_text()


def test_already_up_to_date(
    made_at_a: Path, versions: Versions, install: Callable[[Packaged], None], monkeypatch
) -> None:
    reliability.update_scenario()
    install(versions.a)
    monkeypatch.setenv("SCAFFOLD_HOME", str(made_at_a.parent / "home-a"))
    result = _update(made_at_a)
    assert result.exit_code == 0, result.output
    assert "already at template v1.0.0" in result.stdout


def _dirty(project: Path) -> None:
    (project / "scratch.txt").write_text("not committed\n")


def _not_git(project: Path) -> None:
    shutil.rmtree(project / ".git")


def _no_answers(project: Path) -> None:
    (project / ".copier-answers.yml").unlink()
    _commit(project, "no answers")


def _unknown_version(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: v1.0.0", "_commit: v0.0.7"))
    _commit(project, "other version")


def _newer_version(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: v1.0.0", "_commit: v2.0.0"))
    _commit(project, "newer")


@pytest.mark.parametrize(
    ("spoil", "args", "expected"),
    [
        (_dirty, [], "has uncommitted changes; commit or stash them first"),
        (_not_git, [], "is not a git repository"),
        (_no_answers, [], "has no .copier-answers.yml"),
        (_unknown_version, [], "made with template v0.0.7, which this scaffold (2.0.0)"),
        (_newer_version, ["--to", "1.0.0"], "at template v2.0.0, newer than v1.0.0"),
        (None, ["--to", "9.9.9"], "no template version v9.9.9; the versions are: v1.0.0, v2.0.0"),
        (None, ["-d", "base=mine"], "Unknown question 'base'"),
        (None, ["-d", "features=[nope]"], "Unknown choice 'nope' for features"),
    ],
)
def test_refusals(
    project: Path, upgraded: Path, spoil: Callable[[Path], None] | None, args: list, expected: str
) -> None:
    if spoil is not None:
        spoil(project)
    before = _git(project, "status", "--porcelain") if (project / ".git").exists() else None
    result = _update(project, *args)
    reliability.bad_input("scaffold update refusals")
    reliability.no_traceback(result)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    if before is not None:
        assert _git(project, "status", "--porcelain") == before


def test_missing_template_elsewhere_needs_template_option(project: Path, upgraded: Path) -> None:
    reliability.update_scenario()
    answers = project / ".copier-answers.yml"
    text = re.sub(r"(?m)^_src_path: .*$", "_src_path: /nowhere/fork", answers.read_text())
    answers.write_text(text)
    _commit(project, "a template that is gone")
    result = _update(project)
    assert result.exit_code == 1
    assert "does not exist here; pass --template" in result.stderr


@pytest.mark.parametrize("raised", [CopierError("the disk is full"), KeyboardInterrupt()])
def test_failed_update_of_a_moved_project_leaves_answers_as_they_were(
    project: Path, upgraded: Path, monkeypatch: pytest.MonkeyPatch, raised: BaseException
) -> None:
    answers = project / ".copier-answers.yml"
    before = answers.read_bytes()
    assert str(upgraded) not in before.decode()  # moved: _src_path gets rewritten for copier

    def fail(where: Path, **kwargs: object) -> None:
        assert str(upgraded) in answers.read_text()  # copier sees this machine's template
        raise raised

    real = update.run_update
    monkeypatch.setattr(update, "run_update", fail)
    result = _update(project)
    reliability.update_scenario()
    reliability.no_traceback(result)
    assert result.exit_code == 1
    assert answers.read_bytes() == before
    assert _git(project, "status", "--porcelain") == ""
    assert _git(project, "ls-files", "-v", ".copier-answers.yml").startswith("H ")  # no skip bit
    monkeypatch.setattr(update, "run_update", real)
    again = _update(project)
    assert again.exit_code == 0, again.output  # the next update is not refused


def test_dry_run_that_predicts_a_conflict_fails(project: Path, upgraded: Path) -> None:
    readme = project / "README.md"
    readme.write_text(readme.read_text().rstrip("\n") + "\n\nMy own last line.\n")
    _commit(project)
    head = _git(project, "rev-parse", "HEAD")
    result = _update(project, "--dry-run")
    reliability.update_scenario()
    assert result.exit_code == 1, result.output
    assert "conflict  README.md" in result.stdout and "nothing was written" in result.stdout
    assert result.stderr.strip().splitlines() == [
        "Error: The update would leave conflicts in 1 file; nothing was written."
    ]
    assert (
        _git(project, "status", "--porcelain") == "" and _git(project, "rev-parse", "HEAD") == head
    )


def _not_utf8(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_bytes(
        answers.read_bytes().replace(b"Ada Lovelace", "Ada Lövelace".encode("latin-1"))
    )
    _commit(project, "saved in latin-1")


def _features_as_text(project: Path) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_text(re.sub(r"(?m)^features: .*$", "features: tensorboard", answers.read_text()))
    _commit(project, "features by hand")


@pytest.mark.parametrize("command", ["update", "check", "diff"])
@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (_not_utf8, ".copier-answers.yml is not UTF-8 text; restore it with"),
        (_features_as_text, "features in "),
    ],
)
def test_damaged_answers_give_one_sentence(
    project: Path, upgraded: Path, command: str, spoil: Callable[[Path], None], expected: str
) -> None:
    spoil(project)
    result = runner.invoke(app, [command, str(project)])
    reliability.bad_input("damaged answers files")
    reliability.no_traceback(result)
    if command == "check" and spoil is _features_as_text:
        assert result.exit_code == 1  # behind; check reads only the version
        return
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    if spoil is _features_as_text:
        assert "must be a YAML list such as [tensorboard], not 'tensorboard'" in lines[0]
    assert _git(project, "status", "--porcelain") == ""
