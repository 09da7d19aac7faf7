"""Tests of the command line: `scaffold --version`, `variants` and `new`.

Run: pytest -q tests/test_cli.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml
from typer.testing import CliRunner

from scaffold import __version__
from scaffold.cli import app
from scaffold.variants import variants

runner = CliRunner()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def _answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"scaffold {__version__}\n"


def test_variants_table() -> None:
    result = runner.invoke(app, ["variants"])
    assert result.exit_code == 0
    for variant in variants():
        assert variant.name in result.stdout


def test_variants_json() -> None:
    result = runner.invoke(app, ["variants", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{"name": v.name, **v.data()} for v in variants()]


def test_new_with_defaults(tmp_path: Path) -> None:
    dest = tmp_path / "my-project"
    result = runner.invoke(app, ["new", str(dest), "--defaults"])
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path) == ["my-project"]  # no staging folder left behind
    assert (dest / "pyproject.toml").is_file()
    assert (dest / "src" / "my_project").is_dir()
    assert "python -m my_project train" in result.stdout

    answers = _answers(dest)
    assert answers["project_name"] == "my-project"  # from the folder's name
    template_repo = Path(answers["_src_path"])
    assert template_repo.is_absolute()
    assert _git(template_repo, "rev-parse", answers["_commit"])  # the tag exists there

    assert _git(dest, "rev-list", "--count", "HEAD") == "1"
    assert _git(dest, "log", "-1", "--format=%s") == f"Initial project from scaffold {__version__}"
    assert _git(dest, "status", "--porcelain") == ""


def test_project_can_be_updated_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "proj"
    assert runner.invoke(app, ["new", str(dest), "--defaults"]).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # Fails ("Local template must be a directory" / "cannot obtain old template references")
    # when the answers file records a relative path or no tag.
    copier.run_update(str(dest), defaults=True, overwrite=True, unsafe=True, quiet=True)
    assert _git(dest, "status", "--porcelain") == ""


def test_new_with_data_and_no_git(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    args = ["new", str(dest), "--defaults", "--baseline", "cnn", "--no-git"]
    args += ["-d", "features=[]", "--data", "author=yes", "-d", "package_name=other_name"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    answers = _answers(dest)
    assert answers["features"] == []
    assert answers["author"] == "yes"  # text stays text, not YAML's True
    assert answers["package_name"] == "other_name"
    assert (dest / "src" / "other_name").is_dir()
    assert not (dest / ".git").exists()


def test_new_into_empty_folder_keeps_it(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    dest.mkdir()
    inode = dest.stat().st_ino  # a shell sitting in it must stay in a live folder
    assert runner.invoke(app, ["new", str(dest), "--defaults"]).exit_code == 0
    assert dest.stat().st_ino == inode
    assert (dest / "pyproject.toml").is_file()


def test_overwrite_keeps_other_files_and_history(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")
    _git(dest, "init", "--quiet")
    result = runner.invoke(app, ["new", str(dest), "--defaults", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert (dest / "notes.txt").read_text() == "mine\n"
    assert (dest / "pyproject.toml").is_file()
    assert "history was left alone" in result.stdout
    assert _git(dest, "rev-list", "--all") == ""


def test_fallback_git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-gitconfig"
    empty.touch()
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    for name in ("EMAIL", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    dest = tmp_path / "proj"
    assert runner.invoke(app, ["new", str(dest), "--defaults"]).exit_code == 0
    assert _git(dest, "log", "-1", "--format=%ae") == "scaffold@localhost"


def test_works_inside_a_git_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Hooks (pre-commit running these tests) export GIT_DIR and GIT_INDEX_FILE.
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "outer" / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "outer" / ".git" / "index"))
    dest = tmp_path / "proj"
    assert runner.invoke(app, ["new", str(dest), "--defaults"]).exit_code == 0
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    assert _git(dest, "rev-list", "--count", "HEAD") == "1"


def test_without_git_installed(tmp_path: Path) -> None:
    dest = tmp_path / "proj"
    no_git = {**os.environ, "PATH": str(tmp_path / "empty-bin")}
    done = subprocess.run(
        [sys.executable, "-m", "scaffold", "new", str(dest), "--defaults"],
        env=no_git,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "git is not installed" in done.stdout
    assert (dest / "pyproject.toml").is_file()
    assert not (dest / ".git").exists()
    assert "_commit" not in _answers(dest)
