"""`scaffold bases show` of a built-in baseline gives the model config its projects start from.

Run: pytest -q tests/test_builtin_bases.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scaffold.cli import app
from scaffold.variants import choices

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

runner = CliRunner()


@pytest.mark.parametrize("baseline", choices("baseline"))
def test_show_gives_the_model_config_a_new_project_gets(baseline: str, tmp_path: Path) -> None:
    made = runner.invoke(
        app, ["new", str(tmp_path / "p"), "--defaults", "--no-git", "--baseline", baseline]
    )
    assert made.exit_code == 0, made.output
    default = tomllib.loads((tmp_path / "p" / "configs" / "default.toml").read_text())["model"]

    shown = runner.invoke(app, ["bases", "show", baseline, "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["model_config"] == default

    text = runner.invoke(app, ["bases", "show", baseline])
    assert text.exit_code == 0, text.output
    line = next(x for x in text.stdout.splitlines() if "model config" in x)
    assert json.loads(line.split(": ", 1)[1]) == default
