"""What the docs claim is true: cited files exist, sizes, the distribution name, CI = README.

Run: pytest -q tests/test_docs_claims.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import scaffold

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DISTRIBUTION = "scaffold-pytorch"
# Named in docs but made elsewhere, each with why.
NOT_IN_REPO = {
    "CHANGES.md": "the file test template version B adds (tests/template_versions.py), "
    "shown arriving in the README's update example",
}
# A document reference: a path ending .md/.rst; in tests/ only upper-case names such as
# DESIGN.md (tests make x.md-like fixture files of their own).
DOCUMENT = re.compile(r"(?<![\w{}])[\w./-]*\w\.(?:md|rst)\b")
UPPER_DOCUMENT = re.compile(r"(?<![\w{}./-])[A-Z][A-Z_]+\.(?:md|rst)\b")


def tracked() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return listed.split()


def test_no_file_cites_a_document_that_is_not_in_the_repository() -> None:
    files = tracked()
    known = set(files) | {Path(f).name for f in files} | set(NOT_IN_REPO)
    missing = []
    for name in files:
        path = ROOT / name
        if name == "tests/test_docs_claims.py" or path.suffix in (".bundle", ".png"):
            continue
        text = path.read_text(errors="replace")
        pattern = UPPER_DOCUMENT if name.startswith("tests/") else DOCUMENT
        for match in pattern.finditer(text):
            ref = match.group(0).removeprefix("./")
            if ref not in known and Path(ref).name not in known:
                missing.append(f"{name}: {ref}")
        # "DESIGN numbers" and the like: the design notes are not in this repository.
        missing += [f"{name}: DESIGN" for _ in re.finditer(r"\bDESIGN\b", text)]
    assert not missing, missing


def test_the_template_bundle_size_is_stated_truly_or_not_at_all() -> None:
    size = (ROOT / "src" / "scaffold" / "_history" / "template.bundle").stat().st_size
    for match in re.finditer(r"bundle[^.]{0,40}?(\d+)\s*(KB|kB|KiB|MB)", README):
        stated = int(match.group(1)) * (1000 if match.group(2) != "MB" else 1_000_000)
        assert 0.8 * size <= stated <= 1.25 * size, (match.group(0), size)


def test_the_distribution_name_is_used_everywhere() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {"scaffold": "scaffold.cli:app"}  # the command stays
    assert scaffold.__version__ == version(DISTRIBUTION) == project["version"]
    # Every install or upgrade line names the distribution, a path or an extra, never the
    # unrelated `scaffold` on the index.
    installs = [line.split("#")[0] for line in re.findall(r"pip install[^\n`|]*", README)]
    assert installs
    wrong = [line for line in installs if re.search(r"(?<![\w./-])scaffold(?![\w-])", line)]
    assert not wrong, wrong
    assert f"pip install -U {DISTRIBUTION}" in README


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    (block,) = re.findall(r"```bash\n(python3\.11 -m venv[^`]*?nox -s [^`]*?)\n```", README)
    steps = block.splitlines()[1:]  # after the venv line (.ci/run makes .venv-ci)
    assert steps == [line for line in ci if line.startswith(("pip ", "OMP_NUM_THREADS"))]
    assert steps[-1] == "OMP_NUM_THREADS=1 nox -s lint tests docs variant update sweep_postgres"
