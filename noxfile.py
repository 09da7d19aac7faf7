"""Checks of scaffold and of every template variant, run in the active environment.

    nox -l                              # list the sessions
    nox -s lint tests variant update    # everything CI runs (.ci/run, README)
    nox -s "variant(cnn-minimal)"       # one variant
    nox -s demo                         # generate ./demo-project, install it, train it
    nox -s demo -- path/to/project      # the same somewhere else

No session creates a virtual environment: reinstalling torch per session costs about
1 GB and 20 s. Install scaffold first (`pip install -e '.[dev]'`, torch 2.13.0 before it).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "src"))

from scaffold.names import default_package_name  # noqa: E402
from scaffold.variants import baseline_facts, baselines, variants  # noqa: E402

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests", "variant", "update"]

# Renders use their own scaffold home, so development builds of the template don't add
# tags to the template repository in the developer's real home.
SCAFFOLD_HOME = {"SCAFFOLD_HOME": str(ROOT / ".nox" / "scaffold-home")}
# Two threads on a busy two-core machine made a tiny training step 400x slower.
ONE_THREAD = {"OMP_NUM_THREADS": "1"}
VARIANTS = {v.name: v for v in variants()}


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (template/ is excluded); the shipped template history and README results are current."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # A template change needs a new version cut into the history (README, "Releasing").
    session.run("python", "-m", "scaffold._release", "--check")
    session.run("python", "benchmarks/readme.py", "--check")  # README quotes the reports


@nox.session
def tests(session: nox.Session) -> None:
    """scaffold's own tests."""
    session.run("pytest", "-q", "tests", *session.posargs, env=ONE_THREAD)


@nox.session
def update(session: nox.Session) -> None:
    """The slow scenarios of `scaffold update` and `scaffold bases` (about two minutes).

    scaffold built as wheels (versions A and B of a test template) and installed into a
    fresh virtual environment: generate, edit, move, upgrade, new home, update, conflict.
    A base kept with its real checks, a new project from it, its tests, its update.
    """
    session.run("pytest", "-q", "-m", "slow", "tests", *session.posargs, env=ONE_THREAD)


@nox.session
@nox.parametrize("name", list(VARIANTS), ids=list(VARIANTS))
def variant(session: nox.Session, name: str) -> None:
    """Render one variant into a temporary folder and run its own lint and tests."""
    chosen = VARIANTS[name]
    project = Path(session.create_tmp()).absolute() / name
    shutil.rmtree(project, ignore_errors=True)
    answers = [  # lists as YAML (JSON is YAML), text as it is
        f"{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in chosen.data().items()
    ]
    session.run(
        *("python", "-m", "scaffold", "new", str(project), "--defaults", "--no-git"),
        *(arg for answer in answers for arg in ("--data", answer)),
        env=SCAFFOLD_HOME,
    )
    session.run("python", "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(project))
    try:
        session.chdir(project)
        session.run("ruff", "check", ".")
        session.run("ruff", "format", "--check", ".")
        # torchrun tests (about half a minute) run in the full variants: each baseline, every
        # technique on. Fewer launches also mean fewer chances of a rare gloo crash at process
        # exit seen on this loaded 2-core machine (see README, Known issues).
        quick = () if chosen.name.endswith("-full") else ("-m", "not ddp")
        session.run("pytest", "-q", *quick, env=ONE_THREAD)
    finally:
        session.run("python", "-m", "pip", "uninstall", "--quiet", "--yes", name)


@nox.session
def demo(session: nox.Session) -> None:
    """Generate a project (./demo-project or the given folder), install it, train, show results."""
    project = Path(session.posargs[0] if session.posargs else "demo-project").absolute()
    session.run(
        *("python", "-m", "scaffold", "new", str(project), "--defaults", "--overwrite"),
        "--no-git",
        env=SCAFFOLD_HOME,
    )
    session.run("python", "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(project))
    session.chdir(project)
    session.run("python", "-m", default_package_name(project.name), "train", env=ONE_THREAD)
    summaries = sorted(project.glob("runs/*/summary.json"), key=lambda p: p.stat().st_mtime)
    if not summaries:
        session.error(f"Training wrote no {project}/runs/*/summary.json.")
    session.log(f"{summaries[-1]}:\n{summaries[-1].read_text()}")


@nox.session
def bench(session: nox.Session) -> None:
    """All benchmarks into benchmarks/results/ and the README (13 minutes on 2 idle cores).

    baselines.py: every baseline's default config in final mode, time to target, 3 seeds
        (posargs replace `--seeds 0 1 2`, e.g. `nox -s bench -- --seeds 0`).
    loop_overhead.py: the generated loop's samples/s against a bare PyTorch loop.
    new_time.py: `scaffold new` against a bare `copier copy`, and `scaffold update`.
    precision.py: fp32 against bf16 (and channels_last) training steps, every baseline, and
        accuracy in both for cnn, lstm and unet; one torch thread.
    precompute.py: epoch time with and without the cache of frozen layers' outputs.
    """
    seeds = session.posargs or ["--seeds", "0", "1", "2"]
    session.run("python", "benchmarks/baselines.py", *seeds, env=SCAFFOLD_HOME)
    session.run("python", "benchmarks/loop_overhead.py")  # renders use temporary homes
    session.run("python", "benchmarks/new_time.py")  # its own temporary SCAFFOLD_HOME
    accuracy = [b for b in baselines() if baseline_facts(b)["bench_precision_accuracy"]]
    session.run("python", "benchmarks/precision.py", "--threads", "1", "--accuracy", *accuracy)
    session.run("python", "benchmarks/precompute.py")
    session.run("python", "benchmarks/readme.py")  # copy the new results into README.md


@nox.session
def mutants(session: nox.Session) -> None:
    """Mutation testing of the logic modules of the full cnn project (15 minutes on 2 cores).

    benchmarks/mutants.py renders the project into a temporary folder and runs mutmut over
    schedule, metrics, ensemble, dsd, switch, augment, lifecycle and techniques, each against
    its own test file (OMP_NUM_THREADS=1); benchmarks/results/mutants.{md,json,txt}. Fails
    when fewer than 85% of the mutants are killed or listed in benchmarks/mutants-equivalent.txt.
    posargs go to the script (`--only schedule dsd`).
    """
    session.run("python", "benchmarks/mutants.py", *session.posargs, env=SCAFFOLD_HOME | ONE_THREAD)


@nox.session
def evidence(session: nox.Session) -> None:
    """The reference's claims tested on the default data (7 minutes idle here): tables, plots.

    Writes benchmarks/results/evidence.{md,json} and evidence-*.png. posargs go to
    benchmarks/evidence.py (`--seeds 0`, `--only dsd sgdr`).
    """
    session.run("python", "benchmarks/evidence.py", *session.posargs)
    session.run("python", "benchmarks/readme.py")
