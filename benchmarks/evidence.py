"""Evidence: do the reference's claims hold on our own cnn baseline? Small, honest experiments.

    python benchmarks/evidence.py                          # all experiments, seeds 0 1 2
    python benchmarks/evidence.py --only dsd sgdr --seeds 0 --out /tmp/evidence
    nox -s evidence

The reference is "Father to Son: Part I", a list of practical advice for training deep
models. Each experiment takes one of its claims and trains the cnn baseline's default
config with and without the technique, several seeds each, on the default data
(scikit-learn's 8x8 digits). The numbers are valid accuracy (and loss) on the train/valid
split, never --final: the test split stays unseen. Unless a row says otherwise, a run's
number is its last epoch's, so nothing is picked on the valid split. The experiments
(`--only NAME`): dsd (Dense-Sparse-Dense), sgdr (snapshot ensembles), switch (Adam, SGD
and switching between them), downsample (stride-2 convolutions or max-pooling), bn_order
(ReLU before or after BatchNorm), precision (fp32, bf16, fp16 storage) and nan (BatchNorm,
a planted NaN and the NaN guard).

Verdicts follow one rule. Each arm gives one number per seed; when the min..max ranges of
two arms overlap, the difference is "within noise", whatever the means say; when they do
not, the claim held here or the opposite held here. With 288 validation images one image
is 0.35% of accuracy, so many differences on this small data are noise, and the report
says so. A single seed has no spread and gets no verdict.

How: the cnn project is rendered once with `scaffold new DIR --defaults --no-git --data
baseline=cnn` under a temporary SCAFFOLD_HOME, and every run is a subprocess, as a user
runs it: `python -m <package> train --no-progress --seed S --run-name ... --runs-dir ...
--set section.field=value ...`, with the rendered package on PYTHONPATH (never an
installed copy). Numbers come from each run's summary.json and metrics.csv; the snapshot
ensemble from `ensemble RUN` (RUN/ensemble.json), half-precision storage from `export RUN
--half`. The default config's runs, shared by most experiments, are trained once. Every
run has 2 torch threads (OMP_NUM_THREADS=2). Speed comes from separate short runs in which
the arms take turns (`Lab.speeds`), so that a busy spell of a shared machine slows them
alike; still, it compares fairly only on an otherwise idle machine, and the report gives
the load average at its start and end.

`--epochs N` shortens every run (a third of N replaces the 10-epoch cycle, switch and DSD
phase): for checking this script quickly, not for evidence.

Results: benchmarks/results/evidence.md (claims, tables, verdicts), evidence.json (every
run's raw numbers, per-epoch history included) and evidence-<experiment>.png.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from _common import import_modules, markdown_table, meta, new_project  # noqa: E402

THREADS = 2
VALID_IMAGES = [0]  # the valid split's size, set once the project is rendered
METRIC = "valid_accuracy"  # the last epoch's; summary.json and metrics.csv both have it
LOSS = "valid_loss"
SPEED = "samples_per_second"  # from Lab.speeds: short timing runs that take turns
TIMING_EPOCHS, TIMING_ROUNDS = 4, 3
SPEED_NOTE = (
    f"Samples/s come from {TIMING_ROUNDS} rounds of {TIMING_EPOCHS}-epoch timing runs in which "
    "the arms take turns: training samples over each run's median epoch after the first."
)


# ------------------------------------------------------------------ running the project


@dataclass(eq=False)  # arms compare by identity
class Arm:
    """One configuration over seeds: a table label, a short name, and its numbers.

    `arm(key)` is one number per seed: from `numbers` when set there, else from each run's
    summary.json.
    """

    label: str
    short: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    numbers: dict[str, list[float]] = field(default_factory=dict)

    def __call__(self, key: str = METRIC) -> list[float]:
        if key in self.numbers:
            return self.numbers[key]
        return [run["summary"][key] for run in self.runs]

    def curve(self, key: str = METRIC) -> list[list[float]]:
        """Per seed, the value of `key` at every epoch (metrics.csv)."""
        return [[row[key] for row in run["history"]] for run in self.runs]


class Lab:
    """The rendered cnn project and its runs; a run is trained once per (name, seed)."""

    def __init__(self, where: Path, epochs: int | None) -> None:
        self.where = where
        self.project = new_project(where / "evidence-cnn", where / "home", "baseline=cnn")
        (self.package,) = [p.name for p in (self.project / "src").iterdir() if p.is_dir()]
        defaults = tomllib.loads((self.project / "configs" / "default.toml").read_text())
        self.override = epochs
        self.epochs = epochs or defaults["train"]["epochs"]
        self.batch_size = defaults["train"]["batch_size"]
        self.runs_dir = where / "runs"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(self.project / "src"),  # absolute: the rendered package
            "OMP_NUM_THREADS": str(THREADS),
            "MKL_NUM_THREADS": str(THREADS),
        }
        self.runs: dict[str, dict[str, Any]] = {}  # run name -> record, for evidence.json
        self.data = self.summarize_data()
        VALID_IMAGES[0] = self.data["sizes"]["valid"]

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
        """Train with `--set` each of `settings` and `seed`; return the run's record.

        The record holds the settings, wall and CPU seconds, summary.json and the per-epoch
        history; a run that failed (allowed only with `expect_failure`) holds its error line.
        """
        run_name = f"{name}-s{seed}"
        if run_name in self.runs:
            if self.runs[run_name]["settings"] != list(settings):
                raise ValueError(f"run {run_name} was trained with other settings")
            return self.runs[run_name]
        args = ["train", "--no-progress", "--seed", str(seed), "--run-name", run_name]
        args += ["--runs-dir", str(self.runs_dir)]
        args += ["--epochs", str(self.override)] if self.override else []
        args += [item for s in settings for item in ("--set", s)]
        print(f"  {run_name}: {' '.join(settings) or 'default config'} ...", end="", flush=True)
        cpu = _children_cpu()
        start = time.perf_counter()
        done = self.cli(*args)
        wall = time.perf_counter() - start
        run_dir = self.runs_dir / run_name
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
            print(f" {METRIC} {record['summary'][METRIC]:.4f} ({wall:.1f} s)", flush=True)
        else:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            record["error"] = lines[-1] if lines else f"exit code {done.returncode}"
            if not expect_failure:
                raise SystemExit(f"{run_name} failed:\n{done.stderr[-3000:]}")
            print(f" stopped ({wall:.1f} s): {record['error']}", flush=True)
        self.runs[run_name] = record
        return record

    def arm(
        self, label: str, short: str, name: str, settings: Sequence[str], seeds: Sequence[int]
    ) -> Arm:
        """One configuration, every seed."""
        return Arm(label, short, [self.train(name, settings, seed) for seed in seeds])

    def speeds(self, configs: dict[str, list[str]]) -> dict[str, list[float]]:
        """Training samples/s of each configuration (name -> settings), one per round.

        Each of TIMING_ROUNDS rounds trains every configuration for TIMING_EPOCHS epochs, in
        an order that rotates from round to round, so that a slow spell of a shared machine
        hits them alike. A run's speed is its training samples over its median epoch after
        the first (which warms up); an epoch's seconds include its evaluation.
        """
        names = list(configs)
        speeds: dict[str, list[float]] = {name: [] for name in names}
        for r in range(TIMING_ROUNDS):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                settings = [*configs[name], f"train.epochs={TIMING_EPOCHS}"]
                run = self.train(f"time-{name}-r{r}", settings, seed=r)
                seconds = statistics.median(row["seconds"] for row in run["history"][1:])
                speeds[name].append(self.data["sizes"]["train"] / seconds)
        return speeds

    def default(self, seeds: Sequence[int], label: str, short: str) -> Arm:
        """The default config's runs (trained once, whatever the experiment calls them)."""
        return self.arm(label, short, "default", [], seeds)

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
    """metrics.csv as one dict of floats per epoch ("nan" reads as NaN)."""
    with path.open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


