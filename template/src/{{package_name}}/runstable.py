"""The runs table: run folders side by side, seeds grouped into mean ± std, curves overlaid.

    python -m <package> runs                                  # runs/ as a Markdown table
    python -m <package> runs runs --group-by-config --plot    # mean ± std (n) per config
    python -m <package> runs --sort best_valid_accuracy --format csv > runs.csv

A run folder is one with a config.toml. The columns are the config fields that differ
between the runs shown (the rest is the same for all), the monitored metric, the best
epoch, epochs, seconds and the status (done, stopped, pruned, unfinished, damaged). A
damaged summary.json is listed as damaged; the other runs are shown as usual.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import task
from .errors import ConfigError, DataError
from .plots import pyplot
from .tracking import flatten

METRIC = f"best_valid_{task.METRIC}"  # the monitored metric's best value, from summary.json
CURVE = f"valid_{task.METRIC}"  # the column of metrics.csv that --plot draws
SAME_FOR_ALL = ("train.run_name", "train.runs_dir", "train.progress")  # never a column
FORMATS = ("md", "csv", "json")
MEANS = ("best_epoch", "epochs", "seconds")  # a group shows their means


@dataclass
class Run:
    """One run folder as the table sees it."""

    path: Path
    config: dict[str, Any]  # flattened: {"optim.lr": 0.001, ...}
    summary: dict[str, Any]
    status: str  # done | stopped | pruned | unfinished | damaged

    @property
    def metric(self) -> float | None:
        value = self.summary.get(METRIC, self.summary.get(f"train_{task.METRIC}"))
        return float(value) if isinstance(value, int | float) else None


@dataclass
class Stat:
    """mean ± std (n) of one column over a group's runs."""

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.std:.2g} ({self.n})"


