"""The slow scenarios (`nox -s update`; `pytest -m slow tests`), several minutes in all.

1. scaffold installed from built wheels into a fresh virtual environment, no source tree:
   generate at version A, edit, move the project, upgrade scaffold to B, new home
   (another machine), update: edits kept, template changes in, a conflict reported.
2. A base with the real checks: the project's capacity check and tests, a new project
   from the base passing its own tests, and an update of that project.

Run: OMP_NUM_THREADS=1 pytest -q -m slow tests
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import Versions
from template_versions import B_LINE, B_NEW_FILE, make_version_b, work_on_model
from typer.testing import CliRunner

from scaffold._release import cut
from scaffold.checks import run_checks
from scaffold.cli import app
from scaffold.source import Packaged

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, code: int = 0) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == code, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _source_tree(dest: Path, version: str) -> Path:
    """A copy of scaffold's source tree, at `version`, with a history of its own."""
    dest.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.bundle")
    for name in ("src", "template"):
        shutil.copytree(REPO / name, dest / name, ignore=skip)
    for name in ("copier.yml", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, dest / name)
    _set_version(dest, version)
    return dest


def _set_version(tree: Path, version: str) -> None:
    pyproject = tree / "pyproject.toml"
    text = re.sub(r'(?m)^version = "[^"]+"', f'version = "{version}"', pyproject.read_text())
    pyproject.write_text(text)


def _wheel(tree: Path, out: Path) -> Path:
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", out, tree, cwd=out.parent)  # fmt: skip
    return next(out.glob("*.whl"))  # scaffold-0.1.0 (the old name) or scaffold_pytorch-*


