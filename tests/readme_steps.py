"""The READMEs' first steps, run word for word; each must leave its git tree clean.

    python tests/readme_steps.py                          # what `nox -s docs` runs
    python tests/readme_steps.py --project-readme FILE    # the project part with FILE's steps
    python tests/readme_steps.py --only project --keep    # one part; keep the temporary folder

1. scaffold's README, the block marked `quick-start`: in a fresh clone of this repository
   at its current HEAD (uncommitted changes are not in it), where the steps make their own
   virtual environment. Then the clone's `git status --porcelain` must be empty.
2. A generated project's README, the blocks marked `first-run` (install, data, a minimal
   training, overfit, evaluate): in a project freshly made by `scaffold new --defaults`
   (the clone's scaffold when part 1 got that far), then its `git status --porcelain`
   must be empty.

Marked steps are the ```bash fences between `<!-- docs: NAME -->` and `<!-- /docs -->`;
a README may hold several such regions of one NAME, run in order. All the blocks of a
part run in one bash process (`set -eu`), as a reader types them into one terminal: an
activated environment and a `cd` carry over from one block to the next. Fences are read
by mktestdocs' `grab_code_blocks`; mktestdocs' own runner starts a new shell per block
and prysk runs cram files with expected output, so neither runs these steps as written.

Around the steps, and not in them: SCAFFOLD_HOME is a temporary folder (the steps never
touch the real per-user template repository), OMP_NUM_THREADS=1, and PIP_CONSTRAINT
pins torch to 2.13.0, the version the template is tested with: a bare `pip install
torch` would otherwise pull a multi-GB CUDA build of another version.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mktestdocs import grab_code_blocks

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"
END = "<!-- /docs -->"


def start_marker(name: str) -> str:
    """The comment that opens a region of steps called `name`."""
    return f"<!-- docs: {name} -->"


class StepsError(Exception):
    """A part of the docs session failed; the message is one line."""


def marked_steps(text: str, name: str, where: str = "the README") -> list[str]:
    """The ```bash blocks of every `<!-- docs: name -->` ... `<!-- /docs -->` region."""
    start = start_marker(name)
    regions = re.findall(re.escape(start) + r"(.*?)" + re.escape(END), text, flags=re.S)
    if not regions:
        raise StepsError(
            f"{where} has no {start} ... {END} region: nothing marked to run "
            f"(wrap its ```bash steps in those two comments)."
        )
    blocks = [block for region in regions for block in grab_code_blocks(region, lang="bash")]
    if not blocks:
        raise StepsError(f"{where}: its {start} regions hold no ```bash block.")
    return blocks


def session_env(tmp: Path) -> dict[str, str]:
    """This process's environment without its virtual environment, plus the fixed settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    if sys.prefix != sys.base_prefix:  # the steps make and activate their own environment
        own = str(Path(sys.prefix) / "bin")
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if p != own)
    pin = tmp / "constraints.txt"
    pin.write_text(f"{TORCH}\n")
    env |= {
        "SCAFFOLD_HOME": str(tmp / "scaffold-home"),
        "OMP_NUM_THREADS": "1",
        "PIP_CONSTRAINT": str(pin),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    return env


def run_steps(blocks: list[str], cwd: Path, env: dict[str, str], label: str) -> None:
    """Run the blocks in one bash process in `cwd`; StepsError when one fails."""
    script = "set -eu\n" + "\n".join(blocks)
    print(f"docs: {label}: running in {cwd}:\n{script}", flush=True)
    done = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, check=False)
    if done.returncode != 0:
        raise StepsError(f"the steps exited with code {done.returncode} (output above).")


def check_clean(tree: Path) -> None:
    """StepsError naming what `git status --porcelain` shows in `tree`, if anything."""
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=tree, capture_output=True, text=True, check=True
    ).stdout.strip()
    if status:
        shown = "; ".join(line.strip() for line in status.splitlines()[:10])
        raise StepsError(f"the steps left the git tree {tree} dirty: {shown}")


@dataclass
class Part:
    """One part's outcome, for the closing summary."""

    label: str
    seconds: float = 0.0
    problem: str = ""


def quick_start(tmp: Path, env: dict[str, str], part: Part) -> None:
    """Part 1: scaffold's quick start in a fresh clone at this repository's HEAD."""
    clone = tmp / "scaffold"
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", head], cwd=clone, check=True)
    blocks = marked_steps((clone / "README.md").read_text(), "quick-start", "scaffold's README")
    run_steps(blocks, clone, env, part.label)
    check_clean(clone)


def first_run(tmp: Path, env: dict[str, str], readme: Path | None, part: Part) -> None:
    """Part 2: a generated project's first steps, in a project made for them."""
    project = tmp / "first-run"
    made_by = tmp / "scaffold" / ".venv" / "bin" / "scaffold"  # part 1's, when it got there
    command = [str(made_by)] if made_by.exists() else [sys.executable, "-m", "scaffold"]
    subprocess.run([*command, "new", str(project), "--defaults"], env=env, check=True)
    source = readme or project / "README.md"
    where = str(readme) if readme else "the generated README (template/README.md.jinja)"
    run_steps(marked_steps(source.read_text(), "first-run", where), project, env, part.label)
    check_clean(project)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["scaffold", "project"], help="Run one part.")
    parser.add_argument(
        "--project-readme", type=Path, help="Take part 2's steps from this file instead."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="scaffold-docs-"))
    env = session_env(tmp)
    parts = []
    jobs = {
        "scaffold": (Part("scaffold README quick-start"), lambda p: quick_start(tmp, env, p)),
        "project": (
            Part("generated README first-run"),
            lambda p: first_run(tmp, env, args.project_readme, p),
        ),
    }
    try:
        for key, (part, job) in jobs.items():
            if args.only not in (None, key):
                continue
            parts.append(part)
            began = time.perf_counter()
            try:
                job(part)
            except (StepsError, subprocess.CalledProcessError) as error:
                part.problem = str(error)
            part.seconds = time.perf_counter() - began
    finally:
        if args.keep:
            print(f"docs: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    for part in parts:
        state = f"FAILED: {part.problem}" if part.problem else "ok, tree clean"
        print(f"docs: {part.label}: {state} ({part.seconds:.0f} s)")
    return 1 if any(part.problem for part in parts) else 0


if __name__ == "__main__":
    sys.exit(main())
