"""A feature left out at `scaffold new` leaves no trace: none of its files, none of its code.

Each feature is dropped from the full set in turn; the project is rendered, linted with
ruff (a stray import or an unused name after the Jinja conditionals fails here), and
searched for the names only that feature's code uses.

Run: pytest -q tests/test_features.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffold.cli import app
from scaffold.variants import choices

runner = CliRunner()

# feature -> (its files, relative to the project; names that only its code contains)
TRACES: dict[str, tuple[list[str], list[str]]] = {
    "tensorboard": (["src/demo/tb.py"], ["TensorBoard", "tensorboard"]),
    "augment": (
        ["src/demo/augment.py", "tests/test_augment.py"],
        ["Augmenter", "AugmentConfig", "[augment]", "cfg.augment"],
    ),
    "precision": (
        ["src/demo/precision.py", "tests/test_precision.py"],
        ["torch.autocast", "GradScaler", " Precision(", "[precision]"],
    ),
    "sgdr": (
        ["src/demo/snapshots.py", "src/demo/ensemble.py", "tests/test_ensemble.py"],
        ["Snapshots", "snapshot-", "ensemble", "[snapshots]"],
    ),
    "dsd": (["src/demo/dsd.py", "tests/test_dsd.py"], ["dsd", "Dense-Sparse-Dense"]),
    "switch": (
        ["src/demo/switch.py", "tests/test_switch.py"],
        ["Switcher", "swats", "switch.", "[switch]"],
    ),
    "prune": (["src/demo/prune.py", "tests/test_prune.py"], ["prune_run", "prune RUN"]),
    "precompute": (["src/demo/precompute.py", "tests/test_precompute.py"], ["precompute"]),
    "compile": (
        ["src/demo/compiling.py", "tests/test_compiling.py"],
        ["maybe_compile", "compiling", "[compile]"],
    ),
}


def test_every_feature_has_its_traces_listed() -> None:
    assert sorted(TRACES) == sorted(choices("features"))


def _render(dest: Path, features: list[str]) -> None:
    listed = "[" + ", ".join(features) + "]"
    args = ["new", str(dest), "--defaults", "--no-git", "-d", "project_name=demo"]
    result = runner.invoke(app, [*args, "-d", f"features={listed}"])
    assert result.exit_code == 0, result.output


def _texts(project: Path) -> dict[str, str]:
    paths = [*project.glob("src/**/*.py"), *project.glob("tests/*.py"), *project.glob("configs/*")]
    paths += [project / "README.md", project / "pyproject.toml"]
    return {str(p.relative_to(project)): p.read_text(encoding="utf-8") for p in paths}


@pytest.mark.parametrize("feature", sorted(TRACES))
def test_a_left_out_feature_leaves_no_code(tmp_path: Path, feature: str) -> None:
    kept = [f for f in choices("features") if f != feature]
    project = tmp_path / "demo"
    _render(project, kept)
    files, names = TRACES[feature]
    for name in files:
        assert not (project / name).exists(), name
    for path, text in _texts(project).items():
        for name in names:
            assert name not in text, f"{feature!r} left out, yet {path} mentions {name!r}"
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout


def test_the_traces_are_there_when_every_feature_is_chosen(tmp_path: Path) -> None:
    # so that their absence above means something
    project = tmp_path / "demo"
    _render(project, choices("features"))
    everything = "\n".join(_texts(project).values())
    for feature, (files, names) in TRACES.items():
        for name in files:
            assert (project / name).is_file(), name
        for name in names:
            assert name in everything, f"{feature}: {name!r}"
