"""Other copier templates: `new --template` and `update` run their copier tasks, migrations
and Jinja extensions only with --trust.

Run: pytest -q tests/test_trust.py
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scaffold.cli import app

runner = CliRunner()
ANSWERS_TEMPLATE = "{{ _copier_answers|to_nice_yaml -}}\n"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def _release(root: Path, tag: str, settings: str = "", readme: str = "Hello {{ name }}\n") -> None:
    """Write a tiny template into `root` (a git repository) and tag it."""
    (root / "template").mkdir(parents=True, exist_ok=True)
    (root / "copier.yml").write_text(
        f"_subdirectory: template\n{settings}name:\n  type: str\n  default: world\n"
    )
    (root / "template" / "README.md.jinja").write_text(readme)
    (root / "template" / "{{_copier_conf.answers_file}}.jinja").write_text(ANSWERS_TEMPLATE)
    if not (root / ".git").exists():
        _git(root, "init", "--quiet")
    _git(root, "add", "--all")
    _git(root, "commit", "--quiet", "-m", tag)
    _git(root, "tag", tag)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _new(*args: str) -> object:
    return runner.invoke(app, ["new", *args, "--defaults"])


def test_plain_template_needs_no_trust(workdir: Path) -> None:
    _release(workdir / "fork", "v1")
    result = _new("proj", "--template", "fork", "-d", "name=Ada")
    assert result.exit_code == 0, result.output
    assert (workdir / "proj" / "README.md").read_text() == "Hello Ada\n"
    answers = yaml.safe_load((workdir / "proj" / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(workdir / "fork")  # absolute, though given relative
    assert answers["_commit"] == "v1"


@pytest.mark.parametrize(
    ("settings", "feature"),
    [
        ("_tasks:\n  - touch task-ran\n", "tasks"),
        ("_jinja_extensions:\n  - scaffold.jinja.NameChecks\n", "jinja_extensions"),
    ],
)
def test_unsafe_template_needs_trust(workdir: Path, settings: str, feature: str) -> None:
    _release(workdir / "fork", "v1", settings)
    result = _new("proj", "--template", str(workdir / "fork"))
    assert result.exit_code == 1
    assert f"uses copier's unsafe features ({feature}); pass --trust" in result.stderr
    assert not (workdir / "proj").exists()

    result = _new("proj", "--template", str(workdir / "fork"), "--trust")
    assert result.exit_code == 0, result.output
    assert (workdir / "proj" / "task-ran").exists() == (feature == "tasks")


def test_update_from_another_template_runs_migrations_only_with_trust(workdir: Path) -> None:
    fork = workdir / "fork"
    _release(fork, "v1")
    assert _new("proj", "--template", str(fork)).exit_code == 0
    project = workdir / "proj"
    migration = "_migrations:\n  - version: v2\n    command: touch migrated\n"
    _release(fork, "v2", migration, readme="Hello {{ name }}, from v2\n")

    result = runner.invoke(app, ["update", str(project)])
    assert result.exit_code == 1
    assert "uses copier's unsafe features (migrations); pass --trust" in result.stderr
    assert _git(project, "status", "--porcelain") == ""

    result = runner.invoke(app, ["update", str(project), "--trust"])
    assert result.exit_code == 0, result.output
    assert (project / "README.md").read_text() == "Hello world, from v2\n"
    assert (project / "migrated").exists()
