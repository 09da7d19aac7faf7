"""Mixed precision on this machine: training-step speed per baseline, and what bf16 costs.

    python benchmarks/precision.py                             # all baselines, cnn accuracy
    python benchmarks/precision.py --baselines cnn unet --rounds 7 --seeds 0 1 2
    python benchmarks/precision.py --accuracy                  # speed only
    python benchmarks/precision.py --accuracy cnn lstm unet    # bf16's cost for these too

Each baseline is rendered with `scaffold new DIR --defaults --no-git --data baseline=B`
under a temporary SCAFFOLD_HOME and imported from its src/ folder (no install).

Speed: the project's own model (`runs.make_model`, default config), loss, Adam with the
configured lr and grad_clip, the default batch size and the default data's real shape,
stepped through the project's `precision.Precision` exactly as its loop does (autocast
forward and loss, `backward_step`). Variants: fp32, fp32 + channels_last, bf16, bf16 +
channels_last (the channels_last ones for models with 2-D convolutions only). Every
variant starts from the same initial weights and sees the same batches. After one warm-up
block per variant (not timed: kernel selection, allocator, lazy initialisation), each
round times `--steps` steps of every variant, in an order that rotates each round.
Samples/s are medians over rounds; the ratio to fp32 is taken per round (median, min..max).

Accuracy (`--accuracy`, default cnn): the default config trained for its default epochs in
final mode (train+valid, held-out test split), `--set precision.mode=fp32` against `bf16`,
as a user runs it (`python -m <package> train --final --no-progress ...`), per `--seeds`.

Threads: `--threads` (default 2, the machine's cores) sets torch's threads here and
OMP_NUM_THREADS of the training runs. Where other work shares the cores, use 1: two
OpenMP threads on two busy cores wait for each other, and single steps then took from
10 ms to 2 s (cnn, load average 3), which says nothing about the precision.

Results go to benchmarks/results/precision.{json,md}, with the machine, torch version,
threads, date and command.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from _common import date_and_command, import_modules, markdown_table, meta, new_project

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scaffold.variants import choices  # noqa: E402

# name -> (precision.mode, channels_last); the channels_last ones only for conv models
VARIANTS = {
    "fp32": ("fp32", False),
    "fp32+cl": ("fp32", True),
    "bf16": ("bf16", False),
    "bf16+cl": ("bf16", True),
}


def render(baseline: str, where: Path) -> tuple[Path, str]:
    """`scaffold new` one project; its folder and package name."""
    project = new_project(where / f"prec-{baseline}", where / "home", f"baseline={baseline}")
    package = f"prec_{baseline}"
    if not (project / "src" / package / "precision.py").is_file():
        raise SystemExit(f"{project} has no precision.py: is `precision` a default feature?")
    return project, package


def load(project: Path, package: str) -> dict[str, ModuleType]:
    return import_modules(
        project, package, ("config", "data", "precision", "task", "train", "runs")
    )


def speed(mods: dict[str, ModuleType], steps: int, rounds: int) -> dict[str, Any]:
    """Samples/s of training steps per variant, alternating the variants in rounds."""
    cfg = mods["config"].build()
    torch.manual_seed(0)
    splits = mods["data"].load(cfg.data)
    base = mods["runs"].make_model(cfg, splits)
    conv = mods["precision"].has_conv2d(base)
    names = [n for n in VARIANTS if conv or not VARIANTS[n][1]]
    bs, (x, y) = cfg.train.batch_size, splits.train
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    batches = [(x[order[i : i + bs]], y[order[i : i + bs]]) for i in range(0, len(x) - bs + 1, bs)]
    loss_fn, clip = mods["task"].loss_fn, cfg.train.grad_clip
    runners = {}
    for name in names:
        mode, channels_last = VARIANTS[name]
        settings = mods["config"].PrecisionConfig(mode=mode, channels_last=channels_last)
        amp = mods["precision"].Precision(settings, torch.device("cpu"))
        model = amp.prepare_model(copy.deepcopy(base)).train()
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr)
        runners[name] = (amp, model, optimizer)

    def block(name: str, n: int, start: int) -> float:
        amp, model, optimizer = runners[name]
        began = time.perf_counter()
        for i in range(start, start + n):
            xb, yb = batches[i % len(batches)]
            with amp.autocast():
                loss = loss_fn(model(amp.prepare_input(xb)), yb)
            amp.backward_step(loss, optimizer, model.parameters(), clip)
        return time.perf_counter() - began

    for name in names:  # warm-up, not timed
        block(name, 3, 0)
    rows = []
    for r in range(rounds):
        turn = names[r % len(names) :] + names[: r % len(names)]
        rows.append({name: steps * bs / block(name, steps, r * steps) for name in turn})
    summary = {}
    for name in names:
        ratios = [row[name] / row["fp32"] for row in rows]
        summary[name] = {
            "samples_per_s": statistics.median(row[name] for row in rows),
            "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
        }
    shape = tuple(batches[0][0].shape)
    return {"batch_shape": shape, "steps": steps, "rounds": rows, "summary": summary}


def test_metric(summary: dict[str, Any]) -> tuple[str, float]:
    """The held-out metric of a final-mode summary: accuracy, or PSNR gain over the input."""
    if "test_accuracy" in summary:
        return "test accuracy", summary["test_accuracy"]
    return "test PSNR gain, dB", summary["test_psnr"] - summary["test_noisy_psnr"]


def accuracy(project: Path, package: str, seeds: list[int], threads: int) -> dict[str, list[dict]]:
    """Train the default config in final mode, fp32 and bf16, per seed; test metric, time."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "OMP_NUM_THREADS": str(threads)}
    out: dict[str, list[dict]] = {"fp32": [], "bf16": []}
    for seed in seeds:
        for mode in out:
            name = f"{mode}-seed{seed}"
            command = [sys.executable, "-m", package, "train", "--final", "--no-progress",
                       "--seed", str(seed), "--run-name", name,
                       "--set", f"precision.mode={mode}"]  # fmt: skip
            start = time.perf_counter()
            done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
            summary = json.loads((project / "runs" / name / "summary.json").read_text())
            summary["wall_seconds"] = time.perf_counter() - start
            out[mode].append(summary)
            label, value = test_metric(summary)
            print(
                f"  {package} {mode} seed {seed}: {label} {value:.4f}, "
                f"{summary['wall_seconds']:.1f} s",
                flush=True,
            )
    return out


