"""Sweeps: seeds, grids and searches, each one Optuna study that any number of workers share.

    python -m <package> sweep --seeds 3 --grid optim.lr=1e-3,3e-3 --jobs 2
    python -m <package> sweep --search optim.lr=log:1e-4:1e-1 --trials 20 --set train.epochs=5

Every trial is a normal run folder, runs/<name>-<trial number>. Grids and seeds are
enqueued trials, a search enqueues `--trials` empty slots that the TPE sampler fills; a
worker takes waiting trials until none is left, so `sweep` again after Ctrl-C or a crash
continues, and a finished study trains nothing. A trial left running by a dead worker is
marked failed and queued again (a dead process on this machine at once, another machine's
after its heartbeat stops). The same command on other machines with one `--storage`
(e.g. postgresql://...) adds workers. At the end: the runs table (seeds grouped), the
curves (runs/sweeps/<name>-runs.png) and the best config (runs/sweeps/<name>-best.toml,
for `train --config`).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import tomllib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
import tomli_w
import torch
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

from . import config, files, runstable, task, train
from .errors import ConfigError, DataError, NonFiniteError
from .lifecycle import Loop, Technique
from .overrides import coerce, lookup, set_value

optuna.logging.set_verbosity(optuna.logging.WARNING)
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

HEARTBEAT = 10  # seconds between a running trial's signs of life in the storage
WORKER = f"{socket.gethostname()}:{os.getpid()}"  # who runs a trial (to spot dead workers)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


# ------------------------------------------------------------------ what the sweep runs
def parse_grid(items: list[str], cfg: config.Config) -> dict[str, list[Any]]:
    """`key=v1,v2` -> {key: [typed values]}."""
    grid = {}
    for item in items:
        key, values = _key_value("--grid", item, cfg)
        grid[key] = [coerce(key, v.strip(), lookup(cfg, key)[2]) for v in values.split(",")]
        if len(set(grid[key])) < len(grid[key]):
            raise ConfigError(f"--grid {item}: a value is listed twice.")
    return grid


def parse_search(items: list[str], cfg: config.Config) -> dict[str, list[Any]]:
    """`key=log:lo:hi`, `key=lo:hi` or `key=a,b,c` -> {key: [kind, ...]}."""
    space: dict[str, list[Any]] = {}
    for item in items:
        key, spec = _key_value("--search", item, cfg)
        kind = lookup(cfg, key)[2]
        if "," in spec or ":" not in spec:
            space[key] = ["choice", *(coerce(key, v.strip(), kind) for v in spec.split(","))]
            continue
        log = spec.startswith("log:")
        bounds = spec.removeprefix("log:").split(":")
        if len(bounds) != 2 or kind not in (int, float):
            raise ConfigError(
                f"--search {item}: use key=log:low:high or key=low:high for a number, "
                "key=a,b,c for choices."
            )
        low, high = (coerce(key, b.strip(), kind) for b in bounds)
        if not low < high:
            raise ConfigError(f"--search {item}: the low bound must be below the high one.")
        if log and low <= 0:
            raise ConfigError(f"--search {item}: log: needs positive bounds.")
        space[key] = ["log" if log else "range", low, high]
    return space


def _key_value(flag: str, item: str, cfg: config.Config) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not value.strip():
        raise ConfigError(f"{flag} {item!r} must look like section.field=...")
    lookup(cfg, key.strip())  # unknown keys: one sentence with a "did you mean"
    return key.strip(), value.strip()


def make_plan(args: argparse.Namespace) -> dict[str, Any]:
    """The sweep as plain data, stored in the study (workers read it from there)."""
    if args.seeds < 1 or args.trials < 1:
        raise ConfigError("--seeds and --trials must be at least 1.")
    if args.search and (args.grid or args.seeds > 1):
        raise ConfigError(
            "--search samples its own trials: run seeds and grids as a sweep of their own."
        )
    cfg = config.build([Path(p) for p in args.config], args.overrides)
    grid = parse_grid(args.grid, cfg)
    if args.seeds > 1:
        grid["train.seed"] = list(range(args.seeds))
    search = parse_search(args.search, cfg)
    cfg.train.progress = False  # workers share one terminal: one line per epoch
    plan = {"grid": grid, "search": search, "trials": args.trials if search else 0}
    return json.loads(json.dumps({**plan, "base": cfg.to_dict()}))  # as the storage keeps it


def distributions(plan: dict[str, Any]) -> dict[str, BaseDistribution]:
    found: dict[str, BaseDistribution] = {}
    for key, values in plan["grid"].items():
        found[key] = CategoricalDistribution(values)
    for key, (kind, *rest) in plan["search"].items():
        if kind == "choice":
            found[key] = CategoricalDistribution(rest)
        elif isinstance(rest[0], int):
            found[key] = IntDistribution(rest[0], rest[1], log=kind == "log")
        else:
            found[key] = FloatDistribution(rest[0], rest[1], log=kind == "log")
    return found


def default_name(args: argparse.Namespace) -> str:
    """A readable name from the arguments, with a short hash of --config/--set if given."""
    parts = [item.replace(",", "+").replace(":", "~") for item in [*args.grid, *args.search]]
    parts += [f"seeds{args.seeds}"] if args.seeds > 1 else []
    parts += [f"trials{args.trials}"] if args.search else []
    base = json.dumps([[str(p) for p in args.config], args.overrides])
    if args.config or args.overrides:
        parts.append(hashlib.sha1(base.encode()).hexdigest()[:6])
    return "_".join(parts) or "sweep"


# ------------------------------------------------------------------ the study and its storage
def open_study(name: str, url: str, plan: dict[str, Any] | None) -> optuna.Study:
    """The study `name` in `url`: made and filled when new (plan given), else checked
    against `plan`; a worker (plan None) takes the study as it is."""
    try:
        storage = optuna.storages.RDBStorage(
            url,
            heartbeat_interval=HEARTBEAT,
            grace_period=6 * HEARTBEAT,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(),
        )
    except Exception as err:  # a bad URL, a missing driver, a server that is not there
        cause = err.__cause__ or err  # e.g. the database driver that is not installed
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(err).__name__
        raise ConfigError(f"Cannot open the sweep storage {url}: {reason}") from None
    direction = "maximize" if task.HIGHER_IS_BETTER else "minimize"
    # steps are epochs (from 1): the first is never judged, and nothing before 3 finished trials
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    kind = dict(storage=storage, sampler=optuna.samplers.TPESampler(), pruner=pruner)
    try:
        study = optuna.create_study(study_name=name, direction=direction, **kind)  # type: ignore[arg-type]
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, **kind)  # type: ignore[arg-type]
    else:
        if plan is None:  # a --worker started before its sweep: leave no empty study
            optuna.delete_study(study_name=name, storage=storage)
            raise ConfigError(f"There is no sweep named {name!r} in {url}.")
        study.set_user_attr("plan", plan)
        enqueue(study, plan)
        return study
    for _ in range(50):  # a study made a moment ago by another machine gets its plan
        if "plan" in study.user_attrs or plan is None:
            break
        time.sleep(0.1)
    if plan is not None and study.user_attrs.get("plan") != plan:
        raise ConfigError(
            f"A sweep named {name!r} exists in {url} with other parameters; choose another "
            "--name, or repeat its own arguments to continue it."
        )
    return study


def enqueue(study: optuna.Study, plan: dict[str, Any]) -> None:
    """The grid (x seeds) as enqueued trials; a search as `trials` empty slots."""
    if plan["search"]:
        for _ in range(plan["trials"]):
            study.enqueue_trial({})
        return
    keys = list(plan["grid"])
    for values in itertools.product(*plan["grid"].values()):
        study.enqueue_trial(dict(zip(keys, values, strict=True)))


def storage_of(study: optuna.Study) -> Any:
    """The study's storage (RDBStorage behind Optuna's cache): claims and heartbeats."""
    return study._storage


def requeue_dead(study: optuna.Study) -> None:
    """Trials left running by a worker of this machine that is gone: failed, queued again."""
    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
        if owner == host and pid.isdigit() and not _alive(int(pid)):
            fail_and_requeue(study, trial)


def fail_and_requeue(study: optuna.Study, trial: FrozenTrial) -> None:
    storage = storage_of(study)
    try:
        if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            return
    except optuna.exceptions.UpdateFinishedTrialError:
        return
    optuna.storages.RetryHeartbeatStaleTrialCallback()(study, storage.get_trial(trial._trial_id))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(study: optuna.Study) -> optuna.Trial | None:
    """A waiting trial, now running and ours; None when the queue is empty."""
    optuna.storages.fail_stale_trials(study)  # other machines' dead workers
    storage = storage_of(study)
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if storage.set_trial_state_values(frozen._trial_id, state=TrialState.RUNNING):
                trial = optuna.Trial(study, frozen._trial_id)
                trial.set_user_attr("worker", WORKER)
                return trial
        except optuna.exceptions.UpdateFinishedTrialError:
            continue  # another worker took it and finished it meanwhile
    return None


@contextmanager
def heartbeat(study: optuna.Study, trial: optuna.Trial) -> Iterator[None]:
    """Signs of life while the trial trains, so other machines see when it died."""
    done = threading.Event()

    def beat() -> None:
        while True:
            storage_of(study).record_heartbeat(trial._trial_id)
            if done.wait(HEARTBEAT):
                return

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


# ------------------------------------------------------------------ workers and trials
class Report(Technique):
    """Feeds each epoch's monitored metric to the study; in a search, asks the pruner."""

    name = "sweep"

    def __init__(self, trial: optuna.Trial, prune: bool) -> None:
        self.trial, self.prune, self.pruned = trial, prune, False

    def start_epoch(self, loop: Loop, epoch: int) -> None:
        if "run_dir" not in self.trial.user_attrs:  # known once the run has its folder
            self.trial.set_user_attr("run_dir", str(loop.run_dir))

    def end_epoch(self, loop: Loop, epoch: int, row: dict[str, float]) -> None:
        value = row.get(f"valid_{task.METRIC}", row.get(f"train_{task.METRIC}"))
        if value is None:
            return
        self.trial.report(value, epoch)
        if self.prune and self.trial.should_prune():
            self.pruned = True
            loop.stop = f"pruned by the sweep at epoch {epoch} (below the median of trials)"


