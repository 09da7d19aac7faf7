"""Running a rendered baseline project for the evidence: one Lab per (baseline, data).

A Lab renders `scaffold new DIR --defaults --no-git --data baseline=NAME` under a
temporary SCAFFOLD_HOME and trains it as a user does, one subprocess per run:
`python -m <package> train --no-progress --seed S --run-name ... --runs-dir ... --set
data.split_seed=S --set section.field=value ...`, with the rendered package on PYTHONPATH.
Each run has `threads` torch threads (THREADS unless told; evidence.py gives 1).

A pair is one seed S: both arms of a comparison train with seed S and the same data, so
the pairs differ in seed and data and the arms within a pair only by the technique. What
one pair measures depends on the lab (each run's number is its `scores`, see `score`):

- random valid split (the default): the seed is also the valid split's seed; the number is
  the run's last-epoch valid metric (and the weight average's, from metrics.csv);
- final (`final=True`): every run trains in final mode on all of `x` and is scored on the
  data's own test split (`x_test`), the same for every seed;
- repeated k-fold (`folds=K`, `repeats=R`): seed S (of the first R) is repeat S. The
  labelled default data is split into K stratified folds (shuffled with seed S, written as
  one .npz per fold with the fold as `x_test`); each (repeat, fold) is one final-mode run
  per arm, scored on its fold, and one pair, so every sample is a test sample once per
  repeat and there are R * K pairs. (With `pool` set, a pair is a repeat instead: its K
  fold runs, their scores pooled by fold size.)
- held-out photographs (`photos=FOLDER`, the unet): the run trains on its own photos and is
  scored by PSNR over whole photographs it never saw (evidence_photos.py).

The weight-average number (`scores["averaged"]`) of a final-mode run comes from its
checkpoints/averaged.pt, evaluated here on the test split, as the last weights are.

A finished run is reused (from a --work folder) only when its key matches: a hash of the
run's whole command line, the content of every file or folder given as data.source, and
the rendered project's default config. Another epoch count, size or data trains anew.

Every project command runs in a process of its own, forked from a server that has
imported torch, scikit-learn, matplotlib and the package once (evidence_fork.py): the
same command, without the 8 s of imports a new Python process spends before a 3 s run.
`fork=False` (and more than one thread a run) runs each as `python -m <package> ...`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import import_modules, new_project  # noqa: E402
from evidence_fork import Forks  # noqa: E402

THREADS = 2
TIMING_EPOCHS, TIMING_ROUNDS = 3, 3


def digest(path: Path) -> str:
    """A hash of a data source's content: a .npz's members (name, CRC-32 and size, which do
    not change when the same arrays are written again), a folder's files, a file's bytes."""
    h = hashlib.sha256()
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(file.relative_to(path)).encode())
            h.update(hashlib.sha256(file.read_bytes()).digest())
    elif path.suffix == ".npz" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                h.update(f"{info.filename}:{info.CRC}:{info.file_size};".encode())
    elif path.is_file():
        h.update(path.read_bytes())
    else:
        h.update(b"missing")
    return h.hexdigest()


class Lab:
    """A rendered baseline project and its runs; a run is trained once per (name, seed)."""

    def __init__(
        self,
        where: Path,
        key: str,
        baseline: str,
        data: str,
        epochs: int | None,
        base: Sequence[str] = (),
        jobs: int = 1,
        threads: int = THREADS,
        folds: int = 0,
        final: bool = False,
        photos: Path | None = None,
        repeats: int = 0,
        fork: bool = True,
    ) -> None:
        self.where, self.key, self.baseline, self.data_name = where / key, key, baseline, data
        self.where.mkdir(parents=True, exist_ok=True)
        self.project = self.where / f"ev-{baseline}"
        if not (self.project / "configs").is_dir():  # a --work folder keeps its project
            new_project(self.project, where / "home", f"baseline={baseline}")
        (self.package,) = [p.name for p in (self.project / "src").iterdir() if p.is_dir()]
        defaults = tomllib.loads((self.project / "configs" / "default.toml").read_text())
        self.defaults = defaults
        self.project_hash = digest(self.project / "configs" / "default.toml")
        self.override = epochs
        self.epochs = epochs or defaults["train"]["epochs"]
        self.batch_size = defaults["train"]["batch_size"]
        self.lr = defaults["optim"]["lr"]
        self.base = list(base)
        self.jobs = jobs  # runs at once
        self.threads = threads
        self.folds, self.final, self.photos = folds, final or bool(folds), photos
        self.repeats = repeats  # k-fold: the first `repeats` seeds (0: all)
        self.pool = False  # k-fold: a pair per (repeat, fold); True: a pair per repeat, pooled
        self.fold_files: dict[tuple[int, int], tuple[Path, int]] = {}
        self.runs_dir = self.where / "runs"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(self.project / "src"),  # absolute: the rendered package
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
        }
        # forking is safe with one thread: with more, OpenMP's and OpenBLAS's threads
        # already exist after the imports, and a forked child would not have them
        forking = fork and threads == 1
        self.forks = Forks(self.project, self.package, self.env, jobs) if forking else None
        self.unmeasured: list[str] = []  # claims that apply but could not run here, and why
        self.emulated_bf16_too_slow = False  # True: no bf16 training without native bf16
        self.runs: dict[str, dict[str, Any]] = {}  # run name -> record, for evidence.json
        self.pairs: dict[str, list[dict[str, Any]]] = {}  # arm name -> its pairs (in order)
        source = next((s.split("=", 1)[1] for s in self.base if s.startswith("data.source=")), "")
        self.data = self.summarize_data(source)
        self.key_metric = "psnr" if baseline == "unet" else "accuracy"
        if photos is not None:
            self.metric = "PSNR of whole held-out photos (dB)"
        elif folds:
            self.metric = "accuracy on the test fold"
        elif final:
            self.metric = "test_accuracy"
        else:
            self.metric = f"valid_{self.key_metric}"

    def module(self, name: str) -> ModuleType:
        """A module of the rendered package, imported from its src/ folder (absolute path)."""
        return import_modules(self.project, self.package, [name])[name]

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`python -m <package> ARGS` in the project folder; the caller checks the result."""
        return self.command(args)[0]

    def command(self, args: Sequence[str]) -> tuple[subprocess.CompletedProcess, float]:
        """The result of `python -m <package> ARGS` (a forked child of the lab's server, or a
        new process), and the CPU seconds it took."""
        if self.forks is not None:
            return self.forks.run(args)
        before = _children_cpu()  # with several runs at once, not this run's alone
        command = [sys.executable, "-m", self.package, *args]
        done = subprocess.run(
            command, cwd=self.project, env=self.env, capture_output=True, text=True
        )
        return done, _children_cpu() - before

    def close(self) -> None:
        """Stop the lab's fork servers (a later command starts them again)."""
        if self.forks is not None:
            self.forks.close()

    def summarize_data(self, source: str = "") -> dict[str, Any]:
        """The `data` command's summary (split sizes, mean, std ...) of the lab's data, with
        every run's settings (data.subset and the fractions show in the split sizes)."""
        out = self.where / "data" / (Path(source).stem or "default")
        extra = [item for s in self.base for item in ("--set", s)]
        done = self.cli("data", "--out", str(out), *extra)
        if done.returncode != 0:
            raise SystemExit(f"`data` failed:\n{done.stderr[-2000:]}")
        return json.loads((out / "summary.json").read_text())

    def fold_file(self, seed: int, fold: int) -> tuple[Path, int]:
        """Repeat `seed`'s fold `fold` of the default data as a .npz: the other folds as x, y
        and the fold as x_test, y_test; and the fold's size. Folds are stratified by label
        and shuffled with the seed, so each repeat tests every sample once."""
        if (seed, fold) not in self.fold_files:
            from evidence_data import write_folds

            arrays = self.module("dataset").load_default()
            written = write_folds(self.where / "folds", arrays["x"], arrays["y"], self.folds, seed)
            self.fold_files |= {(seed, f): item for f, item in enumerate(written)}
        return self.fold_files[seed, fold]

    def run_key(self, args: Sequence[str]) -> str:
        """The hash that decides whether a finished run can be reused (see the module's doc)."""
        sources = [a.split("=", 1)[1] for a in args if a.startswith("data.source=")]
        parts = {
            "args": list(args),
            "sources": {s: digest(Path(s)) for s in sources},
            "project": self.project_hash,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def train(
        self,
        name: str,
        settings: Sequence[str],
        seed: int,
        expect_failure: bool = False,
        fold: int | None = None,
    ) -> dict[str, Any]:
        """Train with `--set` each of the base settings, `settings`, and split seed `seed`
        (with `fold`: repeat `seed`'s fold `fold`, in final mode).

        The record holds the settings, wall and CPU seconds, summary.json, the per-epoch
        history and the run's scores; a run that failed (allowed only with
        `expect_failure`) holds its error line.
        """
        run_name = f"{name}-s{seed}" + ("" if fold is None else f"-f{fold}")
        if run_name in self.runs:
            if self.runs[run_name]["settings"] != list(settings):
                raise ValueError(f"run {run_name} was trained with other settings")
            return self.runs[run_name]
        run_dir = self.runs_dir / run_name
        args = ["train", "--no-progress", "--seed", str(seed)]
        args += ["--epochs", str(self.override)] if self.override else []
        every = [*self.base, f"data.split_seed={seed}", *settings]
        test_size = None
        if fold is not None:
            path, test_size = self.fold_file(seed, fold)
            every += [f"data.source={path}", "train.final=true"]
        args += [item for s in every for item in ("--set", s)]
        key = self.run_key(args)
        final = any(s == "train.final=true" for s in every)
        record: dict[str, Any] = {
            "name": run_name,
            "settings": list(settings),
            "seed": seed,
            "fold": fold,
            "test_size": test_size,
            "final": final,
            "run_dir": str(run_dir),
            "key": key,
        }
        sidecar = self.runs_dir / f"{run_name}.evidence.json"
        if (run_dir / "summary.json").is_file() and sidecar.is_file():
            kept = json.loads(sidecar.read_text())
            if kept.get("key") == key:  # finished earlier with these very settings (--work)
                record |= {
                    "returncode": 0,
                    "reused": True,
                    "summary": json.loads((run_dir / "summary.json").read_text()),
                    "history": read_history(run_dir / "metrics.csv"),
                    "scores": kept["scores"],
                }
                self.runs[run_name] = record
                return record
        shutil.rmtree(run_dir, ignore_errors=True)  # unfinished, or other settings: anew
        sidecar.unlink(missing_ok=True)
        args[1:1] = ["--run-name", run_name, "--runs-dir", str(self.runs_dir)]
        shown = " ".join(settings) or "default"
        print(f"  {self.key}/{run_name}: {shown} ...", flush=True)
        start = time.perf_counter()
        done, cpu = self.command(args)
        wall = time.perf_counter() - start
        record |= {"returncode": done.returncode, "wall_seconds": wall, "cpu_seconds": cpu}
        if done.returncode == 0:
            record["summary"] = json.loads((run_dir / "summary.json").read_text())
            record["history"] = read_history(run_dir / "metrics.csv")
            record["scores"] = self.score(record)
            sidecar.write_text(json.dumps({"key": key, "scores": record["scores"]}) + "\n")
            print(f"  {self.key}/{run_name}: {wall:.1f} s", flush=True)
        else:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            record["error"] = lines[-1] if lines else f"exit code {done.returncode}"
            if not expect_failure:
                raise SystemExit(f"{run_name} failed:\n{done.stderr[-3000:]}")
            print(f"  {self.key}/{run_name}: stopped ({wall:.1f} s): {record['error']}", flush=True)
        self.runs[run_name] = record
        return record

    def score(self, record: dict[str, Any]) -> dict[str, float]:
        """The run's numbers for the claims: `last` (the last epoch's weights) and, when the
        run kept a weight average (EMA, SWA), `averaged`. See the module's doc."""
        run_dir = Path(record["run_dir"])
        averaged = run_dir / "checkpoints" / "averaged.pt"
        if self.photos is not None:
            from evidence_photos import photo_scores

            return photo_scores(self, run_dir)
        key = self.key_metric
        if record["final"]:
            out = {"last": float(record["summary"][f"test_{key}"])}
            if averaged.is_file():
                out["averaged"] = self.evaluate(run_dir, averaged)
            return out
        row = record["history"][-1]
        out = {"last": float(record["summary"].get(f"valid_{key}", math.nan))}
        if f"avg_valid_{key}" in row:
            out["averaged"] = float(row[f"avg_valid_{key}"])
        return out

    def evaluate(self, run_dir: Path, weights: Path, split: str | None = None) -> float:
        """The key metric of the weights in `weights` on the run's held-out split."""
        import torch

        runs = self.module("runs")
        opened = runs.open_run(run_dir, "last", torch.device("cpu"))
        state = self.module("checkpoint").load(weights, map_location="cpu")
        runs.load_weights(opened.model, state["model"], weights)
        metrics = self.module("metrics").evaluate(
            opened.model.eval(), *opened.pair(split), opened.cfg.train.batch_size
        )
        return float(metrics[self.key_metric])

    def arms(
        self, configs: dict[str, Sequence[str]], seeds: Sequence[int], plain: bool = False
    ) -> dict[str, list[dict]]:
        """Several configurations (name -> settings), every seed: each one's pairs. All their
        runs go to one pool of `jobs`, so that no core waits for an arm's last seed. A
        k-fold lab trains each pair as one run per fold (unless `plain`)."""
        folds: Sequence[int | None] = range(self.folds) if self.folds and not plain else [None]
        if folds != [None] and self.repeats:
            seeds = seeds[: self.repeats]
        todo = [(name, seed, fold) for name in configs for seed in seeds for fold in folds]
        for seed in seeds if folds != [None] else []:
            self.fold_file(seed, 0)  # written before the pool starts: once, by one thread

        def one(item: tuple[str, int, int | None]) -> dict:
            name, seed, fold = item
            return self.train(name, configs[name], seed, fold=fold)

        if self.jobs == 1:
            done = [one(item) for item in todo]
        else:
            with ThreadPoolExecutor(self.jobs) as pool:  # subprocesses: threads only wait
                done = list(pool.map(one, todo))
        out: dict[str, list[dict]] = {}
        for name in configs:
            mine = [r for (n, _, _), r in zip(todo, done, strict=True) if n == name]
            if folds != [None] and self.pool:
                by_seed = {seed: [r for r in mine if r["seed"] == seed] for seed in seeds}
                mine = [pooled(f"{name}-s{s}", s, list(configs[name]), by_seed[s]) for s in seeds]
            out[name] = mine
            if not plain:
                self.pairs[name] = mine
        return out

    def arm(
        self, name: str, settings: Sequence[str], seeds: Sequence[int], plain: bool = False
    ) -> list[dict]:
        """One configuration, every seed: its pairs (see `arms`)."""
        return self.arms({name: settings}, seeds, plain)[name]

    def default(self, seeds: Sequence[int]) -> list[dict]:
        return self.arm("default", [], seeds)

    def speeds(self, configs: dict[str, list[str]]) -> dict[str, list[float]]:
        """Training samples/s of each configuration (name -> settings), one per round.

        Each of TIMING_ROUNDS rounds trains every configuration for TIMING_EPOCHS epochs with
        the round's seed, in an order that rotates from round to round, so that a slow
        spell of a shared machine hits them alike; rounds pair the arms. A run's speed is
        its training samples over its median epoch after the first (an epoch's seconds
        include its evaluation). Runs one at a time, on the lab's default data split.
        """
        names = list(configs)
        speeds: dict[str, list[float]] = {name: [] for name in names}
        for r in range(TIMING_ROUNDS):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                settings = [*configs[name], f"train.epochs={TIMING_EPOCHS}"]
                saved, self.override = self.override, None
                try:
                    run = self.train(f"time-{name}", settings, seed=r)
                finally:
                    self.override = saved
                seconds = statistics.median(row["seconds"] for row in run["history"][1:])
                speeds[name].append(self.data["sizes"]["train"] / seconds)
        return speeds

    def report_of(self, args: Sequence[str], result: Path) -> dict[str, Any]:
        """Run a project command that writes a JSON report; return the report."""
        done = self.cli(*args)
        if done.returncode != 0:
            raise SystemExit(f"`{' '.join(args)}` failed:\n{done.stderr[-2000:]}")
        return json.loads(result.read_text())


def pooled(name: str, seed: int, settings: list[str], folds: list[dict]) -> dict[str, Any]:
    """One pair of a k-fold lab: its fold runs, and their scores pooled by fold size."""
    weights = [run["test_size"] for run in folds]
    scores = {
        key: sum(w * run["scores"][key] for w, run in zip(weights, folds, strict=True))
        / sum(weights)
        for key in folds[0]["scores"]
        if all(key in run["scores"] for run in folds)
    }
    return {"name": name, "seed": seed, "settings": settings, "folds": folds, "scores": scores}


def members(pairs: Sequence[dict]) -> list[dict]:
    """The runs of some pairs: a k-fold pair's fold runs, else the pair's one run."""
    return [run for pair in pairs for run in pair.get("folds", [pair])]


def per_pair(pairs: Sequence[dict], value: Callable[[dict], float]) -> list[float]:
    """`value` of each pair's run, or of a k-fold pair's fold runs pooled by fold size."""
    out = []
    for pair in pairs:
        runs = pair.get("folds", [pair])
        weights = [run.get("test_size") or 1 for run in runs]
        out.append(sum(w * value(r) for w, r in zip(weights, runs, strict=True)) / sum(weights))
    return out


def scores(pairs: Sequence[dict], which: str = "last") -> list[float]:
    """Each pair's score `which` (`last` or `averaged`)."""
    return [pair["scores"][which] for pair in pairs]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def read_history(path: Path) -> list[dict[str, float]]:
    """metrics.csv as one dict of floats per epoch ("nan" and "" read as NaN)."""
    with path.open(newline="") as f:
        return [
            {k: float(v) if v != "" else float("nan") for k, v in row.items()}
            for row in csv.DictReader(f)
        ]
