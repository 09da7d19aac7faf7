"""Sweeps: `--jobs 2` against `--jobs 1`, and a sweep's bookkeeping against the same runs by hand.

    python benchmarks/sweep.py                      # 8 trials x 3 epochs, then x 10; 2 rounds
    python benchmarks/sweep.py --trials 8 --epochs 3 --rounds 3
    nox -s bench                                    # with the other benchmarks

The default cnn project is rendered with `scaffold new DIR --defaults --no-git` under a
temporary SCAFFOLD_HOME and run from its src/ folder (PYTHONPATH, no install). The
workload is `--trials` runs of its default config (digits data) for `--epochs` epochs,
seeds 0..trials-1: a sweep of seeds, so every trial trains in full (grids and seeds are
never pruned) and each arm trains the same runs. Each round runs four arms, every one a
fresh process (or processes) in a fresh runs folder, in an order that rotates per round:

- jobs 1: `python -m PKG sweep --seeds N --set train.epochs=E --jobs 1`: one process,
  every trial in it, one after the other, with all CPU threads.
- jobs 2: the same with `--jobs 2`: two worker processes, each with half the threads.
- by hand, one process: `train.run` of the same N configs in one process, one after the
  other (what the sweep does, without Optuna, its storage and the table at the end).
- by hand, N commands: `python -m PKG train --set train.seed=K ...` once per seed, one
  after the other (what a user types without `sweep`); each pays Python's and torch's
  start-up.

Each `--epochs` value is a workload of its own (3: the issue's, mostly start-up and
bookkeeping; 10: more training per run). Times are wall seconds of the whole command,
start-up included. Beside them, the mean epoch seconds of the runs of jobs 1 (all threads
in one run) and of jobs 2 (the threads divided): when one run already keeps every core
busy, two workers cannot be faster than one. Speed-up = jobs 1 /
jobs 2 of the same round; bookkeeping = jobs 1 / by hand in one process - 1 (Optuna, the
SQLite storage, the claims and heartbeats, the runs table and its plot). The 1-minute load
average before and after each round is reported: on a shared machine other work slows the
two-process arm most. Results go to benchmarks/results/sweep.{json,md}.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import markdown_table, meta, new_project

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "sw_cnn"
ARMS = ("jobs 1", "jobs 2", "by hand, one process", "by hand, N commands")
IN_ONE_PROCESS = """
import sys
from {package} import config, train
for seed in range({trials}):
    sets = [*sys.argv[1:], f"train.seed={{seed}}", f"train.run_name=hand-{{seed:03d}}"]
    train.run(config.validate(config.build(overrides=sets)))
"""


def commands(arm: str, args: argparse.Namespace, runs: Path) -> list[list[str]]:
    """The command line(s) of one arm, run one after the other."""
    sets = [f"train.epochs={args.epoch_count}", f"train.runs_dir={runs}", "train.progress=false"]
    python = [sys.executable, "-m", PACKAGE]
    if arm.startswith("jobs"):
        flags = [arg for s in sets for arg in ("--set", s)]
        return [[*python, "sweep", "--seeds", str(args.trials), *flags, "--jobs", arm[-1]]]
    if arm == "by hand, one process":
        code = IN_ONE_PROCESS.format(package=PACKAGE, trials=args.trials)
        return [[sys.executable, "-c", code, *sets]]
    return [
        [*python, "train", *(a for s in [*sets, f"train.seed={k}"] for a in ("--set", s))]
        for k in range(args.trials)
    ]


def epoch_seconds(runs: Path) -> float:
    """The mean `seconds` of every epoch of the runs in `runs` (from their metrics.csv)."""
    values = [
        float(row["seconds"])
        for table in runs.glob("*/metrics.csv")
        for row in csv.DictReader(table.open(encoding="utf-8"))
    ]
    return statistics.fmean(values)


def run_arm(arm: str, args: argparse.Namespace, project: Path, runs: Path) -> float:
    """Wall seconds of the arm's command(s); a failure ends the benchmark with its output."""
    threads = str(args.threads)  # the sweep divides them among its workers
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "OMP_NUM_THREADS": threads}
    start = time.perf_counter()
    for command in commands(arm, args, runs):
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
            raise SystemExit(f"{arm}: `{' '.join(command[:6])} ...` failed:\n{tail}")
    seconds = time.perf_counter() - start
    finished = len(list(runs.glob("*/metrics.csv")))
    if finished != args.trials:
        raise SystemExit(f"{arm}: {finished} runs finished, not {args.trials}.")
    return seconds


def measure(args: argparse.Namespace, where: Path) -> list[dict[str, Any]]:
    project = new_project(where / PACKAGE.replace("_", "-"), where / "home", "baseline=cnn")
    rounds = []
    for epochs in args.epochs:
        args.epoch_count = epochs  # what commands() passes as train.epochs
        for r in range(args.rounds):
            rounds.append(one_round(args, r, project, where / f"e{args.epoch_count}"))
    return rounds