def find(root: Path) -> list[Path]:
    """The run folders directly under `root` (those with a config.toml), by name."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of runs (train writes them to runs/).")
    return sorted(p for p in root.iterdir() if (p / "config.toml").is_file())


def read(path: Path) -> Run:
    """A run's config, summary and status; damaged files become status `damaged`."""
    path = Path(path)
    try:
        config = flatten(tomllib.loads((path / "config.toml").read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return Run(path, {}, {}, "damaged")
    if not (path / "summary.json").is_file():
        return Run(path, config, {}, "unfinished")  # still training, or stopped by a crash
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        summary = None
    if not isinstance(summary, dict):
        return Run(path, config, {}, "damaged")
    stopped = str(summary.get("stopped", ""))
    status = "pruned" if stopped.startswith("pruned") else "stopped" if stopped else "done"
    return Run(path, config, summary, status)


def differing(runs: Sequence[Run]) -> list[str]:
    """The config fields whose values are not the same in every run (in config order)."""
    keys = list(dict.fromkeys(k for run in runs for k in run.config if k not in SAME_FOR_ALL))
    known = [run for run in runs if run.config]
    return [k for k in keys if len({json.dumps(run.config.get(k)) for run in known}) > 1]


def rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per run: its differing config fields, the metric, epochs, seconds, status."""
    keys = differing(runs)
    return [
        {
            "run": run.path.name,
            **{k: run.config.get(k) for k in keys},
            METRIC: run.metric,
            "best_epoch": run.summary.get("best_epoch"),
            "epochs": run.summary.get("epochs"),
            "seconds": run.summary.get("seconds"),
            "status": run.status,
        }
        for run in runs
    ]


def grouped(runs: Sequence[Run]) -> list[dict[str, Any]]:
    """One row per config (seeds together): the metric as mean ± std (n) over the runs that
    finished (done or stopped; pruned and damaged runs are counted in `status` only)."""
    keys = [k for k in differing(runs) if k != "train.seed"]
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(json.dumps([run.config.get(k) for k in keys]), []).append(run)
    table = []
    for members in groups.values():
        finished = [r for r in members if r.status in ("done", "stopped") and r.metric is not None]
        counts: dict[str, int] = {}
        for r in members:
            counts[r.status] = counts.get(r.status, 0) + 1
        table.append(
            {
                **{k: members[0].config.get(k) for k in keys},
                METRIC: stat([r.metric for r in finished if r.metric is not None]),
                **{c: mean([r.summary.get(c) for r in finished]) for c in MEANS},
                "status": ", ".join(f"{n} {s}" for s, n in counts.items()),
            }
        )
    return table


def mean(values: Sequence[Any]) -> float | None:
    numbers = [v for v in values if isinstance(v, int | float)]
    return statistics.fmean(numbers) if numbers else None


def stat(values: Sequence[float]) -> Stat | None:
    if not values:
        return None
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return Stat(statistics.fmean(values), std, len(values))


def sort(table: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """Rows by `column`: the metric best first, any other column ascending; blanks last."""
    if table and column not in table[0]:
        raise ConfigError(f"--sort {column!r}: the columns are {', '.join(table[0])}.")
    best_first = column == METRIC and task.HIGHER_IS_BETTER

    def key(row: dict[str, Any]) -> tuple[bool, Any]:
        value = row[column]
        value = value.mean if isinstance(value, Stat) else value
        if value is None:
            return (True, 0)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return (False, -value if best_first else value)
        return (False, str(value))

    return sorted(table, key=key)


def render(table: list[dict[str, Any]], fmt: str) -> str:
    """The table as Markdown, CSV or JSON (JSON keeps the numbers: mean, std, n)."""
    if fmt == "json":
        plain = [{k: vars(v) if isinstance(v, Stat) else v for k, v in r.items()} for r in table]
        return json.dumps(plain, indent=2)
    if not table:
        return "(no runs)"
    columns = list(table[0])
    cells = [[_cell(row[c]) for c in columns] for row in table]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([columns, *cells])
        return out.getvalue().rstrip("\n")
    lines = [columns, ["---"] * len(columns), *cells]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def plot(runs: Sequence[Run], path: Path) -> None:
    """Validation curves from each run's metrics.csv, one colour per config; a config with
    several runs (seeds) is drawn as its mean with a band of ± one std."""
    keys = [k for k in differing(runs) if k != "train.seed"]
    groups: dict[str, list[np.ndarray]] = {}
    for run in runs:
        curve = _curve(run.path / "metrics.csv")
        if curve is not None:
            label = ", ".join(f"{k}={run.config.get(k)}" for k in keys) or "all runs"
            groups.setdefault(label, []).append(curve)
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for colour, (label, curves) in enumerate(groups.items()):
        length = min(len(c) for c in curves)  # the epochs every run of the config reached
        stacked = np.stack([c[:length] for c in curves])
        mean, std = stacked.mean(axis=0), stacked.std(axis=0)
        epochs = np.arange(1, length + 1)
        ax.plot(epochs, mean, color=f"C{colour}", label=f"{label} (n={len(curves)})")
        if len(curves) > 1:
            ax.fill_between(epochs, mean - std, mean + std, color=f"C{colour}", alpha=0.2)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_ylabel(CURVE)
    ax.grid(alpha=0.3)
    if groups:
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _curve(path: Path) -> np.ndarray | None:
    try:
        with path.open(encoding="utf-8", newline="") as f:
            table = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    column = CURVE if table and CURVE in table[0] else f"train_{task.METRIC}"
    try:
        return np.array([float(row[column]) for row in table]) if table else None
    except (KeyError, TypeError, ValueError):
        return None


def show(
    runs: Sequence[Run], group: bool, fmt: str, by: str | None = None, picture: Path | None = None
) -> str:
    """The table as text (and the picture, when asked): what `runs` and `sweep` print."""
    table = grouped(runs) if group else rows(runs)
    if by:
        table = sort(table, by)
    if picture is not None:
        plot(runs, picture)
    return render(table, fmt)


def cmd_runs(args: argparse.Namespace) -> int:
    runs = [read(path) for path in find(args.runs_dir)]
    picture = args.runs_dir / "runs.png" if args.plot else None
    print(show(runs, args.group_by_config, args.format, args.sort, picture))
    damaged = [run.path.name for run in runs if run.status == "damaged"]
    if damaged:
        print(f"note: damaged files in {', '.join(damaged)} (listed as damaged).", file=sys.stderr)
    if picture is not None:
        print(f"Wrote {picture}", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="a table of the runs in a folder (default: runs)")
    p.add_argument("runs_dir", nargs="?", type=Path, default=Path("runs"), metavar="RUNS_DIR")
    p.add_argument(
        "--group-by-config", action="store_true", help="one row per config: mean ± std (n)"
    )
    p.add_argument("--sort", metavar="COLUMN", help=f"sort by a column, e.g. {METRIC} (best first)")
    p.add_argument("--format", choices=FORMATS, default="md", help="md (default), csv or json")
    p.add_argument("--plot", action="store_true", help="write RUNS_DIR/runs.png (curves)")
    p.set_defaults(func=cmd_runs)
