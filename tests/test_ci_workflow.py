"""The CI workflow every generated project gets: valid, audited, pinned, and it runs the checks.

Run: pytest -q tests/test_ci_workflow.py
Offline: GitHub's workflow schema as vendored by check-jsonschema, and zizmor --offline.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scaffold.cli import app

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = Path(".github/workflows/ci.yml")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal project: the workflow is the same file for every variant."""
    where = tmp_path_factory.mktemp("ci") / "ci-project"
    made = CliRunner().invoke(
        app, ["new", str(where), "--defaults", "--no-git", "-d", "features=[]"]
    )
    assert made.exit_code == 0, made.output
    return where


def _steps(project: Path) -> list[dict]:
    return yaml.safe_load((project / WORKFLOW).read_text())["jobs"]["checks"]["steps"]


def test_the_workflow_is_valid_against_githubs_schema(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(project / WORKFLOW)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing(project: Path) -> None:
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or "zizmor"
    done = subprocess.run(
        [zizmor, "--offline", "--persona", "auditor", "--format", "json", str(project / WORKFLOW)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    findings = json.loads(done.stdout)
    assert findings == [], [(f["ident"], f["determinations"]["severity"]) for f in findings]


def test_actions_are_pinned_by_commit_and_credentials_not_kept(project: Path) -> None:
    text = (project / WORKFLOW).read_text()
    uses = re.findall(r"uses: (\S+)(.*)", text)
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.search(r"#\s*v\d+\.\d+\.\d+", comment), f"{action}: no version comment"
    workflow = yaml.safe_load(text)
    assert workflow["permissions"] == {"contents": "read"}
    checkout = next(s for s in _steps(project) if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["persist-credentials"] is False


def test_it_installs_the_tested_cpu_torch_and_runs_the_projects_checks(project: Path) -> None:
    run = "\n".join(step.get("run", "") for step in _steps(project))
    tested = re.search(r"pip install (torch==\S+)", (ROOT / ".ci" / "run").read_text()).group(1)
    assert f"pip install {tested} --index-url https://download.pytorch.org/whl/cpu" in run
    assert "pip install -e '.[dev]'" in run
    sessions = re.search(r"nox -s ([\w ]+)", run).group(1).split()
    assert sessions == ["lint", "tests"]
    noxfile = (project / "noxfile.py").read_text()
    assert all(f"def {name}(session" in noxfile for name in sessions)
    assert "pre-commit run --all-files" in run and (project / ".pre-commit-config.yaml").is_file()
