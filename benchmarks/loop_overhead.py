"""Loop overhead: the generated `train.run` against a bare PyTorch loop, samples/s.

    python benchmarks/loop_overhead.py                          # cnn and resnet_dw, 5 rounds
    python benchmarks/loop_overhead.py --baselines cnn --epochs 10 --rounds 9 --threads 2
    nox -s bench                                                # with the other benchmarks

Each baseline is rendered twice with `scaffold new --defaults --no-git` (features=[] for
"logging off", features=[tensorboard] for "logging on") and imported from its src/ folder
(no install). One process then alternates, for each round, in a rotating order:

- bare: the project's own model (`runs.make_model`: `build_model` plus the input
  statistics), data tensors (`data.load`), loss (`task.loss_fn`), Adam with the configured
  lr, batch size and seed; per epoch a randperm, then index/forward/loss/zero_grad/
  backward/step and nothing else.
- off / on: the project's `train.run(cfg)` (default config, `--epochs`, progress bar off),
  rendered without / with the tensorboard feature.

What each number includes. Setup (data loading, model building) is outside every timer.
"train pass" is the project's per-epoch `seconds` (metrics.csv, taken before logging and
checkpointing) minus its `evaluate` calls, which a wrapper times: the randperm, the steps
with the NaN guard and the on-device metric sums, and the epoch-end mean. "whole loop" is
wall time from the progress bar's creation to its close (a tqdm subclass records both):
every epoch with its validation pass, metrics.csv, the printed line, TensorBoard events
and checkpoints. The bare loop has only its steps. Samples/s = training samples x epochs
/ seconds; ratios are project/bare per round, reported as median and min..max.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from _common import (
    date_and_command,
    import_modules,
    machine_line,
    markdown_table,
    meta,
    new_project,
)
from targets import LOOP_RATIO

from scaffold.variants import baseline_facts, baselines

ROOT = Path(__file__).resolve().parents[1]
TARGET = LOOP_RATIO  # within 3% of a bare loop, with logging on (benchmarks/targets.py)
MODES = {"off": "[]", "on": "[tensorboard]"}  # logging off / on: the features answer


def render(baseline: str, mode: str, where: Path) -> dict[str, ModuleType]:
    """Render one project, put its src/ on sys.path and import the modules the loop uses."""
    package = f"lo_{baseline}_{mode}"
    project = new_project(
        where / package.replace("_", "-"),
        where / "home",
        f"baseline={baseline}",
        f"features={MODES[mode]}",
    )
    return import_modules(project, package, ("train", "config", "data", "task", "runs"))


def make_config(mods: dict[str, ModuleType], epochs: int, runs: Path) -> Any:
    overrides = [f"train.epochs={epochs}", "train.progress=false", f"train.runs_dir={runs}"]
    return mods["config"].build(overrides=overrides)


def bare(mods: dict[str, ModuleType], cfg: Any) -> dict[str, float]:
    """The hand-written loop on the project's model, data, loss and optimizer settings."""
    torch.manual_seed(cfg.train.seed)
    splits = mods["data"].load(cfg.data, final=cfg.train.final)
    x, y = splits.train
    model = mods["runs"].make_model(cfg, splits)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr)
    loss_fn = mods["task"].loss_fn
    shuffle = torch.Generator().manual_seed(cfg.train.seed)
    n, bs = len(x), cfg.train.batch_size
    model.train()
    start = time.perf_counter()
    for _ in range(cfg.train.epochs):
        order = torch.randperm(n, generator=shuffle)
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            loss = loss_fn(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    return {"train_s": seconds, "loop_s": seconds, "samples": n * cfg.train.epochs}


def project(mods: dict[str, ModuleType], cfg: Any) -> dict[str, float]:
    """`train.run(cfg)`, with its evaluate calls and its whole epoch loop timed."""
    train = mods["train"]
    clock = {"eval": 0.0, "loop_start": 0.0, "loop_end": 0.0}
    evaluate, bar = train.evaluate, train.tqdm

    def timed_evaluate(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return evaluate(*args, **kwargs)
        finally:
            if not clock["loop_end"]:  # only the in-loop calls, not a final test pass
                clock["eval"] += time.perf_counter() - start

    class TimedBar(bar):  # created just before the first epoch, closed just after the last
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            clock["loop_start"] = time.perf_counter()
            super().__init__(*args, **kwargs)

        def close(self) -> None:
            clock["loop_end"] = clock["loop_end"] or time.perf_counter()
            super().close()

    train.evaluate, train.tqdm = timed_evaluate, TimedBar
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the one line per epoch
            summary = train.run(cfg)
    finally:
        train.evaluate, train.tqdm = evaluate, bar
    metrics = (Path(summary["run_dir"]) / "metrics.csv").read_text().splitlines()
    column = metrics[0].split(",").index("seconds")
    epoch_s = sum(float(line.split(",")[column]) for line in metrics[1:])
    n = len(mods["data"].load(cfg.data, final=cfg.train.final).train[0])
    return {
        "train_s": epoch_s - clock["eval"],
        "eval_s": clock["eval"],
        "loop_s": clock["loop_end"] - clock["loop_start"],
        "samples": n * (len(metrics) - 1),
    }


def measure(baseline: str, epochs: int, rounds: int, where: Path) -> dict[str, Any]:
    mods = {mode: render(baseline, mode, where) for mode in MODES}
    cfgs = {mode: make_config(mods[mode], epochs, where / "runs") for mode in MODES}
    runners = {
        "bare": lambda: bare(mods["off"], cfgs["off"]),
        "off": lambda: project(mods["off"], cfgs["off"]),
        "on": lambda: project(mods["on"], cfgs["on"]),
    }
    for run in runners.values():  # warm-up: kernels, allocator, lazy imports (tensorboard)
        run()
    order, rows = list(runners), []
    for r in range(rounds):
        turn = order[r % 3 :] + order[: r % 3]  # rotate who goes first
        row = {name: runners[name]() for name in turn}
        rows.append(row)
        speed = {k: v["samples"] / v["train_s"] for k, v in row.items()}
        print(
            f"{baseline} round {r + 1}: bare {speed['bare']:.0f}, off {speed['off']:.0f}, "
            f"on {speed['on']:.0f} samples/s (train pass)",
            flush=True,
        )
    return {"epochs": epochs, "rounds": rows}


def summarize(rows: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Median samples/s per measurement and median/min/max of the per-round ratios."""

    def speed(row: dict[str, dict[str, float]], who: str, what: str) -> float:
        return row[who]["samples"] / row[who][what]

    out: dict[str, dict[str, float]] = {}
    for who in ("off", "on"):
        for what in ("train_s", "loop_s"):
            ratios = [speed(r, who, what) / speed(r, "bare", "train_s") for r in rows]
            out[f"{who}/{what}"] = {
                "samples_per_s": statistics.median(speed(r, who, what) for r in rows),
                "ratio_median": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
            }
    bare_speeds = [speed(r, "bare", "train_s") for r in rows]
    out["bare"] = {"samples_per_s": statistics.median(bare_speeds)}
    out["eval_share"] = {
        who: statistics.median(r[who]["eval_s"] / r[who]["loop_s"] for r in rows)
        for who in ("off", "on")
    }
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    header = ["baseline", "loop", "logging", "timed", "samples/s", "ratio to bare (median)"]
    rows = []
    for baseline, res in results.items():
        s = res["summary"]
        bare = f"{s['bare']['samples_per_s']:.0f}"
        rows.append([baseline, "bare", "-", "steps only", bare, 1, "-", "-"])
        for who in ("off", "on"):
            for what, label in (("train_s", "train pass"), ("loop_s", "whole loop")):
                m = s[f"{who}/{what}"]
                met = (
                    "n/a" if what == "loop_s" else ("yes" if m["ratio_median"] >= TARGET else "NO")
                )
                rows.append(
                    [baseline, "train.run", who, label, f"{m['samples_per_s']:.0f}",
                     f"{m['ratio_median']:.3f}", f"{m['ratio_min']:.3f}..{m['ratio_max']:.3f}", met]
                )  # fmt: skip
    return markdown_table([*header, "min..max", "target >= 0.97"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sequential = [name for name in baselines() if baseline_facts(name)["sequential"]]
    parser.add_argument("--baselines", nargs="+", default=sequential)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for baseline in args.baselines:
            results[baseline] = measure(baseline, args.epochs, args.rounds, Path(tmp))
            results[baseline]["summary"] = summarize(results[baseline]["rounds"])
    info = meta(torch.get_num_threads())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "loop_overhead.json").write_text(
        json.dumps({"meta": info, "results": results}, indent=2)
    )
    share = ", ".join(f"{b} {r['summary']['eval_share']['off']:.0%}" for b, r in results.items())
    report = (
        "# Loop overhead: generated `train.run` vs a bare PyTorch loop (CPU)\n\n"
        + machine_line(info, "threads, torch.set_num_threads")
        + date_and_command(info)
        + f"- default config of each baseline (digits data, validation split, batch size 64), "
        f"{args.epochs} epochs per measurement, {args.rounds} rounds alternating bare/off/on in "
        "one process after a warm-up round\n"
        "- bare: steps only (randperm, index, forward, loss, zero_grad, backward, step)\n"
        "- train pass: the project's per-epoch `seconds` minus its timed `evaluate` calls "
        "(steps, NaN guard, metric sums, epoch-end mean)\n"
        "- whole loop: all epochs with validation, metrics.csv, printing, TensorBoard "
        f"(on) and checkpoints; evaluation's share of it (off): {share}\n"
        "- logging off: features=[]; on: features=[tensorboard]\n\n" + table(results) + "\n"
    )
    (args.out / "loop_overhead.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