def work(study: optuna.Study, plan: dict[str, Any]) -> None:
    """Take waiting trials and train them until none is left."""
    requeue_dead(study)
    while (trial := claim(study)) is not None:
        run_trial(study, trial, plan)


def run_trial(study: optuna.Study, trial: optuna.Trial, plan: dict[str, Any]) -> None:
    params = {key: _suggest(trial, key, dist) for key, dist in distributions(plan).items()}
    report = Report(trial, prune=bool(plan["search"]))
    try:
        cfg = config.from_dict(plan["base"])
        for key, value in params.items():
            set_value(cfg, key, value)
        cfg.train.run_name = f"{study.study_name}-{trial.number:03d}"
        cfg.track.group = cfg.track.group or study.study_name  # tracked runs carry the sweep
        with heartbeat(study, trial):
            summary = train.run(config.validate(cfg), extra=[report])
    except KeyboardInterrupt:
        fail_and_requeue(study, study.get_trials(deepcopy=False)[trial.number])
        raise
    except (ConfigError, DataError, NonFiniteError) as err:
        print(f"trial {trial.number} failed: {err}", file=sys.stderr)
        trial.set_user_attr("error", str(err))
        study.tell(trial, state=TrialState.FAIL)
        return
    if report.pruned:
        study.tell(trial, state=TrialState.PRUNED)
    else:
        value = summary.get(runstable.METRIC, summary.get(f"train_{task.METRIC}"))
        study.tell(trial, value)


