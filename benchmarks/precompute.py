"""Pre-computed activations: epoch time of training the last layers on a cache vs without one.

    python benchmarks/precompute.py                               # cnn and resnet_dw
    python benchmarks/precompute.py --baselines cnn --epochs 12 --rounds 5 --threads 2

Each baseline is rendered with `scaffold new DIR --defaults --no-git --data baseline=B`
under a temporary SCAFFOLD_HOME and imported from its src/ folder (no install); every run
is the project's own `train.run` on its default config (digits data, validation split).

1. A base run trains the whole model for `--base-epochs` epochs (the "earlier run").
2. For N = all layers but the last one (the classifier) and N = half of the top-level
   layers, `precompute.layers=N precompute.init_from=<base run>` trains the rest for
   `--epochs` epochs, once with `precompute.cache=memory` (one dry pass, then the head
   alone) and once with `cache=off` (the frozen layers run in every step). The two compute
   the same weights (the generated tests check it), so only the time differs.
Epoch time is the project's per-epoch `seconds` (metrics.csv: the training steps and the
validation pass; with a cache both see activations). The dry pass (train, valid and test
through the frozen layers) is timed on its own. Both sides run in fp32
(`precision.mode=fp32`: bf16 autocast would round the frozen outputs only without a cache)
and without augmentation. `--rounds` repeats each pair back to back, alternating which
goes first. The reported epoch time is the fastest epoch of all those runs (as timeit
takes the minimum of its repeats: on a shared machine a slower epoch was slowed by other
work, not by the code), the speed-up the ratio of the two. Each round's own off/memory
ratio (of its runs' median epochs) and the 1-minute load average before and after are
reported too, to show the noise.
Results go to benchmarks/results/precompute.{json,md}, with the machine, torch version,
date and command.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from _common import import_modules, machine_line, markdown_table, meta, new_project

from scaffold.variants import baseline_facts, baselines

ROOT = Path(__file__).resolve().parents[1]


def render(baseline: str, where: Path) -> dict[str, ModuleType]:
    """Render one project with its default features; import the modules the runs use."""
    package = f"pre_{baseline}"
    folder = new_project(where / package.replace("_", "-"), where / "home", f"baseline={baseline}")
    return import_modules(folder, package, ("train", "config", "data", "precompute", "runs"))


def build(mods: dict[str, ModuleType], runs: Path, *overrides: str) -> Any:
    cfg = mods["config"].build(overrides=["train.progress=false", f"train.runs_dir={runs}"])
    same = ["augment.enabled=false", "precision.mode=fp32"]  # where the project has them
    mods["config"].apply_overrides(cfg, [s for s in same if hasattr(cfg, s.split(".")[0])])
    mods["config"].apply_overrides(cfg, list(overrides))
    return mods["config"].validate(cfg)


def timed_run(mods: dict[str, ModuleType], cfg: Any) -> dict[str, Any]:
    """`train.run(cfg)`: its per-epoch seconds, its dry pass's seconds, its final accuracy."""
    pre = mods["precompute"]
    cached_splits, clock = pre.cached_splits, {"dry": 0.0}

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return cached_splits(*args, **kwargs)
        finally:
            clock["dry"] += time.perf_counter() - start

    pre.cached_splits = timed
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the one line per epoch
            summary = mods["train"].run(cfg)
    finally:
        pre.cached_splits = cached_splits
    metrics = (Path(summary["run_dir"]) / "metrics.csv").read_text().splitlines()
    column = metrics[0].split(",").index("seconds")
    return {
        "epoch_s": [float(line.split(",")[column]) for line in metrics[1:]],
        "dry_s": clock["dry"],
        "valid_accuracy": summary["valid_accuracy"],
        "run_dir": summary["run_dir"],
    }