def _fresh_environment(tmp: Path, home: str) -> tuple[Path, Path, dict[str, str], Path]:
    """(python, scaffold, env, work folder) of a fresh environment without scaffold.

    It borrows the outer one's dependencies (copier, typer, torch, ...): a path in a .pth
    file is added, its own .pth files (the editable install of scaffold) are not.
    """
    venv = tmp / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    (purelib,) = (venv / "lib").glob("python3*/site-packages")
    (purelib / "borrowed.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["SCAFFOLD_HOME"] = str(tmp / home)
    work = tmp / "work"
    work.mkdir()
    return venv / "bin" / "python", venv / "bin" / "scaffold", env, work


def test_update_with_scaffold_installed_from_wheels(tmp_path: Path) -> None:
    # Build: wheel A (1.0.0, history v1.0.0), wheel B (2.0.0, history v1.0.0 + v2.0.0).
    tree_a = _source_tree(tmp_path / "tree-a", "1.0.0")
    bundle = tree_a / "src" / "scaffold" / "_history" / "template.bundle"
    cut("1.0.0", tree_a, bundle)
    wheel_a = _wheel(tree_a, tmp_path / "dist-a")
    tree_b = tmp_path / "tree-b"
    shutil.copytree(tree_a, tree_b)
    make_version_b(tree_b, "2.0.0")
    _set_version(tree_b, "2.0.0")
    cut("2.0.0", tree_b, tree_b / "src" / "scaffold" / "_history" / "template.bundle")
    wheel_b = _wheel(tree_b, tmp_path / "dist-b")

    python, scaffold, env, work = _fresh_environment(tmp_path, "home-1")

    _run(python, "-m", "pip", "install", "-q", "--no-deps", wheel_a, cwd=work)
    where = _run(python, "-c", "import scaffold; print(scaffold.__file__)", cwd=work)
    assert where.startswith(str(tmp_path / "venv")), where
    assert _run(scaffold, "--version", cwd=work).strip() == "scaffold 1.0.0"

    # Version A: generate, commit, edit (a file B changes, one it doesn't, a new one).
    _run(scaffold, "new", "proj", "--defaults", "-d", "features=[]", "-d", "author=Ada",
         cwd=work, env=env)  # fmt: skip
    project = work / "proj"
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("\n", " (my title)\n", 1))
    (project / "notes.txt").write_text("mine\n")
    _run("git", "add", "--all", cwd=project)
    _run("git", "commit", "--quiet", "-m", "my edits", cwd=project)
    clashing = work / "clashing"  # a clone whose edit touches B's lines
    _run("git", "clone", "--quiet", project, clashing, cwd=work)
    (clashing / "README.md").write_text(readme.read_text() + "\nMy own last line.\n")
    _run("git", "commit", "--quiet", "-am", "my last line", cwd=clashing)

    # Move the project, upgrade scaffold, and lose the old home (as on another machine).
    moved = tmp_path / "elsewhere" / "proj"
    moved.parent.mkdir()
    shutil.move(project, moved)
    _run(python, "-m", "pip", "install", "-q", "--no-deps", wheel_b, cwd=work)
    assert _run(scaffold, "--version", cwd=work).strip() == "scaffold 2.0.0"
    shutil.rmtree(tmp_path / "home-1")
    env["SCAFFOLD_HOME"] = str(tmp_path / "home-2")

    out = _run(scaffold, "update", moved, "--dry-run", cwd=work, env=env)
    assert "Would update" in out and B_NEW_FILE in out
    assert _run("git", "status", "--porcelain", cwd=moved) == ""

    out = _run(scaffold, "update", moved, cwd=work, env=env)
    assert "from template v1.0.0 to v2.0.0" in out
    text = (moved / "README.md").read_text()
    assert " (my title)" in text.splitlines()[0] and B_LINE in text
    assert (moved / B_NEW_FILE).is_file() and (moved / "notes.txt").read_text() == "mine\n"
    answers = yaml.safe_load((moved / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v2.0.0" and answers["maintainer"] == "Ada"
    assert answers["_src_path"] == str(tmp_path / "home-2" / "template")

    out = _run(scaffold, "update", clashing, cwd=work, env=env, code=1)
    assert "conflict  README.md" in out and "conflicts in 1 file" in out
    assert "<<<<<<< before updating" in (clashing / "README.md").read_text()


def test_base_with_real_checks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    versions: Versions,
    install: Callable[[Packaged], None],
) -> None:
    install(versions.a)
    monkeypatch.setenv("SCAFFOLD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    project = tmp_path / "mine"
    result = runner.invoke(app, ["new", str(project), "--defaults", "-d", "features=[]"])
    assert result.exit_code == 0, result.output
    work_on_model(project, "mine")

    result = runner.invoke(app, ["bases", "add", "mynet", "--from", str(project)])
    assert result.exit_code == 0, result.output
    shown = runner.invoke(app, ["bases", "show", "mynet", "--json"])
    checks = yaml.safe_load(shown.stdout)["meta"]["checks"]
    assert checks["overfit"]["summary"].startswith("Capacity check passed"), checks
    assert all(c["passed"] and "passed" in c["summary"] for c in checks.values()), checks

    made = tmp_path / "from-base"
    result = runner.invoke(app, ["new", str(made), "--defaults", "--base", "mynet"])
    assert result.exit_code == 0, result.output
    (tests,) = run_checks(made, "from_base", only=("tests",))
    assert tests.passed, tests.tail

    install(versions.b)
    result = runner.invoke(app, ["update", str(made)])
    assert result.exit_code == 0, result.output
    assert B_LINE in (made / "README.md").read_text()


# The last commit of scaffold 0.1.0, the release before the modules of the generated project
# were rearranged (one loop naming no technique, schedule.py, techniques.py, runs.py, ...).
PREVIOUS_RELEASE = "7bb98ff"


def test_a_project_of_the_previous_release_updates_to_the_new_structure(tmp_path: Path) -> None:
    # Wheels: scaffold 0.1.0 from its commit, and this tree with its shipped history.
    old_tree = tmp_path / "tree-old"
    old_tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", PREVIOUS_RELEASE], capture_output=True, check=False
    )
    assert archive.returncode == 0, f"{PREVIOUS_RELEASE} is not in this clone: {archive.stderr}"
    subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive.stdout, check=True)
    old_wheel = _wheel(old_tree, tmp_path / "dist-old")
    new_wheel = _wheel(REPO, tmp_path / "dist-new")

    python, scaffold, env, work = _fresh_environment(tmp_path, "home")
    _run(python, "-m", "pip", "install", "-q", "--no-deps", old_wheel, cwd=work)
    assert _run(scaffold, "--version", cwd=work).strip() == "scaffold 0.1.0"

    # scaffold 0.1.0: a project with every feature, trained for an epoch with its own code.
    _run(scaffold, "new", "proj", "--defaults", cwd=work, env=env)
    project = work / "proj"
    run_env = {**env, "PYTHONPATH": str(project / "src"), "OMP_NUM_THREADS": "1"}
    techniques = ["--set", "sgdr.enabled=true", "--set", "sgdr.t0=1", "--set", "switch.mode=plan",
                  "--set", "switch.at_epoch=1", "--set", "data.subset=64"]  # fmt: skip
    _run(python, "-m", "proj", "train", "--epochs", "1", "--no-progress", "--run-name", "old",
         *techniques, cwd=project, env=run_env)  # fmt: skip
    # The user's edits: the model (the template leaves it alone) and the loop (rewritten).
    model = project / "src" / "proj" / "model.py"
    model.write_text(model.read_text().replace("width: int = 64", "width: int = 48"))
    loop = project / "src" / "proj" / "train.py"
    loop.write_text(loop.read_text() + "\n# my note on the loop\n")
    _run("git", "add", "--all", cwd=project)
    _run("git", "commit", "--quiet", "-m", "my edits", cwd=project)

    # Upgrade scaffold and update the project: the model edit stays, the loop is a conflict.
    _run(python, "-m", "pip", "uninstall", "-q", "-y", "scaffold", cwd=work)
    _run(python, "-m", "pip", "install", "-q", "--no-deps", new_wheel, cwd=work)
    out = _run(scaffold, "update", project, cwd=work, env=env, code=1)
    assert "conflict  src/proj/train.py" in out, out
    assert "width: int = 48" in model.read_text()
    assert "# my note on the loop" in loop.read_text() and "<<<<<<<" in loop.read_text()
    for new in ("schedule.py", "techniques.py", "lifecycle.py", "runs.py", "errors.py"):
        assert (project / "src" / "proj" / new).is_file(), new
    # Resolve as a user who takes the new loop, then use the old run with the new code.
    _run("git", "checkout", "--theirs", "--", "src/proj/train.py", cwd=project)
    assert "<<<<<<<" not in loop.read_text()
    _run("git", "add", "--all", cwd=project)
    _run("git", "commit", "--quiet", "-m", "Template update", cwd=project)
    evaluated = _run(python, "-m", "proj", "evaluate", "runs/old", cwd=project, env=run_env)
    assert '"split": "valid"' in evaluated and '"epoch": 1' in evaluated
    _run(python, "-m", "proj", "train", "--resume", "runs/old", "--epochs", "2", "--no-progress",
         cwd=project, env=run_env)  # fmt: skip
    resumed = yaml.safe_load((project / "runs" / "old" / "summary.json").read_text())
    assert resumed["epochs"] == 2 and resumed["switch"]["switched"]
