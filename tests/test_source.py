"""Tests of the per-user template repository. Run: pytest -q tests/test_source.py"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scaffold import __version__
from scaffold.source import ensure_template_repo, scaffold_home


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def _commits(repo: Path) -> int:
    return int(_git(repo, "rev-list", "--count", "HEAD"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SCAFFOLD_HOME", str(home))
    return home


def test_home_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCAFFOLD_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert scaffold_home() == tmp_path / "scaffold"


def test_second_call_adds_nothing(home: Path, tiny_template: Path) -> None:
    repo, tag = ensure_template_repo(tiny_template)
    assert repo == home / "template"
    assert tag == f"v{__version__}"
    assert ensure_template_repo(tiny_template) == (repo, tag)
    assert _commits(repo) == 1
    assert _git(repo, "tag") == tag
    assert _git(repo, "status", "--porcelain") == ""
    assert _git(repo, "show", f"{tag}:template/README.md.jinja") == "# {{ name }}"


def test_development_build_gets_content_tag(home: Path, tiny_template: Path) -> None:
    repo, released = ensure_template_repo(tiny_template)
    readme = tiny_template / "template" / "README.md.jinja"
    readme.write_text("# {{ name }}, changed\n")
    _, dev = ensure_template_repo(tiny_template)
    assert dev == f"{released}+{_git(repo, 'rev-parse', 'HEAD^{tree}')[:8]}"
    assert ensure_template_repo(tiny_template)[1] == dev
    assert _commits(repo) == 2

    readme.write_text("# {{ name }}\n")  # back to the released content
    assert ensure_template_repo(tiny_template)[1] == released
    assert sorted(_git(repo, "tag").splitlines()) == sorted([released, dev])


def test_packaged_changes_are_mirrored(home: Path, tiny_template: Path) -> None:
    (tiny_template / "template" / "old.txt").write_text("old\n")
    cache = tiny_template / "template" / "__pycache__"
    cache.mkdir()
    (cache / "x.cpython-311.pyc").write_bytes(b"\0")
    (tiny_template / "template" / ".gitignore").write_text("*.txt\n")  # the project's, not ours
    repo, _ = ensure_template_repo(tiny_template)
    files = _git(repo, "ls-files").splitlines()
    assert "template/old.txt" in files
    assert not any("__pycache__" in f for f in files)

    (tiny_template / "template" / "old.txt").unlink()
    ensure_template_repo(tiny_template)
    assert "template/old.txt" not in _git(repo, "ls-files").splitlines()


def test_ignores_user_git_config(
    home: Path, tiny_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hostile-gitconfig"
    config.write_text("[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "some-other-repo"))  # as inside a git hook
    repo, tag = ensure_template_repo(tiny_template)
    monkeypatch.delenv("GIT_DIR")
    assert _git(repo, "tag") == tag


def test_concurrent_calls_make_one_commit(home: Path, tiny_template: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from scaffold.source import ensure_template_repo;"
        "print(ensure_template_repo(Path(sys.argv[1]))[1])"
    )
    env = {**os.environ, "SCAFFOLD_HOME": str(home)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tiny_template)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [run.communicate() for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, results
    assert {out.strip() for out, _ in results} == {f"v{__version__}"}
    assert _commits(home / "template") == 1