def measure(baseline: str, args: argparse.Namespace, where: Path) -> dict[str, Any]:
    mods = render(baseline, where)
    runs = where / f"runs-{baseline}"
    base_cfg = build(mods, runs, f"train.epochs={args.base_epochs}", "train.run_name=base")
    base = timed_run(mods, base_cfg)
    splits = mods["data"].load(base_cfg.data)
    model = mods["runs"].make_model(base_cfg, splits)
    layers = {"all but the classifier": len(model) - 1, "half": len(model) // 2}
    out: dict[str, Any] = {"base": base, "layers": len(model), "settings": {}}
    for label, n in layers.items():
        frozen, head = [type(m).__name__ for m in model[:n]], [type(m).__name__ for m in model[n:]]
        runs_of: dict[str, list[dict[str, Any]]] = {"memory": [], "off": []}
        for r in range(args.rounds):
            for where_ in ("memory", "off") if r % 2 == 0 else ("off", "memory"):
                cfg = build(
                    mods, runs, f"train.epochs={args.epochs}", f"train.run_name={where_}-{n}",
                    f"precompute.layers={n}", f"precompute.init_from={base['run_dir']}",
                    f"precompute.cache={where_}",
                )  # fmt: skip
                runs_of[where_].append(timed_run(mods, cfg))
        # the fastest epoch of all runs (as timeit takes the minimum of its repeats: on a
        # shared machine a slower epoch was slowed by other work, not by the code)
        fastest = {w: min(s for r in rs for s in r["epoch_s"]) for w, rs in runs_of.items()}
        # the speed-up of each round's back-to-back pair: both see the same load on the machine
        ratios = [
            statistics.median(off["epoch_s"]) / statistics.median(memory["epoch_s"])
            for off, memory in zip(runs_of["off"], runs_of["memory"], strict=True)
        ]
        dry = min(r["dry_s"] for r in runs_of["memory"])
        out["settings"][label] = {
            "n": n,
            "frozen": frozen,
            "trained": head,
            "epoch_s": fastest,
            "speedup": fastest["off"] / fastest["memory"],
            "speedup_per_round": ratios,
            "dry_pass_s": dry,
            "break_even_epochs": dry / max(fastest["off"] - fastest["memory"], 1e-9),
            "valid_accuracy": {w: [r["valid_accuracy"] for r in rs] for w, rs in runs_of.items()},
            "runs": runs_of,
        }
        print(
            f"{baseline} N={n}: off {fastest['off']:.3f} s/epoch, memory {fastest['memory']:.3f} "
            f"s/epoch, x{fastest['off'] / fastest['memory']:.1f}, dry pass {dry:.3f} s",
            flush=True,
        )
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    header = ["baseline", "frozen layers N", "trained", "epoch s, cache off"]
    header += ["epoch s, cache memory", "speed-up", "per round", "dry pass s"]
    header += ["it pays off after", "valid acc., off", "valid acc., memory"]
    rows = []
    for baseline, res in results.items():
        for label, s in res["settings"].items():
            acc = {w: "/".join(f"{a:.4f}" for a in v) for w, v in s["valid_accuracy"].items()}
            rows.append(
                [baseline, f"{s['n']} of {res['layers']} ({label})", ", ".join(s["trained"]),
                 f"{s['epoch_s']['off']:.3f}", f"{s['epoch_s']['memory']:.3f}",
                 f"x{s['speedup']:.1f}", " ".join(f"x{r:.1f}" for r in s["speedup_per_round"]),
                 f"{s['dry_pass_s']:.3f}", f"{s['break_even_epochs']:.1f} epochs", acc["off"],
                 acc["memory"]]
            )  # fmt: skip
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sequential = [name for name in baselines() if baseline_facts(name)["sequential"]]
    parser.add_argument("--baselines", nargs="+", default=sequential)
    parser.add_argument("--base-epochs", type=int, default=5, help="epochs of the base run")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of each precompute run")
    parser.add_argument("--rounds", type=int, default=4, help="runs of each setting")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        results = {b: measure(b, args, Path(tmp)) for b in args.baselines}
    info = meta(
        torch.get_num_threads(),
        wall_seconds=time.perf_counter() - started,
        load_average_1min=[load_before, os.getloadavg()[0]],  # other work on the machine
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "precompute.json").write_text(
        json.dumps({"meta": info, "results": results}, indent=2)
    )
    base = ", ".join(f"{b} {r['base']['valid_accuracy']:.4f}" for b, r in results.items())
    report = (
        "# Pre-computed activations: training the last layers on a cache vs without (CPU)\n\n"
        + machine_line(info, "threads, torch.set_num_threads")
        + f"- date: {info['date']}\n- command: `python benchmarks/{info['command']}` "
        f"({info['wall_seconds']:.0f} s in all; 1-minute load average "
        f"{info['load_average_1min'][0]:.1f} before, {info['load_average_1min'][1]:.1f} after)\n"
        f"- default config of each baseline (digits data, validation split, batch size 64), "
        f"fp32, no augmentation; a base run of {args.base_epochs} epochs (valid accuracy: "
        f"{base}) gives the frozen layers' weights (`precompute.init_from`)\n"
        f"- each setting: {args.epochs} epochs with `precompute.cache=off` and with "
        f"`cache=memory`, {args.rounds} runs each, alternating which goes first; epoch s = "
        "the fastest per-epoch `seconds` of metrics.csv (training steps and the validation "
        "pass) over all runs of each (as timeit does: slower epochs were slowed by other "
        "work on this shared machine); speed-up = off/memory of those; per round = off/memory "
        "of the median epochs of each round's two runs, back to back (their spread shows the "
        "machine's noise)\n"
        "- dry pass: the one forward pass of train, valid and test through the frozen layers "
        "(`precompute.cached_splits`), paid once per run, before the first epoch (fastest run); "
        "it pays off after dry pass / (off - memory) epochs\n"
        "- valid accuracy: after the last epoch, per run; off and memory train the same "
        "weights, so they agree\n\n" + table(results) + "\n"
    )
    (args.out / "precompute.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
