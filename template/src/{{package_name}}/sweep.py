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

The plan is parsed in sweepplan.py, the study and its storage live in sweepstudy.py; this
module runs the trials (workers) and reports the sweep's end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tomllib
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
from .overrides import set_value
from .sweepplan import default_name, distributions, make_plan
from .sweepstudy import claim, fail_and_requeue, heartbeat, open_study, requeue_dead

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


# ------------------------------------------------------------------ workers and trials
class Report(Technique):
    """Feeds each epoch's monitored metric to the study; in a search, asks the pruner."""

    name = "sweep"

    def __init__(self, trial: optuna.Trial, prune: bool) -> None:
        self.trial, self.prune, self.pruned, self.known = trial, prune, False, False

    def start_epoch(self, loop: Loop, epoch: int) -> None:
        # known once the run has its folder; a retried trial's copied run_dir is the dead one's
        if not self.known:
            self.trial.set_user_attr("run_dir", str(loop.run_dir))
            self.known = True

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
    processes = plan.get("torchrun", 0)
    report = Report(trial, prune=bool(plan["search"]) and not processes)
    try:
        cfg = config.from_dict(plan["base"])
        for key, value in params.items():
            set_value(cfg, key, value)
        cfg.train.run_name = f"{study.study_name}-{trial.number:03d}"
        cfg.track.group = cfg.track.group or study.study_name  # tracked runs carry the sweep
        with heartbeat(study, trial):
            if processes:
                summary = under_torchrun(config.validate(cfg), processes, trial)
            else:
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


def under_torchrun(cfg: config.Config, processes: int, trial: optuna.Trial) -> dict[str, Any]:
    """The trial as `torchrun --standalone --nproc_per_node=N -m PKG train --config FILE`.

    Its epochs reach the study when it has ended (so a torchrun trial is never pruned);
    its summary is the run's summary.json.
    """
    root, name = Path(cfg.train.runs_dir), cfg.train.run_name
    spec = root / "sweeps" / f"{name}.toml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    cfg.save(spec)
    before = set(root.glob(f"{name}*"))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc_per_node={processes}", "-m", __package__ or "", "train"]
    code = subprocess.run([*command, "--config", str(spec)]).returncode
    made = [p for p in root.glob(f"{name}*") if p not in before and (p / "summary.json").is_file()]
    if code != 0 or len(made) != 1:
        raise ConfigError(f"torchrun of trial {trial.number} ended with exit code {code}.")
    trial.set_user_attr("run_dir", str(made[0]))
    with (made[0] / "metrics.csv").open(encoding="utf-8") as table:
        for row in csv.DictReader(table):
            value = row.get(f"valid_{task.METRIC}") or row.get(f"train_{task.METRIC}")
            if value:
                trial.report(float(value), int(row["epoch"]))
    summary: dict[str, Any] = json.loads((made[0] / "summary.json").read_text("utf-8"))
    return summary


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
    if args.torchrun and args.jobs > 1:
        raise ConfigError("--torchrun N gives each trial this machine's GPUs: use --jobs 1.")
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
    p.add_argument(
        "--torchrun",
        type=int,
        default=0,
        metavar="N",
        help="start each trial with torchrun, N processes (one per GPU); trials are not pruned",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_sweep)
