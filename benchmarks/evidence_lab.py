"""Running a rendered baseline project for the evidence: one Lab per (baseline, data).

A Lab renders `scaffold new DIR --defaults --no-git --data baseline=NAME` under a
temporary SCAFFOLD_HOME and trains it as a user does, one subprocess per run:
`python -m <package> train --no-progress --seed S --run-name ... --runs-dir ... --set
data.split_seed=S --set section.field=value ...`, with the rendered package on PYTHONPATH.
The seed is also the split seed, so the two arms of a comparison share seed and split
within a pair, and the pairs differ in both (repeated random valid splits). Numbers come
from each run's summary.json and metrics.csv. Each run has THREADS torch threads.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import import_modules, new_project  # noqa: E402

THREADS = 2
TIMING_EPOCHS, TIMING_ROUNDS = 3, 3


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
    ) -> None:
        self.where, self.key, self.baseline, self.data_name = where / key, key, baseline, data
        self.where.mkdir(parents=True, exist_ok=True)
        self.project = self.where / f"ev-{baseline}"
        if not (self.project / "configs").is_dir():  # a --work folder keeps its project
            new_project(self.project, where / "home", f"baseline={baseline}")
        (self.package,) = [p.name for p in (self.project / "src").iterdir() if p.is_dir()]
        defaults = tomllib.loads((self.project / "configs" / "default.toml").read_text())
        self.defaults = defaults
        self.override = epochs
        self.epochs = epochs or defaults["train"]["epochs"]
        self.batch_size = defaults["train"]["batch_size"]
        self.lr = defaults["optim"]["lr"]
        self.base = list(base)
        self.jobs = jobs  # runs at once; with more than 1, cpu_seconds is not per run
        self.runs_dir = self.where / "runs"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(self.project / "src"),  # absolute: the rendered package
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
        }
        self.runs: dict[str, dict[str, Any]] = {}  # run name -> record, for evidence.json
        source = next((s.split("=", 1)[1] for s in self.base if s.startswith("data.source=")), "")
        self.data = self.summarize_data(source)

    def module(self, name: str) -> ModuleType:
        """A module of the rendered package, imported from its src/ folder (absolute path)."""
        return import_modules(self.project, self.package, [name])[name]

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`python -m <package> ARGS` in the project folder; the caller checks the result."""
        command = [sys.executable, "-m", self.package, *args]
        return subprocess.run(
            command, cwd=self.project, env=self.env, capture_output=True, text=True
        )

    def summarize_data(self, source: str = "") -> dict[str, Any]:
        """The `data` command's summary (split sizes, mean, std ...) of a data source."""
        out = self.where / "data" / (Path(source).stem or "default")
        extra = ["--data-source", source] if source else []
        done = self.cli("data", "--out", str(out), *extra)
        if done.returncode != 0:
            raise SystemExit(f"`data` failed:\n{done.stderr[-2000:]}")
        return json.loads((out / "summary.json").read_text())

    def train(
        self, name: str, settings: Sequence[str], seed: int, expect_failure: bool = False
    ) -> dict[str, Any]:
        """Train with `--set` each of the base settings, `settings`, and split seed `seed`.

        The record holds the settings, wall and CPU seconds, summary.json and the per-epoch
        history; a run that failed (allowed only with `expect_failure`) holds its error line.
        """
        run_name = f"{name}-s{seed}"
        if run_name in self.runs:
            if self.runs[run_name]["settings"] != list(settings):
                raise ValueError(f"run {run_name} was trained with other settings")
            return self.runs[run_name]
        run_dir = self.runs_dir / run_name
        if (run_dir / "summary.json").is_file():  # finished in an earlier call (--work)
            self.runs[run_name] = {
                "name": run_name,
                "settings": list(settings),
                "seed": seed,
                "run_dir": str(run_dir),
                "returncode": 0,
                "reused": True,
                "summary": json.loads((run_dir / "summary.json").read_text()),
                "history": read_history(run_dir / "metrics.csv"),
            }
            return self.runs[run_name]
        shutil.rmtree(run_dir, ignore_errors=True)  # an unfinished one starts again
        args = ["train", "--no-progress", "--seed", str(seed), "--run-name", run_name]
        args += ["--runs-dir", str(self.runs_dir)]
        args += ["--epochs", str(self.override)] if self.override else []
        every = [*self.base, f"data.split_seed={seed}", *settings]
        args += [item for s in every for item in ("--set", s)]
        print(f"  {self.key}/{run_name}: {' '.join(settings) or 'default'} ...", end="", flush=True)
        cpu = _children_cpu()
        start = time.perf_counter()
        done = self.cli(*args)
        wall = time.perf_counter() - start
        record: dict[str, Any] = {
            "name": run_name,
            "settings": list(settings),
            "seed": seed,
            "run_dir": str(run_dir),
            "returncode": done.returncode,
            "wall_seconds": wall,
            "cpu_seconds": _children_cpu() - cpu,
        }
        if done.returncode == 0:
            record["summary"] = json.loads((run_dir / "summary.json").read_text())
            record["history"] = read_history(run_dir / "metrics.csv")
            print(f" {wall:.1f} s", flush=True)
        else:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            record["error"] = lines[-1] if lines else f"exit code {done.returncode}"
            if not expect_failure:
                raise SystemExit(f"{run_name} failed:\n{done.stderr[-3000:]}")
            print(f" stopped ({wall:.1f} s): {record['error']}", flush=True)
        self.runs[run_name] = record
        return record

    def arm(self, name: str, settings: Sequence[str], seeds: Sequence[int]) -> list[dict]:
        """One configuration, every seed: the run records (`jobs` seeds at a time)."""
        if self.jobs == 1:
            return [self.train(name, settings, seed) for seed in seeds]
        with ThreadPoolExecutor(self.jobs) as pool:  # subprocesses: threads only wait
            return list(pool.map(lambda seed: self.train(name, settings, seed), seeds))

    def default(self, seeds: Sequence[int]) -> list[dict]:
        return self.arm("default", [], seeds)

    def speeds(self, configs: dict[str, list[str]]) -> dict[str, list[float]]:
        """Training samples/s of each configuration (name -> settings), one per round.

        Each of TIMING_ROUNDS rounds trains every configuration for TIMING_EPOCHS epochs with
        the round's seed, in an order that rotates from round to round, so that a slow
        spell of a shared machine hits them alike; rounds pair the arms. A run's speed is
        its training samples over its median epoch after the first (an epoch's seconds
        include its evaluation).
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