# ------------------------------------------------------------------ numbers and verdicts


def stats(xs: Sequence[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def cell(xs: Sequence[float], digits: int = 4) -> str:
    """`mean [min..max]` over seeds, or the one value."""
    if len(xs) == 1:
        return f"{xs[0]:.{digits}f}"
    s = stats(xs)
    return f"{s['mean']:.{digits}f} [{s['min']:.{digits}f}..{s['max']:.{digits}f}]"


def compare(
    good: Arm,
    other: Arm,
    what: str,
    key: str = METRIC,
    higher: bool = True,
    outcomes: tuple[str, str] = ("the claim held here", "the opposite held here"),
) -> str:
    """One sentence: did `good` (what the reference recommends) beat `other` on `key`?

    `outcomes` say what it means when `good` won or lost beyond the seed spread.
    """
    a, b = good(key), other(key)
    digits = 0 if key == SPEED else 4
    numbers = f"{good.short} {cell(a, digits)} vs {other.short} {cell(b, digits)}"
    if min(len(a), len(b)) < 2:
        return f"{what}: {numbers}; one seed, no spread to judge the difference by."
    if max(a) < min(b) or max(b) < min(a):
        wins = (statistics.fmean(a) > statistics.fmean(b)) == higher
        outcome = outcomes[0] if wins else outcomes[1]
        if "accuracy" in key and VALID_IMAGES[0]:  # small data: say how small the gap is
            images = abs(statistics.fmean(a) - statistics.fmean(b)) * VALID_IMAGES[0]
            numbers += f" (a gap of {images:.1f} of {VALID_IMAGES[0]} valid images)"
        return f"{what}: {numbers}, apart beyond the seed spread: {outcome}."
    return f"{what}: {numbers}; the seed ranges overlap: within noise."


def rows(arms: Sequence[Arm], keys: Sequence[str]) -> list[list[Any]]:
    """Per arm: its label, `mean [min..max]` of each key, and the number of seeds."""
    return [
        [arm.label, *(cell(arm(k), 0 if k == SPEED else 4) for k in keys), len(arm())]
        for arm in arms
    ]


# ------------------------------------------------------------------ plots

Panel = Callable[[Any], None]


def figure(path: Path, title: str, panels: Sequence[Panel]) -> None:
    """Panels side by side in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5.8 * len(panels), 4.4), squeeze=False)
    for ax, draw in zip(axes[0], panels, strict=True):
        draw(ax)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bars(ylabel: str, arms: Sequence[Arm], key: str = METRIC) -> Panel:
    """A bar at each arm's mean and a dot for every seed; the y axis is zoomed to the data."""

    def draw(ax: Any) -> None:
        groups = [arm(key) for arm in arms]
        ax.bar(range(len(arms)), [statistics.fmean(xs) for xs in groups], alpha=0.5)
        for i, xs in enumerate(groups):
            ax.scatter(
                [i + 0.1 * (k - (len(xs) - 1) / 2) for k in range(len(xs))],
                xs,
                color="black",
                s=16,
                zorder=3,
            )
        ax.set_xticks(range(len(arms)), [arm.short for arm in arms], rotation=15, ha="right")
        finite = [x for xs in groups for x in xs if math.isfinite(x)]
        low, high = min(finite), max(finite)
        pad = (high - low) * 0.6 or abs(high) * 0.02 or 0.01
        bottom = max(low - pad, 0.0) if low >= 0 else low - pad
        top = min(high + pad, 1.005) if "accuracy" in key and high <= 1 else high + pad
        ax.set_ylim(bottom, top)
        ax.set_ylabel(ylabel + (" (axis zoomed)" if bottom > 0 else ""))
        ax.set_title(f"{ylabel}: mean (bar), each run (dot)")

    return draw


def curves(ylabel: str, arms: Sequence[Arm], marks: Sequence[float] = (), key=METRIC) -> Panel:
    """Per epoch, the mean over seeds and a min..max band; dashed lines at `marks`."""

    def draw(ax: Any) -> None:
        for arm in arms:
            runs = arm.curve(key)
            length = min(len(r) for r in runs)
            columns = [[r[e] for r in runs] for e in range(length)]
            epochs = range(1, length + 1)
            (line,) = ax.plot(epochs, [statistics.fmean(c) for c in columns], label=arm.short)
            low, high = [min(c) for c in columns], [max(c) for c in columns]
            ax.fill_between(epochs, low, high, color=line.get_color(), alpha=0.15)
        for x in marks:
            ax.axvline(x, color="gray", linestyle="--", linewidth=1)
        late = [x for arm in arms for r in arm.curve(key) for x in r[len(r) // 3 :]]
        finite = [x for x in late if math.isfinite(x)]
        if finite:  # show the later epochs, where the arms differ, in detail
            ax.set_ylim(max(0.0, min(finite) - 0.01), min(1.0, max(finite) + 0.005))
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{ylabel} per epoch: mean over seeds, min..max band")
        ax.legend(fontsize=8)

    return draw


# ------------------------------------------------------------------ the experiments


def exp_dsd(lab: Lab, seeds: Sequence[int], out: Path) -> dict[str, Any]:
    dense = lab.default(seeds, "dense (default)", "dense")
    dsd = lab.arm("DSD (thirds, sparsity 0.5)", "DSD", "dsd", ["dsd.enabled=true"], seeds)
    table_rows = rows([dense, dsd], [METRIC, LOSS, "best_valid_accuracy"])
    phases = {
        p: [run["summary"]["dsd"][p] for run in dsd.runs] for p in dsd.runs[0]["summary"]["dsd"]
    }
    table_rows += [
        [f"DSD at the end of its {p} phase", cell(v), "", "", len(v)] for p, v in phases.items()
    ]
    third = lab.epochs // 3
    sparsity = [run["history"][third]["sparsity"] for run in dsd.runs]  # first sparse epoch
    accuracy = compare(dsd, dense, "Valid accuracy")
    figure(
        out / "evidence-dsd.png",
        "Dense-Sparse-Dense vs dense training, equal epochs (cnn, digits)",
        [
            bars("valid accuracy", [dense, dsd]),
            curves("valid accuracy", [dense, dsd], [third + 0.5, 2 * third + 0.5]),
        ],
    )
    return {
        "title": "Dense-Sparse-Dense training",
        "claim": '"Use Dense Sparse Dense (DSD training) ... same Model, same Dataset and DSD will '
        'increase your model capacity"',
        "setup": f"{lab.epochs} epochs either way. DSD: `dsd.enabled=true`, a third dense, a third "
        f"pruned to 50% per layer (measured sparsity of the prunable weights "
        f"{cell(sparsity, 3)}), a third dense again at lr/10; the phase rows are summary.json's "
        "`dsd` (valid accuracy at the end of each phase). The plot's dashed lines are the "
        "phase changes.",
        "table": markdown_table(
            ["arm", "valid accuracy", "valid loss", "best epoch's valid accuracy", "n"], table_rows
        ),
        "verdict": f"{accuracy} {compare(dsd, dense, 'Valid loss', LOSS, higher=False)}",
        "summary": accuracy,
        "numbers": {"dense": dense(), "dsd": dsd(), "dsd_phases": phases, "sparsity": sparsity},
    }


def exp_sgdr(lab: Lab, seeds: Sequence[int], out: Path) -> dict[str, Any]:
    t0 = lab.epochs // 3
    dense = lab.default(seeds, "dense, constant rate (default)", "dense")
    sgdr = lab.arm("SGDR run", "SGDR", "sgdr", ["schedule.kind=sgdr", f"schedule.t0={t0}"], seeds)
    reports = []
    for run in sgdr.runs:  # one call scores the snapshots and both the uniform and linear mix
        folder = Path(run["run_dir"])
        run["ensemble"] = lab.report_of(
            ["ensemble", str(folder), "--weights", "linear"], folder / "ensemble.json"
        )
        reports.append(run["ensemble"])

    def arm(label: str, short: str, pick: Callable[[dict], dict]) -> Arm:
        picked = [pick(r) for r in reports]
        numbers = {METRIC: [p["accuracy"] for p in picked], LOSS: [p["loss"] for p in picked]}
        return Arm(label, short, sgdr.runs, numbers)

    best = arm(
        "SGDR, best single snapshot (picked on valid)", "best snapshot", lambda r: r["best_single"]
    )
    last = arm(
        "SGDR, last snapshot (the run's final model)", "last snapshot", lambda r: r["snapshots"][-1]
    )
    uniform = arm("snapshot ensemble, uniform weights", "uniform ensemble", lambda r: r["uniform"])
    linear = arm(
        "snapshot ensemble, linear weights (1, 2, 3)", "linear ensemble", lambda r: r["weighted"]
    )
    arms = [dense, best, last, uniform, linear]
    marks = [t0 * k + 0.5 for k in range(1, lab.epochs // t0)]
    figure(
        out / "evidence-sgdr.png",
        f"Snapshot ensemble of one SGDR run (t0={t0}) vs single models (cnn, digits)",
        [bars("valid accuracy", arms), curves("valid accuracy", [dense, sgdr], marks)],
    )
    snapshot_epochs = [s["epoch"] for s in reports[0]["snapshots"]]
    summary = " ".join(
        [
            compare(linear, best, "The ensemble vs its best member"),
            compare(linear, dense, "The ensemble vs one ordinary run"),
            compare(linear, uniform, "Weighting later snapshots more"),
        ]
    )
    return {
        "title": "Snapshot ensembles with SGD restarts",
        "claim": '"use SGD with restarts and create a snapshot at each minima, later combine them '
        "to get an ensemble ... Take the weighted average of their predictions, weighting later "
        'snapshots more"',
        "setup": f"`schedule.kind=sgdr schedule.t0={t0}`: the rate falls from optim.lr (Adam 1e-3) "
        f"to 0 along a cosine every {t0} epochs, with a snapshot at epochs {snapshot_epochs}; "
        "then `ensemble RUN --weights linear`, whose report holds the uniform and the linear "
        "average of the snapshots' predicted probabilities (the same numbers as `--weights "
        "uniform` gives). The dense run is the default config (constant rate), last epoch.",
        "table": markdown_table(
            ["model", "valid accuracy", "valid loss", "n"], rows(arms, [METRIC, LOSS])
        ),
        "verdict": f"{summary} {compare(linear, uniform, 'The same by valid loss', LOSS, False)}",
        "summary": summary,
        "numbers": {a.short: {METRIC: a(), LOSS: a(LOSS)} for a in arms},
    }


def exp_switch(lab: Lab, seeds: Sequence[int], out: Path) -> dict[str, Any]:
    steps = math.ceil(lab.data["sizes"]["train"] / lab.batch_size)
    at = lab.epochs // 3
    adam = lab.default(seeds, "Adam alone (default, lr 1e-3)", "Adam")
    plan = lab.arm(
        f"plan: Adam {at} epochs, then SGD lr 0.05",
        "plan",
        "plan",
        ["switch.mode=plan", f"switch.at_epoch={at}", "switch.lr=0.05"],
        seeds,
    )
    swats = lab.arm("SWATS (its defaults)", "SWATS", "swats", ["switch.mode=swats"], seeds)
    sgd = lab.arm(
        "SGD alone (lr 0.05, momentum 0.9)",
        "SGD",
        "sgd",
        ["optim.name=sgd", "optim.lr=0.05", "optim.momentum=0.9"],
        seeds,
    )
    arms = [adam, plan, swats, sgd]
    note = ""
    if not any(run["summary"]["switch"]["switched"] for run in swats.runs):
        # its default tolerance never fired: also try the relative one that switch.py measured
        relative = ["switch.mode=swats", "switch.relative=true", "switch.tolerance=0.01"]
        try:
            arms.append(
                lab.arm(
                    "SWATS, relative tolerance 0.01", "SWATS rel.", "swats-rel", relative, seeds
                )
            )
            note = (
                " SWATS never switched with its defaults, so it trained as Adam alone; the "
                "extra row uses `switch.relative=true switch.tolerance=0.01`."
            )
        except SystemExit as err:
            note = f" SWATS never switched with its defaults; a relative tolerance failed: {err}"

    def when(run: dict) -> str:
        s = run["summary"]["switch"]
        if not s["switched"]:
            return f"never ({s['steps']} steps)"
        epoch = math.ceil(s["switch_step"] / steps)
        return f"step {s['switch_step']} (epoch {epoch}), SGD lr {s['sgd_lr']:.3g}"

    switching = [arm for arm in arms if arm is not adam and arm is not sgd]
    table_rows = rows(arms, [METRIC, LOSS])
    for row, arm in zip(table_rows, arms, strict=True):
        row.insert(-1, "; ".join(when(run) for run in arm.runs) if arm in switching else "-")
    figure(
        out / "evidence-switch.png",
        "Optimizers: Adam, SGD, and switching from Adam to SGD (cnn, digits)",
        [bars("valid accuracy", arms), curves("valid accuracy", arms, [at + 0.5])],
    )
    verdict = " ".join(
        [compare(arm, adam, f"Switching ({arm.short}) vs Adam alone") for arm in switching]
        + [compare(adam, sgd, 'Adam alone vs SGD alone ("switch to Adam and chill")')]
    )
    return {
        "title": "Switching optimizers (and Adam alone)",
        "claim": '"Switch Optimizers ... make switch between them to get the most efficiently '
        'trained models"; and "Don\'t bother with Manual weight decay, switch to Adam Optimizer '
        'and Chill"',
        "setup": f"{lab.epochs} epochs of {steps} steps. plan: `switch.mode=plan "
        f"switch.at_epoch={at} switch.lr=0.05` (the dashed line); SWATS: `switch.mode=swats`, "
        "which switches once its estimate of SGD's rate settles (summary.json's `switch`); "
        "SGD alone: `optim.name=sgd optim.lr=0.05 optim.momentum=0.9`." + note,
        "table": markdown_table(
            ["optimizer", "valid accuracy", "valid loss", "switched at", "n"], table_rows
        ),
        "verdict": verdict,
        "summary": verdict,
        "numbers": {a.short: {METRIC: a(), LOSS: a(LOSS)} for a in arms},
        "switch": {a.short: [r["summary"]["switch"] for r in a.runs] for a in arms},
    }


def exp_downsample(lab: Lab, seeds: Sequence[int], out: Path) -> dict[str, Any]:
    stride = lab.default(seeds, "stride-2 convolutions (default)", "stride-2")
    pool = lab.arm(
        "stride-1 convolutions + 2x2 max-pool",
        "max-pool",
        "maxpool",
        ["model.downsample=maxpool"],
        seeds,
    )
    timed = lab.speeds({"stride": [], "maxpool": ["model.downsample=maxpool"]})
    stride.numbers[SPEED], pool.numbers[SPEED] = timed["stride"], timed["maxpool"]
    table_rows = rows([stride, pool], [METRIC, LOSS, SPEED])
    for row, arm in zip(table_rows, [stride, pool], strict=True):
        row.insert(-1, f"{arm.runs[0]['summary']['parameters']:,}")
    figure(
        out / "evidence-downsample.png",
        "Downsampling: stride-2 convolutions vs max-pooling (cnn, digits)",
        [bars("valid accuracy", [stride, pool]), bars("training samples/s", [stride, pool], SPEED)],
    )
    verdict = " ".join(
        [
            compare(stride, pool, "Valid accuracy"),
            compare(stride, pool, "Training speed (samples/s)", SPEED),
        ]
    )
    return {
        "title": "Stride-2 convolutions instead of max-pooling",
        "claim": '"Don\'t use Max-pools, replace them with stride-2 convolutions."',
        "setup": "`model.downsample=maxpool`: the two downsampling convolutions run at stride 1 "
        "and a 2x2 max-pool ends their block; same output shapes, same parameters. " + SPEED_NOTE,
        "table": markdown_table(
            ["downsampling", "valid accuracy", "valid loss", "samples/s", "parameters", "n"],
            table_rows,
        ),
        "verdict": verdict,
        "summary": verdict,
        "numbers": {a.short: {METRIC: a(), LOSS: a(LOSS), SPEED: a(SPEED)} for a in (stride, pool)},
    }


def exp_bn_order(lab: Lab, seeds: Sequence[int], out: Path) -> dict[str, Any]:
    relu_bn = lab.default(seeds, "ReLU then BatchNorm (default)", "ReLU-then-BN")
    bn_relu = lab.arm(
        "BatchNorm then ReLU", "BN-then-ReLU", "bn_relu", ["model.bn_order=bn_relu"], seeds
    )
    figure(
        out / "evidence-bn_order.png",
        "ReLU before or after BatchNorm (cnn, digits)",
        [bars("valid accuracy", [relu_bn, bn_relu]), curves("valid accuracy", [relu_bn, bn_relu])],
    )
    accuracy = compare(relu_bn, bn_relu, "Valid accuracy")
    return {
        "title": "ReLU before BatchNorm",
        "claim": '"Use ReLU before, not after the Batch Norm"',
        "setup": "`model.bn_order=bn_relu` against the default `relu_bn`, in every block.",
        "table": markdown_table(
            ["order", "valid accuracy", "valid loss", "n"], rows([relu_bn, bn_relu], [METRIC, LOSS])
        ),
        "verdict": f"{accuracy} {compare(relu_bn, bn_relu, 'Valid loss', LOSS, higher=False)}",
        "summary": accuracy,
        "numbers": {a.short: {METRIC: a(), LOSS: a(LOSS)} for a in (relu_bn, bn_relu)},
    }


def exp_precision(lab: Lab, seeds: Sequence[int], out: Path) -> dict[str, Any]:
    default = lab.default(seeds, "", "")
    chosen = default.runs[0]["summary"]["precision"]  # what `auto` picked on this machine
    arms = {}
    for mode in ("fp32", "bf16"):
        if mode == chosen:  # the default runs are these: train them once
            arms[mode] = Arm(f"{mode} (the default here: auto)", mode, default.runs)
        else:
            arms[mode] = lab.arm(mode, mode, mode, [f"precision.mode={mode}"], seeds)
    fp32, bf16 = arms["fp32"], arms["bf16"]
    timed = lab.speeds({mode: [f"precision.mode={mode}"] for mode in arms})
    fp32.numbers[SPEED], bf16.numbers[SPEED] = timed["fp32"], timed["bf16"]
    exports = []
    for run in fp32.runs:
        folder = Path(run["run_dir"])
        run["export"] = lab.report_of(
            ["export", str(folder), "--half"], folder / "export" / "model-fp16.json"
        )
        exports.append(run["export"])
    full = Arm(
        "fp32 run, its best checkpoint",
        "fp32 best ckpt",
        fp32.runs,
        {METRIC: [e["fp32_accuracy"] for e in exports]},
    )
    half = Arm(
        "the same weights stored in fp16 (`export --half`)",
        "its fp16 copy",
        fp32.runs,
        {METRIC: [e["fp16_accuracy"] for e in exports]},
    )
    sizes = [exports[0]["fp32_bytes"], exports[0]["fp16_bytes"]]
    export_rows = [
        [a.label, cell(a()), f"{size:,}", len(a())]
        for a, size in zip((full, half), sizes, strict=True)
    ]
    diffs = [e["difference"] for e in exports]
    cost = "none" if not any(diffs) else f"at most {max(abs(d) for d in diffs):.4f}"
    figure(
        out / "evidence-precision.png",
        "fp32 vs bf16 training, and fp16 storage of the weights (cnn, digits, CPU)",
        [
            bars("valid accuracy", [fp32, bf16, full, half]),
            bars("training samples/s", [fp32, bf16], SPEED),
        ],
    )
    accuracy = compare(bf16, fp32, "Accuracy of bf16 training", higher=True)
    storage = (
        f"Storing the fp32-trained weights in fp16 changed valid accuracy by {cell(diffs)} and "
        f"the file from {sizes[0]:,} to {sizes[1]:,} bytes ({sizes[1] / sizes[0]:.0%}): half the "
        f"size held, at an accuracy cost of {cost}."
    )
    return {
        "title": "Half precision",
        "claim": "\"Use Half Tensors (Float16) ... it doesn't affect accuracy much if at all and "
        "you slash your parameter size in half, also Volta and later architectures support half "
        'tensors so your model speeds up as well"',
        "setup": "On a CPU, 16-bit training means bf16 autocast (`precision.mode=bf16`; fp16 "
        f"is for CUDA); `auto` chose {chosen} here. channels_last is on in both. {SPEED_NOTE} "
        "Then `export "
        "RUN --half` on each fp32 run: its best checkpoint stored in fp16, evaluated on the "
        "valid split (the fp16 weights loaded into an fp32 model on the CPU).",
        "table": markdown_table(
            ["training precision", "valid accuracy", "valid loss", "samples/s", "n"],
            rows([fp32, bf16], [METRIC, LOSS, SPEED]),
        )
        + "\n\n"
        + markdown_table(["weights", "valid accuracy", "file bytes", "n"], export_rows),
        "verdict": f"{accuracy} {compare(bf16, fp32, 'Training speed (samples/s)', SPEED)} "
        f"{storage}",
        "summary": f"{accuracy} {storage}",
        "numbers": {
            "fp32": {METRIC: fp32(), LOSS: fp32(LOSS), SPEED: fp32(SPEED)},
            "bf16": {METRIC: bf16(), LOSS: bf16(LOSS), SPEED: bf16(SPEED)},
            "export": exports,
        },
    }


# experiment 7: BatchNorm and bad inputs

OUTLIER = 1e4  # a finite glitch in one pixel; clean pixels lie in [0, 1]


def planted_data(folder: Path, value: float) -> tuple[Path, int]:
    """The default digits as a .npz with `value` planted in one pixel of one training image.

    The image comes from the project's training split: data.py carves the test split off
    with seed 12345 and the valid split with split_seed 0, both stratified by label, and the
    same calls on the indices give the same permutation (`exp_nan` checks it landed there).
    """
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images.astype(np.float32) / 16.0)[:, None]  # as the project's dataset.py
    y = digits.target.astype(np.int64)
    rest, _ = train_test_split(np.arange(len(y)), test_size=0.2, random_state=12345, stratify=y)
    train, _ = train_test_split(rest, test_size=0.2, random_state=0, stratify=y[rest])
    image = int(train[0])
    x[image, 0, 4, 4] = value
    path = folder / ("digits-nan.npz" if math.isnan(value) else f"digits-{value:g}.npz")
    np.savez(path, x=x, y=y)
    return path, image


def spread(xs: Sequence[float]) -> str:
    """`min..max` in 3 significant digits (numbers of any scale)."""
    low, high = f"{min(xs):.3g}", f"{max(xs):.3g}"
    return low if low == high else f"{low}..{high}"


def weights_report(run: dict) -> dict[str, Any]:
    """Non-finite weights in the run's last checkpoint, and its input normalisation."""
    import torch

    state = torch.load(Path(run["run_dir"]) / "checkpoints" / "last.pt", weights_only=True)
    model = state["model"]
    # trained weights only: not BatchNorm's running statistics, nor Normalize's (layer 0)
    learned = [
        v
        for k, v in model.items()
        if v.is_floating_point() and "running" not in k and not k.startswith("0.")
    ]
    run["weights"] = {
        "nonfinite_weights": sum(int((~torch.isfinite(v)).sum()) for v in learned),
        "weights": sum(v.numel() for v in learned),
        "input_mean": float(model["0.mean"]),
        "input_std": float(model["0.std"]),
    }
    return run["weights"]


def batchnorm_probe(lab: Lab, run: dict) -> dict[str, float]:
    """How a trained model's BatchNorm sees the (clean) valid split, from its last checkpoint.

    Eval mode divides by the running variance gathered during training; "batch statistics"
    evaluates the same weights with BatchNorm in train mode (each batch of 64 normalised by
    its own statistics, on a throwaway copy). At the first BatchNorm: the median over
    channels of running variance / the variance its valid inputs actually have.
    """
    import torch

    torch.set_num_threads(THREADS)
    runs, data = lab.module("runs"), lab.module("data")
    cfg, state = runs.load_run(Path(run["run_dir"]), "last")
    splits = data.load(cfg.data)
    model = runs.make_model(cfg, splits)
    model.load_state_dict(state["model"])
    x, y = splits.valid
    first = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    inputs: list[torch.Tensor] = []
    hook = first.register_forward_hook(lambda _m, args, _out: inputs.append(args[0]))

    def accuracy() -> float:
        right = sum(
            int((model(x[i : i + 64]).argmax(1) == y[i : i + 64]).sum())
            for i in range(0, len(x), 64)
        )
        return right / len(x)

    with torch.no_grad():
        model.eval()
        running = accuracy()
        hook.remove()
        actual = torch.cat(inputs).var(dim=(0, 2, 3))
        ratio = float((first.running_var / actual).median())
        model.train()
        batch = accuracy()
    run["batchnorm"] = {
        "eval_accuracy": running,
        "batch_stats_accuracy": batch,
        "first_bn_running_to_actual_var": ratio,
    }
    return run["batchnorm"]


def exp_nan(lab: Lab, seeds: Sequence[int], out: Path) -> dict[str, Any]:
    folder = lab.where / "planted"
    folder.mkdir(exist_ok=True)
    nan_file, image = planted_data(folder, float("nan"))
    big_file, _ = planted_data(folder, OUTLIER)
    if not math.isnan(lab.summarize_data(str(nan_file))["mean"]):
        raise SystemExit(f"the NaN planted in image {image} did not land in the training split")
    nan, big, off = f"data.source={nan_file}", f"data.source={big_file}", "model.batchnorm=false"
    short = f"train.epochs={min(5, lab.epochs)}"  # every step is NaN from the first: 5 show it
    seed = seeds[0]
    guarded = {
        "on": lab.train("nan-guard-bn", [nan], seed, expect_failure=True),
        "off": lab.train("nan-guard-nobn", [nan, off], seed, expect_failure=True),
    }
    unguarded = {
        "on": lab.train("nan-noguard-bn", [nan, "train.nan_guard=false", short], seed),
        "off": lab.train("nan-noguard-nobn", [nan, "train.nan_guard=false", short, off], seed),
    }
    glitch = f"one pixel = {OUTLIER:g}"
    clean_on = lab.default(seeds, "clean data, BatchNorm on (default)", "clean, BN")
    clean_off = lab.arm("clean data, BatchNorm off", "clean, no BN", "clean-nobn", [off], seeds)
    big_on = lab.arm(f"{glitch}, BatchNorm on", f"{OUTLIER:g}, BN", "big-bn", [big], seeds)
    big_off = lab.arm(
        f"{glitch}, BatchNorm off", f"{OUTLIER:g}, no BN", "big-nobn", [big, off], seeds
    )
    arms = [clean_on, clean_off, big_on, big_off]

    # the table: what each run did
    train_acc = "train_accuracy"  # the training pass's (train mode), last epoch
    table_rows = []
    for bn, run in guarded.items():
        outcome = run.get("error", "trained to the end: the guard did not fire")
        outcome = outcome.removeprefix("error: ").split(". Try")[0]  # the advice is in the JSON
        table_rows.append(["one NaN pixel", bn, "on", outcome, "-", "-", "-", "-"])
    for bn, run in unguarded.items():
        w = weights_report(run)
        losses = [row["train_loss"] for row in run["history"]]
        outcome = f"{len(losses)} epochs, train loss NaN in {sum(map(math.isnan, losses))}"
        table_rows.append(
            [
                "one NaN pixel",
                bn,
                "off",
                outcome,
                f"{run['summary'][train_acc]:.4f}",
                f"{run['summary'][METRIC]:.4f}",
                f"{w['nonfinite_weights']:,} of {w['weights']:,}",
                f"{w['input_std']:.4g}",
            ]
        )
    for arm in arms:
        reports = [weights_report(run) for run in arm.runs]
        worst = max(w["nonfinite_weights"] for w in reports)
        data, bn = arm.label.split(", BatchNorm ")
        table_rows.append(
            [
                data,
                bn.split(" ")[0],
                "on",
                f"{lab.epochs} epochs",
                cell(arm(train_acc)),
                cell(arm()),
                f"{worst:,} of {reports[0]['weights']:,}",
                f"{reports[0]['input_std']:.4g}",
            ]
        )
    # the second table: BatchNorm's view of the valid split, with and without the glitch
    probes = {
        arm.short: [batchnorm_probe(lab, run) for run in arm.runs] for arm in (clean_on, big_on)
    }
    probe_rows = [
        [
            label,
            cell([p["eval_accuracy"] for p in ps]),
            cell([p["batch_stats_accuracy"] for p in ps]),
            spread([p["first_bn_running_to_actual_var"] for p in ps]),
            len(ps),
        ]
        for label, ps in probes.items()
    ]

    # the verdict: the NaN first
    stops = [run.get("error", "") for run in guarded.values()]
    pattern = r"Non-finite loss (at epoch \d+, step \d+): first produced by (.+?)\. "
    found = [re.search(pattern, e) for e in stops]
    if all(found) and all(run["returncode"] == 1 for run in guarded.values()):
        places = sorted({f"{m.group(1)}, naming {m.group(2)}" for m in found if m})
        text = "With the guard on, both NaN runs (BatchNorm on and off) stopped "
        text += " and ".join(places) + "."
    else:
        text = f"With the guard on: {' / '.join(s or 'no stop' for s in stops)}."
    guard = text
    if all(math.isnan(row["train_loss"]) for r in unguarded.values() for row in r["history"]):
        every = all(
            r["weights"]["nonfinite_weights"] == r["weights"]["weights"] for r in unguarded.values()
        )
        text += (
            f" Without the guard, one NaN pixel in one of {lab.data['sizes']['train']} training "
            "images made the input normalisation's statistics (computed over the whole training "
            "split) NaN, so every batch's loss was NaN from the first step, with BatchNorm and "
            "without"
            + ("; every trained weight ended NaN in both" if every else "")
            + ". BatchNorm did not bound or hide a NaN here: the run failed loudly either way."
        )
    else:
        losses = {bn: [row["train_loss"] for row in r["history"]] for bn, r in unguarded.items()}
        text += f" Without the guard, the train loss per epoch was {losses}."

    # then the finite glitch
    def mean(values: Sequence[float]) -> float:
        return statistics.fmean(values)

    clean_std, big_std = (arm.runs[0]["weights"]["input_std"] for arm in (clean_on, big_on))
    big_probe = probes[big_on.short]
    text += (
        f" A finite glitch ({OUTLIER:g} in the same pixel) gave the guard nothing to catch, but "
        f"it raised the input std the model divides by from {clean_std:.3g} to {big_std:.3g}, "
        f"squeezing every clean image about {big_std / clean_std:.0f}-fold towards a constant. "
        f"With BatchNorm the training pass reached train accuracy {cell(big_on(train_acc))} "
        f"while valid accuracy was {cell(big_on())}; without it, {cell(big_off(train_acc))} "
        f"and {cell(big_off())}."
    )
    glitch_summary = (
        f"A {OUTLIER:g}-valued pixel: with BatchNorm train accuracy {cell(big_on(train_acc))}, "
        f"valid {cell(big_on())}; without, {cell(big_off(train_acc))} and {cell(big_off())}."
    )
    if mean(big_on(train_acc)) > 0.9 and max(big_on()) < min(clean_on()):
        text += (
            " So BatchNorm hid the bad input while training, as the reference warns: in train "
            "mode it normalises each batch by the batch's own statistics and the run looked "
            "healthy, but evaluation divides by the running variance, which the batches "
            "holding the glitch had inflated to "
            f"{spread([p['first_bn_running_to_actual_var'] for p in big_probe])} times the "
            "variance of clean inputs at the first BatchNorm; with each batch's own statistics "
            f"the same weights score {cell([p['batch_stats_accuracy'] for p in big_probe])} "
            "on the valid split."
        )
    if max(big_off(train_acc)) < min(clean_off(train_acc)):
        text += (
            " Without BatchNorm the bug showed where one looks first, in the training accuracy "
            f"({cell(big_off(train_acc))} against {cell(clean_off(train_acc))} on clean data)"
        )
        if abs(mean(big_off(train_acc)) - mean(big_off())) < 0.05:
            text += ", and valid accuracy matched it: nothing was hidden"
        text += "."
    text += " " + compare(
        clean_on,
        clean_off,
        "On clean data, BatchNorm on vs off",
        outcomes=("BatchNorm helped", "BatchNorm hurt"),
    )
    figure(
        out / "evidence-nan.png",
        f"BatchNorm and a bad input: clean data vs {glitch} (guard on)",
        [
            bars("train accuracy (train mode)", arms, train_acc),
            bars("valid accuracy", arms),
            curves("valid accuracy", arms),
        ],
    )
    return {
        "title": "BatchNorm, a planted NaN, and the NaN guard",
        "claim": '"You can add a BatchNorm but always keep a precaution switch in mind. While '
        "rare, the BatchNorm puts an upper limit to the NaN activation values if present. You "
        "might lose sanity debugging your model watching everything work perfectly but still "
        'not getting your model to converge."',
        "setup": "The default digits written to a .npz (`--data-source`; the same splits) with "
        f"one pixel of training image {image} set to NaN, or to {OUTLIER:g} (clean pixels lie "
        "in [0, 1]). BatchNorm off: `model.batchnorm=false`; guard off: "
        f"`train.nan_guard=false`. The NaN runs use seed {seed}; without the guard they train "
        f"{short.split('=')[1]} epochs. Train accuracy is the training pass's (train mode); "
        "non-finite weights are counted in the last checkpoint (trained weights only); input "
        "std is the model's Normalize layer, set from the training split. The second table "
        "evaluates the last checkpoints of the BatchNorm runs on the valid split with "
        "BatchNorm's running statistics (eval mode, as reported) and with each batch's own.",
        "table": markdown_table(
            [
                "data",
                "BatchNorm",
                "guard",
                "outcome",
                "train accuracy",
                "valid accuracy",
                "non-finite weights (worst run)",
                "input std",
            ],
            table_rows,
        )
        + "\n\n"
        + markdown_table(
            [
                "BatchNorm runs",
                "valid accuracy, running statistics",
                "valid accuracy, batch statistics",
                "first BatchNorm: running var / actual var",
                "n",
            ],
            probe_rows,
        ),
        "verdict": text,
        "summary": f"{guard} {glitch_summary}",
        "numbers": {
            "guarded": {bn: run.get("error") for bn, run in guarded.items()},
            "unguarded": {
                bn: {"history": run["history"], "weights": run["weights"]}
                for bn, run in unguarded.items()
            },
            "accuracy": {a.short: a() for a in arms},
            "train_accuracy": {a.short: a(train_acc) for a in arms},
            "input_std": {a.short: [r["weights"]["input_std"] for r in a.runs] for a in arms},
            "batchnorm_probe": probes,
        },
    }


EXPERIMENTS: dict[str, Callable[[Lab, Sequence[int], Path], dict[str, Any]]] = {
    "dsd": exp_dsd,
    "sgdr": exp_sgdr,
    "switch": exp_switch,
    "downsample": exp_downsample,
    "bn_order": exp_bn_order,
    "precision": exp_precision,
    "nan": exp_nan,
}


# ------------------------------------------------------------------ the report


def report(meta: dict[str, Any], results: dict[str, dict[str, Any]]) -> str:
    sizes = meta["data_sizes"]
    lines = [
        "# Evidence: the reference's claims tested on the cnn baseline",
        "",
        "Each claim of `Father to Son: Part I` tested here is run with the cnn baseline's "
        "default config, with and without the technique, on the default data (scikit-learn "
        "digits, 8x8), as `benchmarks/evidence.py` describes. Numbers are valid-split, last "
        'epoch, over seeds: cells read `mean [min..max]`. "Within noise" means the arms\' '
        "seed ranges overlap.",
        "",
        f"- machine: {meta['machine']}; torch {meta['torch']}, {meta['torch_threads']} threads "
        f"per run; Python {meta['python']}",
        f"- load average (1 min) at start {meta['load_start']:.2f}, at end {meta['load_end']:.2f} "
        "(samples/s compare fairly only on an idle machine)",
        f"- date: {meta['date']}",
        f"- command: `{meta['command']}`",
        f"- wall time: {meta['wall_seconds']:.0f} s, {meta['runs']} training runs",
        f"- data: train {sizes['train']}, valid {sizes['valid']} images (one image = "
        f"{1 / sizes['valid']:.2%} of accuracy); test {sizes['test']}, never used",
        f"- epochs per run: {meta['epochs']}; training precision of the default config here: "
        f"{meta['default_precision']} (`precision.mode=auto`)",
        f"- seeds: {', '.join(map(str, meta['seeds']))}",
        "",
        "## Summary",
        "",
        markdown_table(["claim", "result"], [[r["title"], r["summary"]] for r in results.values()]),
        "",
    ]
    for number, (name, r) in enumerate(results.items(), 1):
        lines += [
            f"## {number}. {r['title']} (`--only {name}`)",
            "",
            f"Claim: {r['claim']}",
            "",
            r["setup"],
            "",
            r["table"],
            "",
            f"![{r['title']}](evidence-{name}.png)",
            "",
            f"**Verdict.** {r['verdict']}",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(EXPERIMENTS),
        metavar="NAME",
        help=f"run only these experiments: {', '.join(EXPERIMENTS)}",
    )
    parser.add_argument("--epochs", type=int, help="shorter runs, to check this script quickly")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    names = args.only or list(EXPERIMENTS)
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="evidence-") as tmp:
        lab = Lab(Path(tmp), args.epochs)
        stage = Path(tmp) / "results"  # everything lands in --out at the end, or nothing does
        stage.mkdir()
        for name in names:
            print(f"{name} ({time.perf_counter() - started:.0f} s so far)", flush=True)
            results[name] = EXPERIMENTS[name](lab, args.seeds, stage)
            results[name]["plot"] = f"evidence-{name}.png"
        default = lab.train("default", [], args.seeds[0])  # trained already by any experiment
        info = meta(
            THREADS,
            command=" ".join(["python", "benchmarks/evidence.py", *sys.argv[1:]]),
            seeds=args.seeds,
            epochs=lab.epochs,
            experiments=names,
            wall_seconds=time.perf_counter() - started,
            cpu_seconds_of_runs=sum(run["cpu_seconds"] for run in lab.runs.values()),
            runs=len(lab.runs),
            load_start=load_start,
            load_end=os.getloadavg()[0],
            data_sizes=lab.data["sizes"],
            default_precision=default["summary"]["precision"],
        )
        data = {"meta": info, "experiments": results, "runs": lab.runs}
        (stage / "evidence.json").write_text(json.dumps(data, indent=2) + "\n")
        text = report(info, results)
        (stage / "evidence.md").write_text(text)
        args.out.mkdir(parents=True, exist_ok=True)
        for path in sorted(stage.iterdir()):  # each file replaced whole, never half-written
            shutil.copyfile(path, args.out / f".{path.name}.tmp")
            os.replace(args.out / f".{path.name}.tmp", args.out / path.name)
    print(text)


if __name__ == "__main__":
    main()
