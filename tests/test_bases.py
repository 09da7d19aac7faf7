"""`scaffold bases` and `scaffold new --base`: add, list, show, new, update, remove, refusals.

The project's checks are replaced by quick stand-ins here (they take about a minute for
real); tests/test_slow.py runs the real ones, and the slow-marked test here the real
capacity check of a broken model (nox -s update runs both).

Run: pytest -q tests/test_bases.py
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import reliability
import yaml
from conftest import Versions
from template_versions import B_LINE, work_on_model
from typer.testing import CliRunner

from scaffold import checks
from scaffold.cli import app
from scaffold.source import Packaged

runner = CliRunner()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def worked_on(tmp_path_factory: pytest.TempPathFactory, versions: Versions) -> Path:
    """A cnn project made at template version A, whose model the user changed."""
    tmp = tmp_path_factory.mktemp("worked-on")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SCAFFOLD_HOME", str(tmp / "home-a"))
        patch.setattr("scaffold.source.packaged", lambda: versions.a)
        result = runner.invoke(app, ["new", str(tmp / "proj"), "--defaults", "-d", "features=[]"])
    assert result.exit_code == 0, result.output
    work_on_model(tmp / "proj", "proj")
    return tmp / "proj"


@pytest.fixture
def home(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    versions: Versions,
    install: Callable[[Packaged], None],
) -> Path:
    """A scaffold home of this test's own, version A installed."""
    install(versions.a)
    monkeypatch.setenv("SCAFFOLD_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _fake_checks(monkeypatch: pytest.MonkeyPatch, overfit_ok: bool = True) -> None:
    def commands(package: str, python: str) -> list[tuple[str, list[str]]]:
        verdict = "passed: fake 1.0" if overfit_ok else "failed: fake 0.5 after 200 epochs"
        code = 0 if overfit_ok else 1
        overfit = (
            f"import sys; print('epoch=1'); print('Capacity check {verdict}'); sys.exit({code})"
        )
        return [
            ("overfit", [python, "-c", overfit]),
            ("tests", [python, "-c", "print('3 passed in 0.01s')"]),
        ]

    monkeypatch.setattr(checks, "commands", commands)


@pytest.fixture
def fake_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_checks(monkeypatch)


def _add(name: str, project: Path, *args: str) -> object:
    return runner.invoke(app, ["bases", "add", name, "--from", str(project), *args])


def test_add_list_show_new_update_remove(
    worked_on: Path,
    home: Path,
    fake_checks: None,
    tmp_path: Path,
    versions: Versions,
    install: Callable[[Packaged], None],
) -> None:
    result = _add("mine", worked_on)
    assert result.exit_code == 0, result.output
    stored = home / "bases" / "mine"
    assert sorted(p.name for p in stored.iterdir()) == [
        "default.toml",
        "meta.json",
        "model.py",
        "modules",
        "test_model.py",
    ]
    assert (stored / "modules" / "blocks.py").is_file()
    meta = json.loads((stored / "meta.json").read_text())
    assert meta["baseline"] == "cnn" and meta["template_version"] == "v1.0.0"
    assert meta["source"]["path"] == str(worked_on)
    assert meta["source"]["git_commit"] == _git(worked_on, "rev-parse", "HEAD")
    assert meta["model_config"]["bn_order"] == "bn_relu"
    assert {name: c["passed"] for name, c in meta["checks"].items()} == {
        "overfit": True,
        "tests": True,
        "new-project tests": True,
    }
    assert meta["checks"]["overfit"]["summary"] == "Capacity check passed: fake 1.0"

    listed = json.loads(runner.invoke(app, ["bases", "list", "--json"]).stdout)
    assert [b["name"] for b in listed] == ["cnn", "lstm", "resnet_dw", "unet", "mine"]
    assert runner.invoke(app, ["bases", "list"]).exit_code == 0
    shown = runner.invoke(app, ["bases", "show", "mine"])
    assert shown.exit_code == 0 and "Capacity check passed: fake 1.0" in shown.stdout
    assert runner.invoke(app, ["bases", "show", "cnn"]).exit_code == 0

    made = tmp_path / "from-base"
    result = runner.invoke(app, ["new", str(made), "--defaults", "--base", "mine"])
    assert result.exit_code == 0, result.output
    package = made / "src" / "from_base"
    assert (package / "model.py").read_text() == (stored / "model.py").read_text()
    assert (package / "blocks.py").is_file()
    assert "from from_base.model import" in (made / "tests" / "test_model.py").read_text()
    assert 'bn_order = "bn_relu"' in (made / "configs" / "default.toml").read_text()
    answers = yaml.safe_load((made / ".copier-answers.yml").read_text())
    assert answers["base"] == "mine" and answers["baseline"] == "cnn"
    assert _git(made, "status", "--porcelain") == ""

    install(versions.b)
    result = runner.invoke(app, ["update", str(made)])
    assert result.exit_code == 0, result.output
    assert B_LINE in (made / "README.md").read_text()
    assert (package / "model.py").read_text() == (stored / "model.py").read_text()
    assert yaml.safe_load((made / ".copier-answers.yml").read_text())["base"] == "mine"

    result = runner.invoke(app, ["bases", "remove", "mine"])
    assert result.exit_code == 0, result.output
    assert not stored.exists()


def test_replace_needs_replace(worked_on: Path, home: Path, fake_checks: None) -> None:
    assert _add("mine", worked_on).exit_code == 0
    result = _add("mine", worked_on)
    assert result.exit_code == 1
    assert "A base named 'mine' exists; pass --replace" in result.stderr
    result = _add("mine", worked_on, "--replace")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (home / "bases").iterdir()] == ["mine"]  # nothing left over


