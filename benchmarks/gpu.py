"""GPU check: the generated loop against a bare PyTorch loop, per baseline and precision.

    python benchmarks/gpu.py                            # on a machine with CUDA
    python benchmarks/gpu.py --batch-size 512 --epochs 20 --rounds 3
    python benchmarks/gpu.py --device cpu --epochs 1 --rounds 1   # the same path on a CPU

Without CUDA (and without --device cpu) it says so and exits 0: nothing is measured.

Each baseline is rendered with `scaffold new --defaults --no-git` (every default feature,
so mixed precision is in) and imported from its src/ folder. For each precision (fp32,
bf16, and fp16 on CUDA) one process alternates, round by round:

- bare: the project's model (`runs.make_model`) and data tensors on the device, Adam,
  channels_last for convolutional models (the project's default), `torch.autocast`
  (a GradScaler for fp16); per epoch a randperm, then the steps and nothing else;
- project: `train.run` with `precision.mode` set, the same epochs and batch size; its
  training pass is the per-epoch `seconds` minus the timed evaluation (as in
  loop_overhead.py, whose timing code this reuses).

Reported: samples/s of both and their ratio (target: the project at >= 0.90 of the bare
loop), plus the maintainers' raw-step numbers on an H200; both in benchmarks/targets.py,
with their source.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from _common import cpu_name, import_modules, markdown_table, new_project
from loop_overhead import project
from targets import GPU_RATIO, H200_RAW

from scaffold.variants import baselines

ROOT = Path(__file__).resolve().parents[1]
TARGET = GPU_RATIO
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def render(baseline: str, where: Path) -> dict[str, ModuleType]:
    package = f"gpu_{baseline}"
    folder = new_project(where / package.replace("_", "-"), where / "home", f"baseline={baseline}")
    return import_modules(folder, package, ("train", "config", "data", "task", "runs"))


def config(mods: dict[str, ModuleType], args: argparse.Namespace, precision: str, runs: Path):
    overrides = [
        f"train.epochs={args.epochs}",
        "train.progress=false",
        f"train.device={args.device}",
        f"train.runs_dir={runs}",
        f"precision.mode={precision}",
    ]
    if args.batch_size:
        overrides.append(f"train.batch_size={args.batch_size}")
    return mods["config"].build(overrides=overrides)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare(mods: dict[str, ModuleType], cfg: Any, precision: str) -> dict[str, float]:
    """A hand-written loop with the project's model, data and loss on the device."""
    device = torch.device(cfg.train.device)
    torch.manual_seed(cfg.train.seed)
    splits = mods["data"].load(cfg.data, final=cfg.train.final)
    x, y = (t.to(device) for t in splits.train)
    model = mods["runs"].make_model(cfg, splits).to(device)
    dtype = DTYPES[precision]
    conv = any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    if conv:  # as the project does (precision.channels_last = true)
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    loss_fn = mods["task"].loss_fn
    n, bs = len(x), cfg.train.batch_size
    model.train()
    sync(device)
    start = time.perf_counter()
    for epoch in range(cfg.train.epochs):
        order = torch.randperm(n, generator=torch.Generator().manual_seed(epoch)).to(device)
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                loss = loss_fn(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
    sync(device)
    seconds = time.perf_counter() - start
    return {"train_s": seconds, "samples": n * cfg.train.epochs}


def measure(baseline: str, args: argparse.Namespace, where: Path) -> dict[str, Any]:
    mods = render(baseline, where)
    precisions = ["fp32", "bf16"] + (["fp16"] if args.device.startswith("cuda") else [])
    out: dict[str, Any] = {}
    for precision in precisions:
        cfg = config(mods, args, precision, where / "runs")
        runners = {
            "bare": functools.partial(bare, mods, cfg, precision),
            "project": functools.partial(project, mods, cfg),
        }
        for run in runners.values():  # warm-up: kernels, autotuning, allocator
            run()
        rounds = []
        for r in range(args.rounds):
            turn = list(runners) if r % 2 == 0 else list(reversed(runners))
            rounds.append({name: runners[name]() for name in turn})
        speed = {
            who: statistics.median(row[who]["samples"] / row[who]["train_s"] for row in rounds)
            for who in runners
        }
        ratios = [
            (row["project"]["samples"] / row["project"]["train_s"])
            / (row["bare"]["samples"] / row["bare"]["train_s"])
            for row in rounds
        ]
        out[precision] = {
            "bare_samples_per_s": speed["bare"],
            "project_samples_per_s": speed["project"],
            "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "rounds": rounds,
        }
        print(
            f"{baseline} {precision}: bare {speed['bare']:.0f}, project {speed['project']:.0f} "
            f"samples/s, ratio {statistics.median(ratios):.3f}",
            flush=True,
        )
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    header = ["baseline", "precision", "bare samples/s", "project samples/s", "ratio (median)"]
    rows = [
        [baseline, precision, f"{m['bare_samples_per_s']:.0f}",
         f"{m['project_samples_per_s']:.0f}", f"{m['ratio_median']:.3f}",
         f"{m['ratio_min']:.3f}..{m['ratio_max']:.3f}",
         "yes" if m["ratio_median"] >= TARGET else "NO",
         f"{H200_RAW[baseline][0 if precision == 'fp32' else 1]:.0f}"]
        for baseline, per in results.items()
        for precision, m in per.items()
    ]  # fmt: skip
    return markdown_table([*header, "min..max", ">= 0.90", "raw H200 (targets.py)"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baselines", nargs="+", default=baselines())
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=0, help="0: each baseline's default")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("No CUDA device here: nothing measured (use --device cpu for a smoke run).")
        return 0
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for baseline in args.baselines:
            results[baseline] = measure(baseline, args, Path(tmp))
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "benchmarks/gpu.py", *sys.argv[1:]]),
        "device": name,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    stem = "gpu" if device.type == "cuda" else "gpu-smoke-cpu"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    report = (
        f"# Generated loop vs bare loop on {meta['device']}\n\n"
        f"- torch {meta['torch']}, Python {meta['python']}, {meta['date']}\n"
        f"- command: `{meta['command']}`\n"
        f"- {args.epochs} epochs per measurement, {args.rounds} alternated rounds after a "
        "warm-up; training pass only (evaluation timed and subtracted)\n\n" + table(results) + "\n"
    )
    (args.out / f"{stem}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
