"""Run a generated project's own checks with its own code: the capacity check and its tests.

    python -c "from scaffold.checks import run_checks; print(run_checks('my-proj', 'my_proj'))"

Both run in the project's folder, as `python -m <package> overfit --no-progress` and
`python -m pytest -q --tb=short -m "not ddp"` (see QUICK), with the project's `src/` first
on PYTHONPATH (no install needed) and one thread per process (two threads on a busy small
machine made a tiny step 400x slower). `python` is the interpreter with the project's dependencies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TAIL_LINES = 25


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str  # overfit | tests | ...
    command: str
    exit_code: int
    summary: str  # the last line it printed, e.g. "42 passed in 17.94s"
    seconds: float
    tail: str  # its last lines, to show when it failed

    @property
    def passed(self) -> bool:
        """Whether the check exited 0."""
        return self.exit_code == 0

    def record(self) -> dict[str, Any]:
        """The check as JSON-ready data (without the output tail)."""
        data = asdict(self)
        del data["tail"]
        return {"passed": self.passed, **data}


# The project's torchrun tests (marker `ddp`) check the template's training loop under
# DistributedDataParallel, which scaffold's own variant sessions test; a base's checks are
# about the user's model and data, and skip them (about a minute on two cores).
QUICK = ("-m", "not ddp")


def commands(package: str, python: str) -> list[tuple[str, list[str]]]:
    """The checks of a project whose package is `package`: (name, command line)."""
    return [
        ("overfit", [python, "-m", package, "overfit", "--no-progress"]),
        ("tests", [python, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider", *QUICK]),
    ]


def run_checks(
    project: str | os.PathLike[str],
    package: str,
    *,
    python: str = sys.executable,
    only: tuple[str, ...] = (),
    say: Callable[[str], None] = lambda message: None,
) -> list[Check]:
    """Run the checks of `project` (those named in `only`, or all) until one fails."""
    folder = Path(project)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(folder / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    env["OMP_NUM_THREADS"] = "1"
    done: list[Check] = []
    for name, command in commands(package, python):
        if only and name not in only:
            continue
        say(f"Running {name}: {' '.join(command[1:])} (in {folder})")
        start = time.perf_counter()
        try:
            run = subprocess.run(
                command, cwd=folder, env=env, capture_output=True, text=True, check=False
            )
            code, output = run.returncode, run.stdout + run.stderr
        except OSError as error:
            code, output = 127, f"Cannot run {command[0]}: {error.strerror}."
        lines = [line.strip(" =") for line in output.splitlines() if line.strip(" =")]
        summary = lines[-1] if lines else f"exit code {code}, no output"
        tail = "\n".join(output.rstrip().splitlines()[-TAIL_LINES:])
        seconds = round(time.perf_counter() - start, 1)
        done.append(Check(name, " ".join(command[1:]), code, summary, seconds, tail))
        if code != 0:
            break
    return done