def one_round(args: argparse.Namespace, r: int, project: Path, where: Path) -> dict[str, Any]:
    order = ARMS[r % len(ARMS) :] + ARMS[: r % len(ARMS)]  # rotate who goes first
    load_before, seconds, epoch = os.getloadavg()[0], {}, {}
    for arm in order:
        runs = where / f"runs-{r}-{ARMS.index(arm)}"
        seconds[arm] = run_arm(arm, args, project, runs)
        epoch[arm] = epoch_seconds(runs)
        print(f"{args.epoch_count} epochs, round {r + 1}, {arm}: {seconds[arm]:.1f} s", flush=True)
    return {
        "epochs": args.epoch_count,
        "order": list(order),
        "seconds": seconds,
        "epoch_seconds": epoch,
        "speedup": seconds["jobs 1"] / seconds["jobs 2"],
        "bookkeeping": seconds["jobs 1"] / seconds["by hand, one process"] - 1,
        "vs_commands": seconds["jobs 1"] / seconds["by hand, N commands"] - 1,
        "load_average_1min": [load_before, os.getloadavg()[0]],
    }


def table(rounds: list[dict[str, Any]]) -> str:
    header = ["epochs", "round", *(f"{arm}, s" for arm in ARMS), "speed-up jobs 2"]
    header += ["bookkeeping (vs one process)", "sweep vs N commands"]
    header += ["epoch s, 1 run / 2 workers", "load avg before/after"]
    rows = []
    for epochs in dict.fromkeys(r["epochs"] for r in rounds):
        mine = [r for r in rounds if r["epochs"] == epochs]
        for i, r in enumerate(mine, 1):
            load = "/".join(f"{v:.1f}" for v in r["load_average_1min"])
            each = r["epoch_seconds"]
            rows.append(
                [epochs, i, *(f"{r['seconds'][arm]:.1f}" for arm in ARMS), f"x{r['speedup']:.2f}",
                 f"{r['bookkeeping']:+.1%}", f"{r['vs_commands']:+.1%}",
                 f"{each['jobs 1']:.2f} / {each['jobs 2']:.2f}", load]
            )  # fmt: skip
        if len(mine) > 1:
            med = {k: statistics.median(r[k] for r in mine) for k in ("speedup", "bookkeeping")}
            secs = {arm: statistics.median(r["seconds"][arm] for r in mine) for arm in ARMS}
            vs = statistics.median(r["vs_commands"] for r in mine)
            rows.append(
                [epochs, "median", *(f"{secs[arm]:.1f}" for arm in ARMS),
                 f"x{med['speedup']:.2f}", f"{med['bookkeeping']:+.1%}", f"{vs:+.1%}", "", ""]
            )  # fmt: skip
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="runs in each arm (seeds)")
    parser.add_argument(
        "--epochs", type=int, nargs="+", default=[3, 10], help="epochs of each run: workloads"
    )
    parser.add_argument("--rounds", type=int, default=2, help="repeats of the four arms")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        rounds = measure(args, Path(tmp))
    import torch

    info = meta(
        None,
        torch=torch.__version__,
        threads=args.threads,
        wall_seconds=time.perf_counter() - started,
        load_average_1min=[load_before, os.getloadavg()[0]],  # other work on the machine
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sweep.json").write_text(json.dumps({"meta": info, "rounds": rounds}, indent=2))
    report = (
        "# Sweeps: two workers against one, and the bookkeeping against runs by hand (CPU)\n\n"
        f"- machine: {info['machine']}, torch {info['torch']} ({args.threads} threads for "
        f"one process, divided among a sweep's workers), Python {info['python']}\n"
        f"- date: {info['date']}\n- command: `python benchmarks/{info['command']}` "
        f"({info['wall_seconds']:.0f} s in all; 1-minute load average "
        f"{info['load_average_1min'][0]:.1f} before, {info['load_average_1min'][1]:.1f} after)\n"
        f"- workload: the default cnn (digits data), {args.trials} runs (seeds 0..{args.trials - 1}"
        f") of {' and of '.join(map(str, args.epochs))} epochs in each arm; wall seconds of the "
        "whole command, start-up included; the arms' order rotates per round\n"
        "- speed-up = jobs 1 / jobs 2 (target x1.6 on 2 idle cores); bookkeeping = jobs 1 / "
        "by hand in one process - 1 (target at most +5%); sweep vs N commands = jobs 1 / the "
        "N `train` commands - 1 (negative: the sweep is faster, it starts Python once); epoch "
        "s = the mean seconds of one epoch in jobs 1's runs (all threads) and in jobs 2's "
        "(threads divided): where they differ by about the number of workers, one run "
        "already keeps every core busy and a second worker has no core to win\n\n"
        + table(rounds)
        + "\n"
    )
    (args.out / "sweep.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