def speed_table(results: dict[str, dict[str, Any]]) -> str:
    header = ["baseline", "batch shape", "variant", "samples/s", "ratio to fp32 (median)"]
    rows = [
        [baseline, tuple(res["batch_shape"]), name, f"{m['samples_per_s']:.0f}",
         f"{m['ratio_median']:.2f}", f"{m['ratio_min']:.2f}..{m['ratio_max']:.2f}"]
        for baseline, res in results.items()
        for name, m in res["summary"].items()
    ]  # fmt: skip
    return markdown_table([*header, "min..max"], rows)


def accuracy_table(runs: dict[str, dict[str, list[dict]]]) -> str:
    header = ["baseline", "mode (as reported)", "metric", "per seed", "mean", "train s (mean)"]
    rows = []
    for baseline, modes in runs.items():
        for mode, summaries in modes.items():
            values = [test_metric(s)[1] for s in summaries]
            rows.append(
                [baseline, f"{mode} ({summaries[0].get('precision', '?')})",
                 test_metric(summaries[0])[0], ", ".join(f"{v:.4f}" for v in values),
                 f"{statistics.fmean(values):.4f}",
                 f"{statistics.fmean(s['seconds'] for s in summaries):.1f}",
                 f"{statistics.fmean(s['wall_seconds'] for s in summaries):.1f}"]
            )  # fmt: skip
    return markdown_table([*header, "wall s (mean)"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baselines", nargs="+", default=choices("baseline"))
    parser.add_argument("--steps", type=int, default=8, help="timed steps per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads (1 where other work shares the cores)"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument(
        "--accuracy",
        nargs="*",
        default=["cnn"],
        metavar="BASELINE",
        help="baselines to train fp32 vs bf16 (default: cnn; none: speed only)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]  # other work on the machine skews every number
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    runs: dict[str, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for baseline in args.baselines:
            project, package = render(baseline, Path(tmp))
            results[baseline] = speed(load(project, package), args.steps, args.rounds)
            shown = {k: f"{v['ratio_median']:.2f}" for k, v in results[baseline]["summary"].items()}
            print(f"{baseline}: ratio to fp32 {shown}", flush=True)
            if baseline in args.accuracy:
                runs[baseline] = accuracy(project, package, args.seeds, args.threads)
        amp = importlib.import_module(f"{package}.precision")
        auto = amp.resolve("auto", torch.device("cpu"))
    info = meta(
        torch.get_num_threads(),
        amx=amp._amx(),
        auto_resolves_to=amp.NAMES[auto],
        total_seconds=time.perf_counter() - started,
        load_average_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)],
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "precision.json").write_text(
        json.dumps({"meta": info, "speed": results, "accuracy": runs}, indent=2)
    )
    report = (
        "# Mixed precision: training-step speed and accuracy (CPU)\n\n"
        f"- machine: {info['machine']}, AMX {'yes' if info['amx'] else 'no'} "
        f"(`auto` resolves to {info['auto_resolves_to']} here), torch {info['torch']} "
        f"({info['torch_threads']} threads), Python {info['python']}\n"
        + date_and_command(info)
        + f"- load average (1 min) before and after: {info['load_average_1min']} on "
        f"{os.cpu_count()} cores: above the thread count, other work shared the cores\n"
        f"- speed: forward + loss + backward + Adam step of each baseline's default model, "
        f"batch size and data, {args.steps} steps per variant and round, {args.rounds} "
        "rounds in rotating order after an untimed warm-up; cl = channels_last\n\n"
        + speed_table(results)
        + "\n"
    )
    if runs:
        report += (
            "\n- accuracy: the default config and epochs, `train --final --set "
            "precision.mode=M`, held-out test split (PSNR gain: test PSNR minus the noisy "
            "input's)\n\n" + accuracy_table(runs) + "\n"
        )
    report += f"\nTotal benchmark time: {info['total_seconds']:.0f} s.\n"
    (args.out / "precision.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
