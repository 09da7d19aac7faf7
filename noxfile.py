"""Checks of scaffold and of every template variant, run in the active environment.

    nox -l                              # list the sessions
    nox -s lint tests docs variant update sweep_postgres  # everything CI runs (.ci/run, README)
    nox -s "variant(cnn-minimal)"       # one variant
    nox -s demo                         # generate ./demo-project, install it, train it
    nox -s demo -- path/to/project      # the same somewhere else

No session creates a virtual environment: reinstalling torch per session costs about
1 GB and 20 s. Install scaffold first (`pip install -e '.[dev]'`, torch 2.13.0 before it).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "src"))

from scaffold.names import default_package_name  # noqa: E402
from scaffold.variants import baseline_facts, baselines, variants  # noqa: E402

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "tests", "docs", "variant", "update"]

# Renders use their own scaffold home, so development builds of the template don't add
# tags to the template repository in the developer's real home.
SCAFFOLD_HOME = {"SCAFFOLD_HOME": str(ROOT / ".nox" / "scaffold-home")}
# Two threads on a busy two-core machine made a tiny training step 400x slower.
ONE_THREAD = {"OMP_NUM_THREADS": "1"}
VARIANTS = {v.name: v for v in variants()}
# The test files of each feature (a cnn-<feature> variant runs these beside the core ones).
FEATURE_TESTS = {
    "augment": ["augment"],
    "precision": ["precision"],
    "sgdr": ["ensemble"],
    "dsd": ["dsd"],
    "switch": ["switch"],
    "prune": ["prune"],
    "precompute": ["precompute"],
    "compile": ["compiling"],
}
# One mypy cache for every rendered variant: torch's types are checked once (about a
# minute), not once per variant; the projects' own modules differ by package name.
MYPY_CACHE = {"MYPY_CACHE_DIR": str(ROOT / ".nox" / "mypy-cache")}
# Test files run on every core (pytest-xdist): each test is single-threaded and keeps its
# files under its own tmp_path, so two cores about halve the sessions that train.
SPREAD = ("-n", "auto")


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
def docs(session: nox.Session) -> None:
    """The READMEs' first steps word for word, each leaving a clean git tree.

    tests/readme_steps.py: scaffold's quick start in a fresh clone of HEAD with its own
    virtual environment, then a generated project's first-run steps in a fresh project.
    posargs go to the script (`--only project --project-readme FILE`, `--keep`).
    """
    session.run("python", "tests/readme_steps.py", *session.posargs, env=ONE_THREAD)


@nox.session
def update(session: nox.Session) -> None:
    """The slow scenarios of `scaffold update` and `scaffold bases` (minutes; a process per core).

    scaffold built as wheels (versions A and B of a test template) and installed into a
    fresh virtual environment: generate, edit, move, upgrade, new home, update, conflict.
    A base kept with its real checks, a new project from it, its tests, its update.
    """
    session.run("pytest", "-q", *SPREAD, "-m", "slow", "tests", *session.posargs, env=ONE_THREAD)


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
        session.run("mypy", "src", env=MYPY_CACHE)  # the project's own lint runs mypy too
        # What each kind of variant runs, to keep CI's time in bounds (fewer torchrun launches
        # also mean fewer chances of a rare gloo crash at exit; see README, Known issues):
        # - full (every feature): all tests but the `kit` ones (export graphs, lr-find,
        #   profiling), those that start processes (torchrun, sweep workers) included;
        # - minimal (no feature): all but the process-starting ones; the `kit` tests run
        #   here, once per baseline (they depend on the baseline, not on the features);
        # - cnn-<feature>: the feature's own tests and the loop's, config's, lifecycle's
        #   and structure's, after lint and mypy of the whole project.
        kind = chosen.name.rsplit("-", 1)[1]
        quick: tuple[str, ...] = {"full": ("-m", "not kit"), "minimal": ("-m", "not ddp")}.get(
            kind, ("-m", "not ddp and not kit")
        )
        if kind not in ("full", "minimal"):
            core = ["train", "config", "lifecycle", "structure", "schedule"]
            own = FEATURE_TESTS.get(kind, [])
            quick += tuple(f"tests/test_{name}.py" for name in [*core, *own])
        session.run("pytest", "-q", *SPREAD, *quick, env=ONE_THREAD)
    finally:
        session.run("python", "-m", "pip", "uninstall", "--quiet", "--yes", name)


# The check of `nox -s sweep_postgres`, run inside the generated project: the study holds
# exactly the requested trials (2 rates x 2 seeds), each finished once, in its own folder.
CHECK_STUDY = """
import itertools, sys, optuna
study = optuna.load_study(study_name="pg", storage=sys.argv[1])
done = sorted((t.params["optim.lr"], t.params["train.seed"]) for t in study.trials)
wanted = sorted(itertools.product((1e-3, 3e-3), (0, 1)))
assert done == wanted, f"trials {done} != {wanted}"
assert all(t.state.name == "COMPLETE" for t in study.trials), [t.state for t in study.trials]
assert len({t.user_attrs["run_dir"] for t in study.trials}) == 4
workers = sorted({t.user_attrs["worker"] for t in study.trials})
print(f"OK: {len(study.trials)} trials, each once, by workers {workers}")
"""


@nox.session
def sweep_postgres(session: nox.Session) -> None:
    """Two sweep workers on one PostgreSQL study: every trial once (in .ci/run; 30 s here).

    A throwaway server from the installed Debian binaries (initdb, pg_ctl) in a temporary
    folder, on a unix socket only; run as `nobody` when this runs as root (initdb refuses
    root). psycopg2-binary comes with scaffold's dev extra.
    """
    tmp = Path(tempfile.mkdtemp(prefix="sweep-pg-"))
    tmp.chmod(0o755)
    project, data, sock = tmp / "pgsweep", tmp / "data", tmp / "socket"
    for folder in (data, sock):
        folder.mkdir()
        if os.geteuid() == 0:
            shutil.chown(folder, "nobody")
    as_user = ("runuser", "-u", "nobody", "--") if os.geteuid() == 0 else ()
    session.run(
        *("python", "-m", "scaffold", "new", str(project), "--defaults", "--no-git"),
        env=SCAFFOLD_HOME,
    )
    session.run("python", "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(project))
    session.run(*as_user, "initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                silent=True, external=True)  # fmt: skip
    server = f"-k {sock} -c listen_addresses=''"  # a unix socket, no network port
    log = data / "server.log"
    session.run(*as_user, "pg_ctl", "-D", str(data), "-o", server, "-l", str(log), "-w", "start",
                external=True)  # fmt: skip
    try:
        session.run(*as_user, "createdb", "-h", str(sock), "-U", "postgres", "sweep", external=True)
        url = f"postgresql+psycopg2://postgres@/sweep?host={sock}"
        session.chdir(project)
        package = default_package_name(project.name)
        sets = ["data.subset=256", "train.epochs=2", "model.width=8", "train.progress=false"]
        session.run(
            *("python", "-m", package, "sweep", "--name", "pg", "--storage", url, "--jobs", "2"),
            *("--seeds", "2", "--grid", "optim.lr=1e-3,3e-3"),
            *(arg for item in sets for arg in ("--set", item)),
            env=ONE_THREAD,
        )
        session.run("python", "-c", CHECK_STUDY, url)
    finally:
        session.run(*as_user, "pg_ctl", "-D", str(data), "-m", "fast", "stop", external=True)
        session.run("python", "-m", "pip", "uninstall", "--quiet", "--yes", project.name)
        shutil.rmtree(tmp, ignore_errors=True)


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
    sweep.py: a sweep's --jobs 2 against --jobs 1, and its bookkeeping against runs by hand.
    data_scale.py: memory vs stream on 64x64 image folders of 2k, 8k, 32k images.
    first_step.py: time to the first step on the stream path, index cache off, cold, warm.
    """
    seeds = session.posargs or ["--seeds", "0", "1", "2"]
    session.run("python", "benchmarks/baselines.py", *seeds, env=SCAFFOLD_HOME)
    session.run("python", "benchmarks/loop_overhead.py")  # renders use temporary homes
    session.run("python", "benchmarks/new_time.py")  # its own temporary SCAFFOLD_HOME
    accuracy = [b for b in baselines() if baseline_facts(b)["bench_precision_accuracy"]]
    session.run("python", "benchmarks/precision.py", "--threads", "1", "--accuracy", *accuracy)
    session.run("python", "benchmarks/precompute.py")
    session.run("python", "benchmarks/sweep.py")  # --jobs 2 against 1, against runs by hand
    session.run("python", "benchmarks/data_scale.py")  # memory vs stream at 2k, 8k, 32k images
    session.run("python", "benchmarks/first_step.py")  # the folder index cache, cold and warm
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
    """The reference's claims as paired comparisons on the baselines: tables, pair plots.

    Writes benchmarks/results/evidence.{md,json} and evidence-<lab>.png, then the README's
    block. posargs go to benchmarks/evidence.py (`--quick`, `--labs cnn-digits`, `--only
    averaging warmup`, `--seeds 0 1 2 3 4`).
    """
    session.run("python", "benchmarks/evidence.py", *session.posargs)
    session.run("python", "benchmarks/readme.py")
