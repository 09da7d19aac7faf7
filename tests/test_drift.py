"""`scaffold check` (is the project behind this scaffold's template?) and `scaffold diff`
(what `scaffold update` would change), against test template versions A and B.

Run: pytest -q tests/test_drift.py
"""

from __future__ import annotations

import filecmp
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import reliability
from conftest import Versions
from template_versions import B_LINE, B_NEW_FILE
from typer.testing import CliRunner

from scaffold.cli import app
from scaffold.source import Packaged

runner = CliRunner()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout


def _changed_files(a: Path, b: Path) -> list[str]:
    """Files that differ between two template roots, compared directly (not through git)."""

    def files(root: Path) -> set[str]:
        found = {str(p.relative_to(root)) for p in (root / "template").rglob("*") if p.is_file()}
        return found | {"copier.yml"}

    both = files(a) | files(b)
    return sorted(
        name
        for name in both
        if not ((a / name).is_file() and (b / name).is_file())
        or not filecmp.cmp(a / name, b / name, shallow=False)
    )


def test_check_behind_lists_the_changed_template_files(
    project: Path, upgraded: Path, versions: Versions
) -> None:
    result = runner.invoke(app, ["check", str(project)])
    reliability.update_scenario()
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    expected = _changed_files(versions.a.root, versions.b.root)
    assert {"copier.yml", f"template/{B_NEW_FILE}", "template/README.md.jinja"} <= set(expected)
    assert lines[0] == (
        f"{project} is at template v1.0.0; the newest is v2.0.0 "
        f"({len(expected)} template files changed):"
    )
    assert [line.strip() for line in lines[1:]] == expected
    assert result.stderr.strip().splitlines() == [
        "Error: The project is behind: template v1.0.0, newest v2.0.0; `scaffold diff` "
        "shows what `scaffold update` would change."
    ]
    assert _git(project, "status", "--porcelain") == ""


def test_check_up_to_date(
    project: Path, versions: Versions, install: Callable[[Packaged], None]
) -> None:
    install(versions.a)
    result = runner.invoke(app, ["check", str(project)])
    assert result.exit_code == 0, result.output
    assert f"{project} is at template v1.0.0, the newest of scaffold" in result.stdout


def test_check_refusals(tmp_path: Path, upgraded: Path) -> None:
    for args, expected in [
        (["check", str(tmp_path / "nowhere")], "is not a folder"),
        (["check", str(tmp_path)], "has no .copier-answers.yml"),
        (["diff", str(tmp_path)], "has no .copier-answers.yml"),
    ]:
        result = runner.invoke(app, args)
        reliability.bad_input("scaffold check/diff refusals")
        reliability.no_traceback(result)
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.stderr


def test_diff_is_what_update_then_does(project: Path, upgraded: Path) -> None:
    readme = project / "README.md"
    lines = readme.read_text().splitlines()
    readme.write_text("\n".join([lines[0] + " (my title)", *lines[1:]]) + "\n")
    _git(project, "commit", "--quiet", "-am", "my title")
    head = _git(project, "rev-parse", "HEAD")

    shown = runner.invoke(app, ["diff", str(project)])
    reliability.update_scenario()
    assert shown.exit_code == 0, shown.output
    assert f"+{B_LINE}" in shown.stdout and f"+++ b/{B_NEW_FILE}" in shown.stdout
    assert (
        _git(project, "status", "--porcelain") == "" and _git(project, "rev-parse", "HEAD") == head
    )

    assert runner.invoke(app, ["update", str(project)]).exit_code == 0
    _git(project, "add", "--all")
    assert shown.stdout == _git(project, "diff", "--cached", "--no-color")


def test_diff_with_a_conflict_fails(project: Path, upgraded: Path) -> None:
    readme = project / "README.md"
    readme.write_text(readme.read_text().rstrip("\n") + "\n\nMy own last line.\n")
    _git(project, "commit", "--quiet", "-am", "my last line")
    result = runner.invoke(app, ["diff", str(project)])
    reliability.update_scenario()
    assert result.exit_code == 1, result.output
    assert "+<<<<<<< before updating" in result.stdout
    assert result.stderr.strip().splitlines() == [
        "Error: The update would leave conflicts in 1 file: README.md."
    ]
    assert _git(project, "status", "--porcelain") == ""


def test_diff_of_an_up_to_date_project(
    made_at_a: Path,
    versions: Versions,
    install: Callable[[Packaged], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(versions.a)
    monkeypatch.setenv("SCAFFOLD_HOME", str(made_at_a.parent / "home-a"))
    result = runner.invoke(app, ["diff", str(made_at_a)])
    assert result.exit_code == 0, result.output
    assert "would change nothing" in result.stdout
