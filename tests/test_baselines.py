"""Each baseline is one folder with its facts; nothing else lists the baselines.

Run: pytest -q tests/test_baselines.py
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scaffold.template import template_root
from scaffold.variants import baseline_facts, baselines

ROOT = template_root()
FOLDER = ROOT / "template" / "_baselines"
FACTS = {"description", "task", "dataset", "input_shape", "sequential", "has_batchnorm"}
FACTS |= {
    "train",
    "ddp_settings",
    "benchmark",
    "h200_raw",
    "bench_precision_accuracy",
    "input_sizes",
}


def test_the_baseline_choices_are_the_baseline_folders() -> None:
    assert baselines() == sorted(p.name for p in FOLDER.iterdir() if p.is_dir())


@pytest.mark.parametrize("name", baselines())
def test_each_baseline_folder_is_complete(name: str) -> None:
    for file in ("baseline.yml", "model.py", "model.toml", "test_model.py"):
        assert (FOLDER / name / file).is_file(), file
    facts = baseline_facts(name)
    assert set(facts) == FACTS
    assert (ROOT / "template" / "_data" / f"{facts['dataset']}.py").is_file()
    assert (ROOT / "template" / "_tasks" / f"{facts['task']}.py").is_file()
    assert set(facts["train"]) == {"epochs", "batch_size", "lr", "grad_clip"}


def test_no_other_file_lists_the_baselines() -> None:
    """Two baseline names quoted on one line is a list of baselines that a new baseline
    would have to join: such lists live in the facts files only."""
    names = "|".join(baselines())
    pair = re.compile(rf"[\"'](?:{names})[\"'].*[\"'](?:{names})[\"']")
    here = Path(__file__).resolve().parents[1]
    places = [*ROOT.joinpath("template").rglob("*"), *(here / "benchmarks").glob("*.py")]
    places += [*(here / "src" / "scaffold").rglob("*.py"), here / "noxfile.py"]
    offenders = [
        f"{path}:{number}"
        for path in places
        if path.is_file()
        and "_baselines" not in path.parts
        and path.suffix in (".py", ".jinja", ".yml", ".toml")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pair.search(line)
    ]
    assert not offenders, offenders
