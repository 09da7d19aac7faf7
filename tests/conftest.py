"""Shared fixtures: every test gets its own scaffold home and a predictable git config.

Run: pytest -q tests
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import reliability
from template_versions import make_version_b, snapshot
from typer.testing import CliRunner

from scaffold import source
from scaffold._release import cut
from scaffold.cli import app
from scaffold.source import Packaged
from scaffold.template import template_root


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


@dataclass(frozen=True)
class Versions:
    """Two releases of a test copy of scaffold's template: A (1.0.0), then B (2.0.0)."""

    a: Packaged
    b: Packaged


@pytest.fixture(scope="session")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Versions:
    """Template versions A and B, each with the history bundle it would ship with."""
    tmp = tmp_path_factory.mktemp("versions")
    root_a = snapshot(template_root(), tmp / "a")
    root_b = snapshot(root_a, tmp / "b")
    make_version_b(root_b, "2.0.0")
    bundle_a, bundle_b = tmp / "a.bundle", tmp / "b.bundle"
    cut("1.0.0", root_a, bundle_a)
    shutil.copyfile(bundle_a, bundle_b)
    cut("2.0.0", root_b, bundle_b)
    return Versions(Packaged(root_a, bundle_a, "1.0.0"), Packaged(root_b, bundle_b, "2.0.0"))


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Callable[[Packaged], None]:
    """Make the running scaffold carry the given template version (an in-process upgrade)."""

    def use(release: Packaged) -> None:
        monkeypatch.setattr(source, "packaged", lambda: release)

    return use


# ------------------------------------------------------------------ projects to update

AUTHOR = "Ada Lovelace"
runner = CliRunner()


@pytest.fixture(scope="session")
def made_at_a(tmp_path_factory: pytest.TempPathFactory, versions: Versions) -> Path:
    """A minimal project made with version A installed, in a home of its own; committed."""
    tmp = tmp_path_factory.mktemp("made-at-a")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCAFFOLD_HOME", str(tmp / "home-a"))
        patch.setattr("scaffold.source.packaged", lambda: versions.a)
        args = ["new", str(tmp / "proj"), "--defaults", "-d", "features=[]"]
        result = runner.invoke(app, [*args, "-d", f"author={AUTHOR}"])
    assert result.exit_code == 0, result.output
    return tmp / "proj"


@pytest.fixture
def project(made_at_a: Path, tmp_path: Path) -> Path:
    """A copy of the project at A, somewhere else (moved), with its git history."""
    dest = tmp_path / "moved" / "proj"
    dest.parent.mkdir()
    subprocess.run(["git", "clone", "--quiet", str(made_at_a), str(dest)], check=True)
    return dest


@pytest.fixture
def upgraded(
    versions: Versions,
    install: Callable[[Packaged], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """Version B installed, with a new scaffold home (the old one is not here)."""
    install(versions.b)
    home = tmp_path / "home-b"
    monkeypatch.setenv("SCAFFOLD_HOME", str(home))
    return home


_README_CHECK = "tests/test_readme_results.py::test_the_readme_quotes_the_current_reports"
_failed: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        _failed.add(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After a complete run of the fast suite, write the reliability counts.

    Complete: all of tests/, no -k, the default `-m "not slow"`, and every test passed,
    except perhaps the README check, which compares the README with the counts of the
    previous run and so must not stop this run's from being written.
    """
    config = session.config
    tests = Path(__file__).resolve().parent
    args = [Path(a.split("::")[0]).resolve() for a in config.args]
    complete = all(a == tests for a in args) and not config.option.keyword
    finished = exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)  # not cut short
    passed = finished and session.testscollected > 0 and _failed <= {_README_CHECK}
    if complete and passed and config.option.markexpr == "not slow":
        reliability.write()