def _suggest(trial: optuna.Trial, key: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(key, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(key, dist.low, dist.high, log=dist.log)
    assert isinstance(dist, FloatDistribution)
    return trial.suggest_float(key, dist.low, dist.high, log=dist.log)


def start_workers(jobs: int, name: str, url: str) -> list[subprocess.Popen[bytes]]:
    """`jobs` worker processes, CPU threads divided among them, one GPU each if several."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    gpus = torch.cuda.device_count()
    workers = []
    for k in range(jobs):
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        if gpus > 1:
            env["CUDA_VISIBLE_DEVICES"] = str(k % gpus)
        command = [sys.executable, "-m", __package__ or "", "sweep", "--name", name]
        workers.append(subprocess.Popen([*command, "--storage", url, "--worker"], env=env))
    return workers


# ------------------------------------------------------------------ the end of a sweep
def report(study: optuna.Study, plan: dict[str, Any], folder: Path) -> str:
    """The runs table of the study's finished trials (seeds grouped), the curves and the
    best config; returns the table."""
    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state in FINISHED and "run_dir" in t.user_attrs]
    runs = [runstable.read(Path(t.user_attrs["run_dir"])) for t in done]
    counts = {s.name.lower(): sum(t.state == s for t in trials) for s in TrialState}
    table = runstable.show(
        runs, True, "md", runstable.METRIC, folder / f"{study.study_name}-runs.png"
    )
    wrote = [folder / f"{study.study_name}-runs.png"]
    best = best_config(study, plan, done)
    if best is not None:
        wrote.append(folder / f"{study.study_name}-best.toml")
        files.write_text(tomli_w.dumps(best), wrote[-1])
    shown = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"{table}\n\nTrials: {shown}. Wrote {' and '.join(map(str, wrote))}."


def best_config(
    study: optuna.Study, plan: dict[str, Any], done: list[FrozenTrial]
) -> dict[str, Any] | None:
    """The config of the best completed trial; with seeds, of the config with the best mean
    over its seeds (the seed and run name set back to the base's)."""
    groups: dict[str, list[FrozenTrial]] = {}
    for t in done:
        if t.state == TrialState.COMPLETE and t.value is not None:
            key = json.dumps({k: v for k, v in t.params.items() if k != "train.seed"})
            groups.setdefault(key, []).append(t)
    if not groups:
        return None
    sign = 1 if task.HIGHER_IS_BETTER else -1
    best = max(groups.values(), key=lambda g: sign * sum(t.value or 0.0 for t in g) / len(g))
    path = Path(best[0].user_attrs["run_dir"]) / "config.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["train"]["seed"] = plan["base"]["train"]["seed"]
    data["train"]["run_name"] = ""
    data["train"]["progress"] = True
    return data


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.jobs < 1:
        raise ConfigError("--jobs must be at least 1 (worker processes on this machine).")
    plan = None if args.worker else make_plan(args)
    name = args.name or default_name(args)
    runs_dir = Path(plan["base"]["train"]["runs_dir"] if plan else "runs")
    folder = runs_dir / "sweeps"
    if not args.storage:
        folder.mkdir(parents=True, exist_ok=True)
    url = args.storage or f"sqlite:///{folder / name}.db"
    study = open_study(name, url, plan)
    if args.worker or plan is None:
        work(study, study.user_attrs["plan"])
        return 0
    requeue_dead(study)
    left = study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING))
    if not left:
        print(f"The sweep {name!r} is complete: nothing to train.")
    elif args.jobs == 1:
        work(study, plan)
    else:
        workers = start_workers(args.jobs, name, url)
        try:
            codes = [w.wait() for w in workers]
        except KeyboardInterrupt:
            for w in workers:
                w.wait()  # each worker queues its trial again, then exits
            raise
        if any(codes):
            print(
                f"note: worker exit codes {codes}; run the sweep again to retry.", file=sys.stderr
            )
    print(report(study, plan, folder))
    return 0


REPEATABLE = {  # flag -> (dest, metavar, help); each may be given many times
    "--grid": ("grid", "KEY=V1,V2", "values to try, e.g. optim.lr=1e-3,3e-3 (cross product)"),
    "--search": (
        "search",
        "KEY=SPACE",
        "e.g. optim.lr=log:1e-4:1e-1, model.width=16:64, optim.name=adam,sgd",
    ),
    "--config": ("config", "FILE", "a TOML config file for every trial"),
    "--set": ("overrides", "KEY=VALUE", "a config field for every trial, e.g. train.epochs=5"),
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="seeds, a grid or a search as one Optuna study")
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds 0..N-1 of each config")
    for flag, (dest, metavar, text) in REPEATABLE.items():
        p.add_argument(flag, action="append", default=[], dest=dest, metavar=metavar, help=text)
    p.add_argument("--trials", type=int, default=20, metavar="N", help="trials of a --search")
    p.add_argument("--name", help="the study's name (default: made from the arguments)")
    p.add_argument("--storage", metavar="URL", help="default sqlite:///runs/sweeps/NAME.db")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_sweep)
