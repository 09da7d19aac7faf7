"""Every refusal of `scaffold new`: exit code 1, one sentence on stderr, no files left.

Run: pytest -q tests/test_refusals.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import reliability
from copier.errors import CopierAnswersInterrupt
from typer.testing import CliRunner

from scaffold import generate
from scaffold.cli import app
from scaffold.errors import ScaffoldError

runner = CliRunner()


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _refused(tmp_path: Path, args: list[str], expected: str) -> None:
    """Run `scaffold new ARGS` in tmp_path; assert a one-line refusal that changed nothing."""
    before = _listing(tmp_path)
    result = runner.invoke(app, ["new", *args])
    reliability.bad_input("scaffold new refusals")
    reliability.no_traceback(result)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert _listing(tmp_path) == before


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path as the current folder, holding a non-empty folder and a file."""
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine\n")
    (tmp_path / "a-file").write_text("not a folder\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["1bad", "--defaults"], "The project name '1bad' must start with a letter"),
        (["p", "-d", "project_name=my project"], "The project name 'my project'"),
        (["json", "--defaults"], "would shadow the standard library module 'json'"),
        (["p", "-d", "package_name=My"], "should be lower case"),
        (["torch", "--defaults"], "installing the project would replace it"),
        (["p", "--defaults", "-d", "project_name=Copier"], "the package 'copier'"),
        (["p", "--defaults", "-d", "project_name=PyYAML"], "the package 'pyyaml'"),
        (["p", "--defaults", "-d", "package_name=yaml"], "shadow the installed package 'yaml'"),
        (["p", "--defaults", "-d", "package_name=conftest"], "installed package 'conftest'"),
        (["my-project-", "--defaults"], "end with a letter or digit"),
        (["my.project.", "--defaults"], "end with a letter or digit"),
        (["a" * 256, "--defaults"], "is longer than the file system allows"),
        (["p", "--defaults", "-d", "project_name=" + "a" * 256], "at most 64 characters"),
        (["a" * 100, "--defaults"], "at most 64 characters, not 100"),
        (["p", "-d", "nope=1"], "Unknown question 'nope'; the questions are: project_name"),
        (["p", "-d", "task=x"], "Unknown question 'task'"),  # derived, never asked
        (["p", "-d", "features"], "--data takes KEY=VALUE"),
        (["p", "--baseline", "nope"], "Unknown choice 'nope' for baseline; choose from: cnn"),
        (["p", "-d", "baseline=nope"], "Unknown choice 'nope' for baseline"),
        (["p", "-d", "features=[tensorboard, nope]"], "Unknown choice 'nope' for features"),
        (["p", "-d", "features=[tensorboard"], "is not a YAML list"),
        (["p", "--baseline", "cnn", "-d", "baseline=x"], "--baseline and --data baseline"),
        (["full", "--defaults"], "is not empty; choose a new folder or pass --overwrite"),
        (["a-file", "--defaults"], "a-file exists and is not a folder"),
        (["a-file/sub/p", "--defaults"], "a-file exists and is not a folder"),
        # copier cannot ask without a terminal; the staging folder and the parents
        # created for it must go again.
        (["new-parent/deeper/p"], "There is no terminal to ask questions in"),
    ],
)
def test_refusal(workdir: Path, args: list[str], expected: str) -> None:
    _refused(workdir, args, expected)


def test_parent_not_writable(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = workdir / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    # root may write into any folder (CI runs as root): there the folder is made to look
    # read-only to scaffold's permission check, which is what a normal user's chmod does.
    if os.geteuid() == 0:
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != locked and real(p, mode))
    try:
        _refused(workdir, ["locked/p", "--defaults"], "Cannot write into")
    finally:
        locked.chmod(0o755)


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_read_only_file_system(workdir: Path) -> None:
    # sysfs refuses new folders even to root, which os.access cannot tell.
    _refused(workdir, ["/sys/scaffold-test-project", "--defaults"], "Cannot write into /sys")


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ValueError("Validation error for question 'author': too short"), "too short"),
        (KeyboardInterrupt(), "Cancelled; nothing was written."),
    ],
)
def test_copier_failures(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, raised: BaseException, expected: str
) -> None:
    def fail(src: str, dst: Path, **kwargs: object) -> None:
        (Path(dst) / "half-written.txt").write_text("x")
        raise raised

    monkeypatch.setattr(generate, "run_copy", fail)
    _refused(workdir, ["new-parent/p", "--defaults"], expected)


def test_features_as_text_through_the_library(tmp_path: Path) -> None:
    # The command line makes a list of `-d features=tensorboard`; a caller may not.
    with pytest.raises(ScaffoldError, match=r"features takes a list such as \[tensorboard\]"):
        generate.new_project(tmp_path / "p", {"features": "tensorboard"}, defaults=True)
    reliability.bad_input("scaffold new refusals")
    assert not (tmp_path / "p").exists()


def test_copier_interrupt_during_questions(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(src: str, dst: Path, **kwargs: object) -> None:
        raise CopierAnswersInterrupt(None, None, None)  # type: ignore[arg-type]

    monkeypatch.setattr(generate, "run_copy", interrupted)
    _refused(workdir, ["p"], "Cancelled")
