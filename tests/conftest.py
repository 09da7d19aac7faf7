"""Shared fixtures: every test gets its own scaffold home and a predictable git config.

Run: pytest -q tests
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scaffold home for the session, so the template repository is built once."""
    return tmp_path_factory.mktemp("scaffold-home")


@pytest.fixture(autouse=True)
def isolated(
    shared_home: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep tests away from the real home and from the user's git configuration."""
    monkeypatch.setenv("SCAFFOLD_HOME", str(shared_home))
    config = tmp_path_factory.mktemp("git") / "gitconfig"
    config.write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.fixture
def tiny_template(tmp_path: Path) -> Path:
    """A minimal folder shaped like scaffold's template root (copier.yml + template/)."""
    root = tmp_path / "tiny"
    (root / "template").mkdir(parents=True)
    (root / "copier.yml").write_text("_subdirectory: template\nname:\n  type: str\n")
    (root / "template" / "README.md.jinja").write_text("# {{ name }}\n")
    return root