def test_failing_check_is_shown_and_nothing_stored(
    worked_on: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_checks(monkeypatch, overfit_ok=False)
    result = _add("mine", worked_on)
    assert result.exit_code == 1
    assert "Capacity check failed: fake 0.5 after 200 epochs" in result.stderr  # the tail
    assert "The overfit check failed" in result.stderr.strip().splitlines()[-1]
    assert not (home / "bases" / "mine").exists()
    assert [p.name for p in (home / "bases").iterdir()] == []


@pytest.mark.slow  # about 5 s: the real capacity check starts and fails
def test_real_check_of_a_broken_model_fails(worked_on: Path, home: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    subprocess.run(["git", "clone", "--quiet", str(worked_on), str(broken)], check=True)
    (broken / "src" / "proj" / "blocks.py").write_text("raise RuntimeError('my broken block')\n")
    result = _add("broken", broken)
    assert result.exit_code == 1
    assert "RuntimeError: my broken block" in result.stderr
    assert "The overfit check failed" in result.stderr
    assert not (home / "bases" / "broken").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["bases", "add", "cnn", "--from", "{project}"], "'cnn' is a built-in baseline"),
        (["bases", "add", "My Net", "--from", "{project}"], "must start with a lower-case"),
        (["bases", "add", "net-", "--from", "{project}"], "end with a letter or digit"),
        (["bases", "add", "n" * 256, "--from", "{project}"], "at most 40 characters"),
        (["bases", "add", "x", "--from", "{empty}"], "is not a project made by `scaffold new`"),
        (["bases", "add", "x", "--from", "{nowhere}"], "is not a project made by `scaffold new`"),
        (["bases", "show", "nope"], "There is no base named 'nope'"),
        (["bases", "remove", "nope"], "There is no base named 'nope'"),
        (["bases", "remove", "unet"], "'unet' is a built-in baseline; it cannot be removed"),
        (["new", "{tmp}/p", "--defaults", "--base", "nope"], "There is no base named 'nope'"),
        (["new", "{tmp}/p", "--defaults", "--base", "cnn", "--baseline", "lstm"], "is a cnn"),
        (["new", "{tmp}/p", "--defaults", "-d", "base=cnn"], "Unknown question 'base'"),
    ],
)
def test_refusals(
    worked_on: Path, home: Path, fake_checks: None, tmp_path: Path, args: list, expected: str
) -> None:
    (tmp_path / "empty").mkdir()
    places = {
        "project": worked_on,
        "empty": tmp_path / "empty",
        "nowhere": tmp_path / "nowhere",
        "tmp": tmp_path,
    }
    result = runner.invoke(app, [arg.format(**places) for arg in args])
    reliability.bad_input("scaffold bases refusals")
    reliability.no_traceback(result)
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not (tmp_path / "p").exists()


def test_builtin_base_is_a_baseline(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "--defaults", "--base", "lstm"])
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert answers["baseline"] == "lstm" and "base" not in answers


def test_a_damaged_base_is_marked_and_the_others_listed(home: Path, tmp_path: Path) -> None:
    good = {"name": "good", "baseline": "cnn", "source": {"path": "/p"}, "checks": {}}
    for name, text in [
        ("good", json.dumps(good)),
        ("broken", '{"name": "broken", '),  # cut short
        ("listed", "[1, 2]"),  # JSON, but not scaffold's
        ("binary", "\udcff".encode("utf-8", "surrogateescape")),
    ]:
        (home / "bases" / name).mkdir(parents=True)
        meta = home / "bases" / name / "meta.json"
        meta.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = runner.invoke(app, ["bases", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = {b["name"]: b for b in json.loads(result.stdout)}
    assert listed["good"]["baseline"] == "cnn" and "damaged" not in listed["good"]
    assert {n for n in listed if "damaged" in listed[n]} == {"broken", "listed", "binary"}
    table = runner.invoke(app, ["bases", "list"], terminal_width=300)
    assert table.exit_code == 0 and table.stdout.count("DAMAGED") == 3, table.output
    for name in ("broken", "listed", "binary"):
        for args in (["bases", "show", name], ["new", str(tmp_path / "p"), "--base", name]):
            result = runner.invoke(app, args)
            reliability.bad_input("damaged bases")
            reliability.no_traceback(result)
            assert result.exit_code == 1, result.output
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and f"The base {name!r}" in lines[0], result.stderr
            assert "is damaged" in lines[0] and "scaffold bases remove" in lines[0]
    assert not (tmp_path / "p").exists()
    assert runner.invoke(app, ["bases", "remove", "broken"]).exit_code == 0
    assert not (home / "bases" / "broken").exists()
