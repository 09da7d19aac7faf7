"""The template history in the package (scaffold._release) and its import into the
per-user template repository (scaffold.source).

Run: pytest -q tests/test_history.py
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scaffold import _release
from scaffold.errors import ScaffoldError
from scaffold.source import HISTORY, ensure_template_repo, import_history, versions


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCAFFOLD_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _readme(root: Path, text: str) -> None:
    (root / "template" / "README.md.jinja").write_text(text)


def test_cut_builds_a_linear_history(tiny_template: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "h.bundle"
    assert _release.cut("1.0.0", tiny_template, bundle) == "v1.0.0"
    _readme(tiny_template, "# {{ name }} 2\n")
    assert _release.cut("2.0.0", tiny_template, bundle) == "v2.0.0"
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "--quiet", str(bundle), str(clone))
    assert versions(clone) == ["v1.0.0", "v2.0.0"]
    assert _git(clone, "rev-parse", "v2.0.0^{commit}~1") == _git(clone, "rev-parse", "v1.0.0^{}")
    assert _git(clone, "cat-file", "-t", "v2.0.0") == "tag"  # annotated
    assert _git(clone, "show", "v1.0.0:template/README.md.jinja") == "# {{ name }}"
    assert _release.check("2.0.0", tiny_template, bundle) == ""
    _readme(tiny_template, "# {{ name }} 3\n")
    assert "differs from v2.0.0" in _release.check("2.0.0", tiny_template, bundle)


def test_cut_refuses_to_change_history(tiny_template: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "h.bundle"
    _release.cut("1.0.0", tiny_template, bundle)
    _release.cut("2.0.0", tiny_template, bundle)
    with pytest.raises(ScaffoldError, match="already in"):
        _release.cut("2.0.0", tiny_template, bundle)
    with pytest.raises(ScaffoldError, match="Only the newest version, v2.0.0"):
        _release.cut("1.0.0", tiny_template, bundle, replace=True)
    with pytest.raises(ScaffoldError, match="older than the newest"):
        _release.cut("1.5.0", tiny_template, bundle)
    _readme(tiny_template, "# {{ name }}, re-cut\n")
    _release.cut("2.0.0", tiny_template, bundle, replace=True)
    assert _release.check("2.0.0", tiny_template, bundle) == ""


def test_release_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "h.bundle"
    assert _release.main(["--version", "1.0.0", "--bundle", str(bundle)]) == 0
    assert "added v1.0.0" in capsys.readouterr().out
    assert _release.main(["--version", "1.0.0", "--bundle", str(bundle)]) == 1
    assert "pass --replace" in capsys.readouterr().err


def test_history_is_imported_and_reused(home: Path, tiny_template: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "h.bundle"
    _release.cut("1.0.0", tiny_template, bundle)
    repo, tag = ensure_template_repo(tiny_template, history=bundle, version="1.0.0")
    assert tag == "v1.0.0"
    # The packaged template is the bundle's v1.0.0: no commit of its own.
    assert _git(repo, "rev-parse", "HEAD") == _git(repo, "rev-parse", "v1.0.0^{commit}")
    assert _git(repo, "status", "--porcelain") == ""

    _readme(tiny_template, "# {{ name }}, v2\n")
    _release.cut("2.0.0", tiny_template, bundle)
    _readme(tiny_template, "# {{ name }}, a development build\n")
    repo, tag = ensure_template_repo(tiny_template, history=bundle, version="2.0.0")
    assert versions(repo) == ["v1.0.0", "v2.0.0", tag]
    assert tag.startswith("v2.0.0+") and len(tag) == len("v2.0.0+") + 8
    assert _git(repo, "status", "--porcelain") == ""


def test_local_tags_are_never_replaced(home: Path, tiny_template: Path, tmp_path: Path) -> None:
    repo, _ = ensure_template_repo(tiny_template, version="1.0.0")  # made here first
    local = _git(repo, "rev-parse", "v1.0.0^{tree}")
    _readme(tiny_template, "# {{ name }}, released differently\n")
    bundle = tmp_path / "h.bundle"
    _release.cut("1.0.0", tiny_template, bundle)
    assert import_history(repo, bundle) == []
    assert _git(repo, "rev-parse", "v1.0.0^{tree}") == local


def test_packaged_history_is_readable(home: Path, tmp_path: Path) -> None:
    assert HISTORY.is_file(), "run `python -m scaffold._release`"
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "--quiet")
    imported = import_history(repo, HISTORY)
    assert imported and all(tag.startswith("v") for tag in imported)
    assert set(imported) == set(versions(repo))
